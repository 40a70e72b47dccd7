/**
 * Streaming: `ark engine` (its own process) streams the model's tokens from the provider's
 * streaming API over A2A message/stream to the query workers of one replica, which store them;
 * a client follows the Query's answer as server-sent events of OpenAI chunks on that replica and
 * on another one (API only, same PostgreSQL), and a client that connects after the Query ended
 * gets every chunk, then the final status. The Query's own status is what it is without streaming.
 * A team's members stream in turn, each piece naming its agent and team (a nested team's members
 * their own), each message ended by upstream's content boundary. A model call retried after part
 * of its answer was streamed does not stream that part twice; a Query the workers retry after its
 * engine died mid-answer ends the broken message before the new attempt's. Anthropic and Bedrock
 * Models stream too (Messages `stream: true`, ConverseStream's event stream), a tool call made in a
 * streamed turn included, in a team too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agent, arkClient, openAiModel, query, v1alpha1 } from "../support/arkClient.ts"
import type { RunningEngine } from "../support/engineProcess.ts"
import { startEngine } from "../support/engineProcess.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ScriptedModel, Wire } from "../support/models.ts"
import { openAiMessages, startScriptedModel } from "../support/models.ts"
import { freePort } from "../support/net.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import type { SseEvent } from "../support/sse.ts"
import { openSse } from "../support/sse.ts"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

const pieces = ["Once ", "upon ", "a ", "time ", "there ", "was ", "a ", "stream."]
const poem = ["Roses ", "are ", "red, ", "streams ", "are ", "blue."]
const retold = ["Long ", "ago, ", "a ", "stream ", "ran."]

let workers: RunningServer
let apiOnly: RunningServer
let engine: RunningEngine
let enginePort: number
let model: ScriptedModel
let client: ReturnType<typeof arkClient>

beforeAll(async () => {
  // Each agent's calls by its prompt: the storyteller's, the poet's, one whose first call breaks
  // off after three pieces and is then answered the same, one whose retry answers otherwise.
  const said = (words: ReadonlyArray<string>, pieceDelayMs: number, cutAfterFrames?: number) =>
    ({ text: words.join(""), pieces: words, pieceDelayMs, usage: { input: 9, output: words.length }, ...(cutAfterFrames !== undefined ? { cutAfterFrames } : {}) })
  const promptOf = (call: Parameters<typeof openAiMessages>[0]) => openAiMessages(call)[0]?.content
  model = await startScriptedModel("openai", (call) => {
    const prompt = promptOf(call)
    const nth = model.calls.filter((c) => promptOf(c) === prompt).length
    if (prompt === "Write a poem.") return said(poem, 60)
    if (prompt === "Falter.") return said(pieces, 60, nth === 1 ? 3 : undefined)
    if (prompt === "Change.") return nth === 1 ? said(pieces, 60, 2) : said(retold, 60)
    if (prompt === "Crash.") return nth === 1 ? said(pieces, 400) : said(retold, 60)
    return said(pieces, 150)
  })
  cleanups.push(() => model.stop())
  const port = enginePort = await freePort()
  workers = await startServer({ insecureHttp: true, modules: "apiserver,query-workers", args: ["--completions-url", `http://127.0.0.1:${port}`] })
  cleanups.push(() => workers.stop())
  apiOnly = await startServer({ insecureHttp: true, databaseUrl: workers.databaseUrl!, modules: "apiserver" })
  cleanups.push(() => apiOnly.stop())
  engine = await startEngine(["--port", String(port), "--kubeconfig", workers.kubeconfig])
  cleanups.push(() => engine.stop())
  client = arkClient((await kubectlBinaries()).kubectl, workers.kubeconfig)
  await client.apply("s1", [
    openAiModel(model.url),
    agent("teller", { prompt: "Tell a story." }),
    agent("poet", { prompt: "Write a poem." }),
    agent("falterer", { prompt: "Falter." }),
    agent("changer", { prompt: "Change." }),
    agent("crasher", { prompt: "Crash." }),
    { apiVersion: v1alpha1, kind: "Team", metadata: { name: "duo" }, spec: { strategy: "sequential", members: [{ name: "teller", type: "agent" }, { name: "poet", type: "agent" }] } },
    { apiVersion: v1alpha1, kind: "Team", metadata: { name: "stage" }, spec: { strategy: "sequential", members: [{ name: "poet", type: "agent" }, { name: "duo", type: "team" }] } }
  ])
})

const streamPath = (name: string, namespace = "s1") => `/apis/ark.mckinsey.com/v1alpha1/namespaces/${namespace}/queries/${name}/stream`

const parsed = (events: ReadonlyArray<SseEvent>) => events.map((e) => e.data === "[DONE]" ? "[DONE]" : JSON.parse(e.data))
const contentOf = (events: ReadonlyArray<SseEvent>) =>
  parsed(events).flatMap((c) => c !== "[DONE]" && c.object === "chat.completion.chunk" && typeof c.choices[0]?.delta?.content === "string" ? [c.choices[0].delta.content as string] : [])

/** Each chunk before the final one: `agent@team: text`, or `end agent@team` for a boundary. */
const shapeOf = (events: ReadonlyArray<SseEvent>) =>
  parsed(events).slice(0, -2).map((c) => {
    const who = `${c.ark.agent}@${c.ark.team ?? ""}`
    return c.choices[0].finish_reason === "stop" ? `end ${who}` : `${who}: ${c.choices[0].delta.content}`
  })

