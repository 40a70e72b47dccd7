/**
 * Streaming: `ark engine` (its own process) streams the model's tokens from the provider's
 * streaming API over A2A message/stream to the query workers of one replica, which store them;
 * a client follows the Query's answer as server-sent events of OpenAI chunks on that replica and
 * on another one (API only, same PostgreSQL), and a client that connects after the Query ended
 * gets every chunk, then the final status. The Query's own status is what it is without streaming.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agent, arkClient, openAiModel, query } from "../support/arkClient.ts"
import type { RunningEngine } from "../support/engineProcess.ts"
import { startEngine } from "../support/engineProcess.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ScriptedModel } from "../support/models.ts"
import { startScriptedModel } from "../support/models.ts"
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

let workers: RunningServer
let apiOnly: RunningServer
let engine: RunningEngine
let model: ScriptedModel
let client: ReturnType<typeof arkClient>

beforeAll(async () => {
  model = await startScriptedModel("openai", () => ({ text: pieces.join(""), pieces, pieceDelayMs: 150, usage: { input: 9, output: 8 } }))
  cleanups.push(() => model.stop())
  const port = await freePort()
  workers = await startServer({ insecureHttp: true, modules: "apiserver,query-workers", args: ["--completions-url", `http://127.0.0.1:${port}`] })
  cleanups.push(() => workers.stop())
  apiOnly = await startServer({ insecureHttp: true, databaseUrl: workers.databaseUrl!, modules: "apiserver" })
  cleanups.push(() => apiOnly.stop())
  engine = await startEngine(["--port", String(port), "--kubeconfig", workers.kubeconfig])
  cleanups.push(() => engine.stop())
  client = arkClient((await kubectlBinaries()).kubectl, workers.kubeconfig)
  await client.apply("s1", [openAiModel(model.url), agent("teller", { prompt: "Tell a story." })])
})

const streamPath = (name: string) => `/apis/ark.mckinsey.com/v1alpha1/namespaces/s1/queries/${name}/stream`

const parsed = (events: ReadonlyArray<SseEvent>) => events.map((e) => e.data === "[DONE]" ? "[DONE]" : JSON.parse(e.data))
const contentOf = (events: ReadonlyArray<SseEvent>) =>
  parsed(events).flatMap((c) => c !== "[DONE]" && c.object === "chat.completion.chunk" && typeof c.choices[0]?.delta?.content === "string" ? [c.choices[0].delta.content as string] : [])

const phase = async (name: string) => {
  const r = await fetch(`${workers.url}/apis/ark.mckinsey.com/v1alpha1/namespaces/s1/queries/${name}`)
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

  it("answers a Query that does not exist with a 404 Status, and a write to the stream with 405", async () => {
    const missing = await fetch(`${apiOnly.url}${streamPath("nope")}`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { kind: string; reason: string })).toMatchObject({ kind: "Status", reason: "NotFound" })
    const post = await fetch(`${apiOnly.url}${streamPath("story")}`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })
    expect(post.status).toBe(405)
  })
})