const phase = async (name: string, namespace = "s1") => {
  const r = await fetch(`${workers.url}/apis/ark.mckinsey.com/v1alpha1/namespaces/${namespace}/queries/${name}`)
  return ((await r.json()) as { status?: { phase?: string } }).status?.phase
}

describe("streaming a Query's answer", () => {
  it("chunks arrive in order before the Query is done, on this replica and another, ending with the final status; a late client gets them all", async () => {
    await client.apply("s1", [query("story", { input: "A story, please.", target: { type: "agent", name: "teller" } })])
    const here = await openSse(workers.url, streamPath("story"))
    const there = await openSse(apiOnly.url, streamPath("story"))
    expect([here.status, there.status]).toEqual([200, 200])
    expect(here.contentType).toBe("text/event-stream")
    cleanups.push(async () => {
      here.close()
      there.close()
    })

    // The first piece is there while the model is still writing: the Query has not ended yet.
    await there.waitFor((events) => contentOf(events).length > 0)
    expect(await phase("story")).toBe("running")

    await Promise.all([here.ended, there.ended])
    for (const followed of [here, there]) {
      expect(contentOf(followed.events)).toEqual(pieces)
      const chunks = parsed(followed.events)
      expect(chunks.at(-1)).toBe("[DONE]")
      const final = chunks.at(-2)
      expect(final.choices[0].finish_reason).toBe("stop")
      expect(final.ark.completedQuery.status.phase).toBe("done")
      expect(final.ark.completedQuery.status.response.content).toBe(pieces.join(""))
      expect(chunks[0].choices[0].delta.role).toBe("assistant")
      expect(new Set(chunks.slice(0, -1).map((c: { id: string }) => c.id)).size).toBe(1)
    }

    // Non-streaming clients see the Query as always.
    const q = await client.finished("s1", "story")
    expect(q.status.response.content).toBe(pieces.join(""))
    expect(q.status.tokenUsage).toEqual({ promptTokens: 9, completionTokens: 8, totalTokens: 17 })

    const late = await openSse(apiOnly.url, streamPath("story"))
    await late.ended
    expect(contentOf(late.events)).toEqual(pieces)
    expect(parsed(late.events).at(-2).ark.completedQuery.status.phase).toBe("done")
  })

  it("a team's members stream in turn: each piece names its agent and the team, each member's message ends with a boundary", async () => {
    const before = model.calls.length
    await client.apply("s1", [query("duet", { input: "Perform.", target: { type: "team", name: "duo" } })])
    const followed = await openSse(apiOnly.url, streamPath("duet"))
    cleanups.push(async () => followed.close())
    await followed.waitFor((events) => contentOf(events).length > 0)
    expect(await phase("duet")).toBe("running")
    await followed.ended

    expect(shapeOf(followed.events)).toEqual([
      ...pieces.map((p) => `teller@duo: ${p}`),
      "end teller@duo",
      ...poem.map((p) => `poet@duo: ${p}`),
      "end poet@duo"
    ])
    // Each message's first chunk carries the role, as a new message's does.
    const chunks = parsed(followed.events)
    expect([chunks[0].choices[0].delta.role, chunks[pieces.length + 1].choices[0].delta.role]).toEqual(["assistant", "assistant"])
    expect(chunks[1].choices[0].delta.role).toBeUndefined()
    expect(chunks.at(-2).ark.completedQuery.status.phase).toBe("done")
    expect(model.calls.slice(before).map((c) => c.streams)).toEqual([true, true])

    const q = await client.finished("s1", "duet")
    expect(q.status.response.content).toBe(poem.join(""))
    expect(q.status.tokenUsage).toEqual({ promptTokens: 18, completionTokens: pieces.length + poem.length, totalTokens: 18 + pieces.length + poem.length })
  })

  it("a nested team's members stream named with their own team, between the outer team's members", async () => {
    await client.apply("s1", [query("show", { input: "Perform.", target: { type: "team", name: "stage" } })])
    const followed = await openSse(apiOnly.url, streamPath("show"))
    cleanups.push(async () => followed.close())
    await followed.ended
    expect(shapeOf(followed.events)).toEqual([
      ...poem.map((p) => `poet@stage: ${p}`),
      "end poet@stage",
      ...pieces.map((p) => `teller@duo: ${p}`),
      "end teller@duo",
      ...poem.map((p) => `poet@duo: ${p}`),
      "end poet@duo"
    ])
    expect((await client.finished("s1", "show")).status.phase).toBe("done")
  })

  it("a model call retried after part of its answer streamed: a retry that repeats it streams only what is new, one that says otherwise ends the broken message first", async () => {
    await client.apply("s1", [
      query("faltered", { input: "Go.", target: { type: "agent", name: "falterer" } }),
      query("changed", { input: "Go.", target: { type: "agent", name: "changer" } })
    ])
    const faltered = await openSse(apiOnly.url, streamPath("faltered"))
    const changed = await openSse(apiOnly.url, streamPath("changed"))
    cleanups.push(async () => {
      faltered.close()
      changed.close()
    })
    await Promise.all([faltered.ended, changed.ended])

    // The first call broke off after three pieces; the retry said the same and went on.
    expect(shapeOf(faltered.events)).toEqual(pieces.map((p) => `falterer@: ${p}`))
    expect((await client.finished("s1", "faltered")).status.response.content).toBe(pieces.join(""))
    // The first call broke off after two; the retry's answer is another, streamed as the next message.
    expect(shapeOf(changed.events)).toEqual([`changer@: ${pieces[0]}`, `changer@: ${pieces[1]}`, "end changer@", ...retold.map((p) => `changer@: ${p}`)])
    expect(parsed(changed.events)[3].choices[0].delta.role).toBe("assistant")
    expect((await client.finished("s1", "changed")).status.response.content).toBe(retold.join(""))
    expect(model.calls.filter((c) => ["Falter.", "Change."].includes(String(openAiMessages(c)[0]?.content))).length).toBe(4)
  })

  it("a Query retried by the workers after its engine died mid-answer: the broken message ends where the next attempt's begins", async () => {
    await client.apply("s1", [query("crashed", { input: "Go.", target: { type: "agent", name: "crasher" } })])
    const followed = await openSse(apiOnly.url, streamPath("crashed"))
    cleanups.push(async () => followed.close())
    // Part of the first answer is out; then the engine dies and another one takes its port.
    await followed.waitFor((events) => contentOf(events).length >= 2)
    await engine.kill()
    engine = await startEngine(["--port", String(enginePort), "--kubeconfig", workers.kubeconfig])
    await followed.ended

    const shape = shapeOf(followed.events)
    const boundary = shape.indexOf("end crasher@")
    expect(boundary).toBeGreaterThanOrEqual(2)
    // What the first attempt streamed (a start of its answer), its end, then the whole new answer, once.
    expect(shape.slice(0, boundary)).toEqual(pieces.slice(0, boundary).map((p) => `crasher@: ${p}`))
    expect(shape.slice(boundary + 1)).toEqual(retold.map((p) => `crasher@: ${p}`))
    expect(parsed(followed.events)[boundary + 1].choices[0].delta.role).toBe("assistant")
    const done = await client.finished("s1", "crashed")
    expect(done.status.phase).toBe("done")
    expect(done.status.response.content).toBe(retold.join(""))
    // A client that comes after the end reads the same.
    const late = await openSse(apiOnly.url, streamPath("crashed"))
    await late.ended
    expect(shapeOf(late.events)).toEqual(shape)
  })

  it("answers a Query that does not exist with a 404 Status, and a write to the stream with 405", async () => {
    const missing = await fetch(`${apiOnly.url}${streamPath("nope")}`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { kind: string; reason: string })).toMatchObject({ kind: "Status", reason: "NotFound" })
    const post = await fetch(`${apiOnly.url}${streamPath("story")}`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })
    expect(post.status).toBe(405)
  })
})

/** A Model of `wire` at the scripted model `m`, as upstream's CRD declares it. */
const wireModel = (wire: Exclude<Wire, "openai">, m: ScriptedModel) => ({
  apiVersion: v1alpha1,
  kind: "Model",
  metadata: { name: "default" },
  spec: {
    provider: wire,
    model: { value: `${wire}-model` },
    config: wire === "anthropic"
      ? { anthropic: { baseUrl: { value: m.url }, apiKey: { value: "anthropic-test-key" }, version: { value: "2023-06-01" } } }
      : { bedrock: { baseUrl: { value: m.url }, region: { value: "eu-west-1" }, accessKeyId: { value: "AKIDTEST" }, secretAccessKey: { value: "bedrock-secret-key" } } }
  }
})

describe.each(["anthropic", "bedrock"] as const)("streaming a Query's answer from %s", (wire) => {
  const namespace = `s2-${wire}`
  const answer = ["The ", "noop ", "tool ", "said ", `${wire}.`]
  let m: ScriptedModel

  beforeAll(async () => {
    // A conversation's first turn says a word and calls the tool (its input in JSON pieces); the
    // second answers with the tool's result, a piece at a time.
    m = await startScriptedModel(wire, (call) => {
      const messages = call.body["messages"] as ReadonlyArray<unknown>
      return messages.length === 1
        ? { text: "Checking. ", toolCalls: [{ id: `tu-${wire}`, name: "noop", arguments: { message: wire, detail: { pieces: 3 } } }], usage: { input: 11, output: 2 } }
        : { text: answer.join(""), pieces: answer, pieceDelayMs: 150, usage: { input: 13, output: 4 } }
    })
    cleanups.push(() => m.stop())
    await client.apply(namespace, [
      wireModel(wire, m),
      agent("helper", { prompt: "Be helpful.", tools: [{ type: "builtin", name: "noop" }] }),
      { apiVersion: v1alpha1, kind: "Team", metadata: { name: "desk" }, spec: { strategy: "sequential", members: [{ name: "helper", type: "agent" }] } }
    ])
  })

  it("chunks of both turns arrive in order while the model writes, a tool call streamed in the first runs, and the Query ends with the answer and both turns' usage", async () => {
    await client.apply(namespace, [query("ask", { input: "What does the tool say?", target: { type: "agent", name: "helper" } })])
    const followed = await openSse(apiOnly.url, streamPath("ask", namespace))
    expect(followed.status).toBe(200)
    cleanups.push(async () => followed.close())

    // The answer's first piece is there while the model is still writing the rest.
    const startsAnswer = (e: SseEvent) => contentOf([e]).some((c) => c.startsWith(answer[0]!))
    await followed.waitFor((events) => events.some(startsAnswer))
    const firstPiece = followed.events.find(startsAnswer)!
    expect(await phase("ask", namespace)).toBe("running")

    await followed.ended
    expect(contentOf(followed.events)).toEqual(["Checking. ", ...answer])
    const chunks = parsed(followed.events)
    expect(chunks.at(-1)).toBe("[DONE]")
    expect(chunks.at(-2).ark.completedQuery.status.phase).toBe("done")
    expect(chunks.at(-2).ark.completedQuery.status.response.content).toBe(answer.join(""))

    // Both turns were streaming requests; the second was still being written when its first piece arrived.
    expect(m.calls.map((c) => c.streams)).toEqual([true, true])
    expect(m.calls.map((c) => c.path)).toEqual(wire === "anthropic" ? ["/v1/messages", "/v1/messages"] : ["/model/bedrock-model/converse-stream", "/model/bedrock-model/converse-stream"])
    expect(firstPiece.at).toBeLessThan(m.calls[1]!.ended!)

    // The tool call assembled from the streamed pieces ran, and its result went back to the model.
    const second = m.calls[1]!.body["messages"]
    const args = { message: wire, detail: { pieces: 3 } }
    expect(second).toEqual(wire === "anthropic"
      ? [
        { role: "user", content: "What does the tool say?" },
        { role: "assistant", content: [{ type: "text", text: "Checking. " }, { type: "tool_use", id: "tu-anthropic", name: "noop", input: args }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "tu-anthropic", content: JSON.stringify(args) }] }
      ]
      : [
        { role: "user", content: [{ text: "What does the tool say?" }] },
        { role: "assistant", content: [{ text: "Checking. " }, { toolUse: { toolUseId: "tu-bedrock", name: "noop", input: args } }] },
        { role: "user", content: [{ toolResult: { toolUseId: "tu-bedrock", content: [{ text: JSON.stringify(args) }] } }] }
      ])

    const q = await client.finished(namespace, "ask")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe(answer.join(""))
    expect(q.status.tokenUsage).toEqual({ promptTokens: 24, completionTokens: 6, totalTokens: 30 })
  })

  it("a team member streams both turns, named with its team, its message ended by a boundary, with the same tool call, answer and usage", async () => {
    const before = m.calls.length
    await client.apply(namespace, [query("team", { input: "What does the tool say?", target: { type: "team", name: "desk" } })])
    const followed = await openSse(apiOnly.url, streamPath("team", namespace))
    cleanups.push(async () => followed.close())
    await followed.ended
    expect(shapeOf(followed.events)).toEqual([...["Checking. ", ...answer].map((p) => `helper@desk: ${p}`), "end helper@desk"])
    const q = await client.finished(namespace, "team")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe(answer.join(""))
    expect(q.status.tokenUsage).toEqual({ promptTokens: 24, completionTokens: 6, totalTokens: 30 })
    const calls = m.calls.slice(before)
    expect(calls.map((c) => c.streams)).toEqual([true, true])
    expect(JSON.stringify(calls[1]!.body["messages"])).toContain(JSON.stringify(JSON.stringify({ message: wire, detail: { pieces: 3 } })))
  })
})
