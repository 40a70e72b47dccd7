/**
 * Teams on the completions engine embedded in ark serve, end to end: every strategy (sequential,
 * looping, selector, selector within graph edges), nested teams, a team as a tool, and our team
 * manifests in the shape of upstream's samples. The one double is the model: a scripted
 * OpenAI-compatible server whose replies are computed from the transcript the engine sent, so
 * each test checks what each member saw.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agent, arkClient, openAiModel, query, tool, v1alpha1 } from "../support/arkClient.ts"
import { startEngine } from "../support/engineProcess.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ModelCall, ModelReply } from "../support/models.ts"
import { openAiMessages, startScriptedModel } from "../support/models.ts"
import { freePort } from "../support/net.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

let server: RunningServer
let client: ReturnType<typeof arkClient>

beforeAll(async () => {
  server = await startServer({ modules: "apiserver,query-workers", env: { ARK_ENGINE_MAX_TURNS: "4", ARK_ENGINE_MODEL_RETRIES: "0" } })
  cleanups.push(() => server.stop())
  client = arkClient((await kubectlBinaries()).kubectl, server.kubeconfig)
})

type Message = ReturnType<typeof openAiMessages>[number] & { name?: string }

/** Agents here are prompted "You are <name>."; the script answers as the agent a call is for. */
const speakerOf = (call: ModelCall) => /^You are ([a-z-]+)\./.exec(String(openAiMessages(call)[0]?.content))?.[1] ?? "?"

/** A scripted model answering per agent; every call is kept with the agent it was for. */
const teamModel = async (answer: (speaker: string, messages: ReadonlyArray<Message>, call: ModelCall) => ModelReply) => {
  const m = await startScriptedModel("openai", (call) => answer(speakerOf(call), openAiMessages(call) as ReadonlyArray<Message>, call))
  cleanups.push(() => m.stop())
  return { ...m, by: (speaker: string) => m.calls.filter((c) => speakerOf(c) === speaker) }
}

const member = (name: string, extra: Record<string, unknown> = {}) => agent(name, { prompt: `You are ${name}.`, ...extra })
const team = (name: string, spec: Record<string, unknown>) => ({ apiVersion: v1alpha1, kind: "Team", metadata: { name }, spec })
const agents = (...names: ReadonlyArray<string>) => names.map((name) => ({ name, type: "agent" }))
const ask = (name: string, team: string, input = "Plan a trip to Oslo") => query(name, { input, target: { type: "team", name: team } })

/** The transcript as [role, name, content] rows. */
const rows = (messages: ReadonlyArray<Message>) => messages.map((m) => [m.role, m.name ?? "", m.content ?? null])
const raw = (q: { status: { response: { raw: string } } }) => JSON.parse(q.status.response.raw) as ReadonlyArray<Message>

const done = async (namespace: string, name: string) => {
  const q = await client.finished(namespace, name)
  expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
  return q
}

describe("teams on the completions engine", () => {
  it("sequential: each member once in order, each seeing the earlier members' messages under their names before the user's input", async () => {
    const m = await teamModel((speaker, messages) => {
      const before = messages.filter((x) => x.role === "assistant").map((x) => `${x.name}=${String(x.content)}`)
      return { text: `${speaker} after [${before.join("; ")}]`, usage: { input: 7, output: 3 } }
    })
    await client.apply("t1", [
      openAiModel(m.url),
      member("researcher"),
      member("writer"),
      team("desk", { strategy: "sequential", members: agents("researcher", "writer") }),
      ask("trip", "desk")
    ])
    const q = await done("t1", "trip")
    expect(rows(openAiMessages(m.by("writer")[0]!) as ReadonlyArray<Message>)).toEqual([
      ["system", "", "You are writer."],
      ["assistant", "researcher", "researcher after []"],
      ["user", "", "Plan a trip to Oslo"]
    ])
    expect(q.status.response.content).toBe("writer after [researcher=researcher after []]")
    expect(rows(raw(q))).toEqual([
      ["assistant", "researcher", "researcher after []"],
      ["assistant", "writer", "writer after [researcher=researcher after []]"]
    ])
    expect(q.status.tokenUsage).toEqual({ promptTokens: 14, completionTokens: 6, totalTokens: 20 })
  })

  it("sequential with loops: members take turns until maxTurns, which a system message notes; a member calling terminate ends it sooner", async () => {
    const m = await teamModel((speaker, messages) => {
      const turns = messages.filter((x) => x.role === "assistant").length
      // The closer ends the conversation on its second turn (the fourth of the team).
      if (speaker === "closer" && turns >= 3 && !messages.some((x) => x.role === "tool")) {
        return { toolCalls: [{ name: "terminate", arguments: { response: "That is all." } }] }
      }
      return { text: `${speaker} turn ${turns + 1}` }
    })
    await client.apply("t2", [
      openAiModel(m.url),
      member("talker"),
      member("closer", { tools: [{ type: "built-in", name: "terminate" }] }),
      team("bounded", { strategy: "sequential", loops: true, maxTurns: 3, members: agents("talker", "talker") }),
      team("closing", { strategy: "sequential", loops: true, maxTurns: 10, members: agents("talker", "closer") }),
      ask("bounded", "bounded"),
      ask("closing", "closing")
    ])
    const bounded = await done("t2", "bounded")
    expect(rows(raw(bounded))).toEqual([
      ["assistant", "talker", "talker turn 1"],
      ["assistant", "talker", "talker turn 2"],
      ["assistant", "talker", "talker turn 3"],
      ["system", "", "Team conversation reached maximum turns limit (3)"]
    ])
    expect(bounded.status.response.content).toBe("talker turn 3")
    const closing = await done("t2", "closing")
    expect(closing.status.response.content).toBe("That is all.")
    expect(raw(closing).map((x) => [x.role, x.name ?? ""])).toEqual([
      ["assistant", "talker"], ["assistant", "closer"], ["assistant", "talker"], ["assistant", "closer"], ["tool", ""]
    ])
    expect(m.by("closer")).toHaveLength(2)
  })

  it("selector: the selector agent picks a named member with select-next-speaker from upstream's prompt, then terminates with a closing response", async () => {
    const m = await teamModel((speaker, messages) => {
      if (speaker !== "chair") return { text: `${speaker}: the answer is 42` }
      const spoken = messages.some((x) => String(x.content).includes("# analyst:\nanalyst: the answer is 42"))
      return spoken
        ? { toolCalls: [{ name: "terminate", arguments: { response: "The team concludes: 42." } }], usage: { input: 20, output: 2 } }
        : { toolCalls: [{ name: "select-next-speaker", arguments: { name: "analyst" } }], usage: { input: 20, output: 2 } }
    })
    await client.apply("t3", [
      openAiModel(m.url),
      member("analyst", { description: "Numbers and data" }),
      member("critic", { description: "Finds flaws" }),
      // The chair's own tools are not the selector's: only the selection tools are given.
      member("chair", { tools: [{ type: "built-in", name: "noop" }] }),
      team("panel", { strategy: "selector", maxTurns: 5, selector: { agent: "chair", enableTerminateTool: true }, members: agents("analyst", "critic") }),
      ask("question", "panel", "What is six times seven?")
    ])
    const q = await done("t3", "question")
    const [first, second] = m.by("chair")
    expect(m.by("chair")).toHaveLength(2)
    const tools = first!.body["tools"] as ReadonlyArray<{ function: { name: string; parameters: { properties: { name?: { enum: unknown } } } } }>
    expect(tools.map((t) => t.function.name)).toEqual(["select-next-speaker", "terminate"])
    expect(tools[0]!.function.parameters.properties.name!.enum).toEqual(["analyst", "critic"])
    expect(first!.body["tool_choice"]).toBe("required")
    const told = openAiMessages(first!)
    expect(told.map((x) => x.role)).toEqual(["system", "system", "user"])
    expect(String(told[1]!.content)).toContain("The following roles are available:\nanalyst: Numbers and data, critic: Finds flaws.")
    expect(String(told[1]!.content)).toContain("select the next role from analyst, critic to play.\n\n# user:\nWhat is six times seven?\n")
    expect(String(told[1]!.content)).toContain("Instead call the terminate tool.")
    expect(told[2]!.content).toBe("Select the next speaker to respond using the select-next-speaker tool, or use the terminate tool if you think the user's original question has been answered.")
    expect(String(openAiMessages(second!)[1]!.content)).toContain("# analyst:\nanalyst: the answer is 42\n")
    // The analyst saw the user's question; the critic never spoke.
    expect(rows(openAiMessages(m.by("analyst")[0]!) as ReadonlyArray<Message>).at(-1)).toEqual(["user", "", "What is six times seven?"])
    expect(m.by("critic")).toHaveLength(0)
    // The selector's closing response is the answer.
    expect(q.status.response.content).toBe("The team concludes: 42.")
    const said = raw(q)
    expect(said[0]).toMatchObject({ role: "assistant", name: "analyst", content: "analyst: the answer is 42" })
    expect(said.at(-1)).toMatchObject({ role: "tool", content: "The team concludes: 42." })
    // Selector calls count: 2 x (20 + 2), one member call of 10 + 5.
    expect(q.status.tokenUsage).toEqual({ promptTokens: 50, completionTokens: 9, totalTokens: 59 })
  })

  it("selector: a pick that names no member ends the team with upstream's warning; maxTurns bounds the turns", async () => {
    for (const [namespace, pick, maxTurns] of [["t4a", "nobody", 3], ["t4b", "solo", 2]] as const) {
      const m = await teamModel((speaker) => speaker === "picker" ? { toolCalls: [{ name: "select-next-speaker", arguments: { name: pick } }] } : { text: `${speaker} spoke` })
      await client.apply(namespace, [
        openAiModel(m.url),
        member("picker"),
        member("solo"),
        team("panel", { strategy: "selector", maxTurns, selector: { agent: "picker" }, members: agents("solo") }),
        ask("ask", "panel")
      ])
    }
    const lost = await done("t4a", "ask")
    expect(rows(raw(lost))).toEqual([["system", "", "Selector returned invalid agent name: nobody"]])
    const bounded = await done("t4b", "ask")
    expect(rows(raw(bounded))).toEqual([
      ["assistant", "solo", "solo spoke"],
      ["assistant", "solo", "solo spoke"],
      ["system", "", "Team conversation reached maximum turns limit (2)"]
    ])
  })

  it("selector within graph edges: one successor is taken without asking, several are offered to the selector, none ends the team", async () => {
    const m = await teamModel((speaker, _messages, call) => {
      if (speaker !== "router") return { text: `${speaker} done` }
      const offered = (call.body["tools"] as ReadonlyArray<{ function: { parameters: { properties: { name: { enum: ReadonlyArray<string> } } } } }>)[0]!
        .function.parameters.properties.name.enum
      // First pick: the planner; later, among the successors offered, the last one.
      return { toolCalls: [{ name: "select-next-speaker", arguments: { name: offered.length === 3 ? "planner" : offered.at(-1)! } }] }
    })
    await client.apply("t5", [
      openAiModel(m.url),
      ...["planner", "booker", "checker", "router"].map((n) => member(n)),
      team("flow", {
        strategy: "selector",
        maxTurns: 10,
        selector: { agent: "router" },
        members: agents("planner", "booker", "checker"),
        graph: { edges: [{ from: "planner", to: "booker" }, { from: "booker", to: "planner" }, { from: "booker", to: "checker" }] }
      }),
      ask("flow", "flow")
    ])
    const q = await done("t5", "flow")
    expect(raw(q).map((x) => x.name)).toEqual(["planner", "booker", "checker"])
    const offers = m.by("router").map((c) =>
      (c.body["tools"] as ReadonlyArray<{ function: { parameters: { properties: { name: { enum: ReadonlyArray<string> } } } } }>)[0]!.function.parameters.properties.name.enum
    )
    // planner -> booker had one edge: the router was asked twice only.
    expect(offers).toEqual([["planner", "booker", "checker"], ["planner", "checker"]])
  })

  it("graph (deprecated, migrated by admission): a Team stored with the strategy runs from the first member along the edges, bounded by maxTurns", async () => {
    const m = await teamModel((speaker, messages) => ({ text: `${speaker} after ${messages.filter((x) => x.role === "assistant").map((x) => x.name).join(",") || "none"}` }))
    const graphOf = (maxTurns?: number) => ({
      strategy: "graph",
      ...(maxTurns !== undefined ? { maxTurns } : {}),
      members: agents("first", "last", "middle"),
      graph: { edges: [{ from: "first", to: "middle" }, { from: "middle", to: "last" }] }
    })
    await client.apply("t9", [openAiModel(m.url), ...["first", "middle", "last"].map((n) => member(n)), team("walk", graphOf()), team("short", graphOf(2))])
    // As a Team written before admission migrated the strategy: its stored spec is set back to graph.
    const db = new pg.Client({ connectionString: server.databaseUrl })
    await db.connect()
    try {
      for (const [name, maxTurns] of [["walk", undefined], ["short", 2]] as const) {
        const row = await db.query<{ rv: string; data: string }>(
          "SELECT rv, data FROM ark_objects WHERE namespace = 't9' AND name = $1 AND superseded_rv IS NULL AND data LIKE '%\"kind\":\"Team\"%'",
          [name]
        )
        const stored = JSON.parse(row.rows[0]!.data) as { spec: Record<string, unknown> }
        expect(stored.spec["strategy"]).toBe("sequential")
        await db.query("UPDATE ark_objects SET data = $1 WHERE rv = $2", [JSON.stringify({ ...stored, spec: graphOf(maxTurns) }), row.rows[0]!.rv])
      }
    } finally {
      await db.end()
    }
    await client.apply("t9", [ask("walk", "walk"), ask("short", "short")])
    const walk = await done("t9", "walk")
    expect(rows(raw(walk))).toEqual([
      ["assistant", "first", "first after none"],
      ["assistant", "middle", "middle after first"],
      ["assistant", "last", "last after first,middle"]
    ])
    const short = await done("t9", "short")
    expect(rows(raw(short))).toEqual([
      ["assistant", "first", "first after none"],
      ["assistant", "middle", "middle after first"],
      ["system", "", "Team conversation reached maximum turns limit (2)"]
    ])
  })

  it("nested team: a member team runs its members on the outer conversation, and what they said is the team's, under its name", async () => {
    const m = await teamModel((speaker, messages) => ({ text: `${speaker} heard ${messages.filter((x) => x.role === "assistant").map((x) => x.name).join(",") || "nobody"}` }))
    await client.apply("t6", [
      openAiModel(m.url),
      ...["scout", "mapper", "guide"].map((n) => member(n)),
      team("inner", { strategy: "sequential", members: agents("scout", "mapper") }),
      team("outer", { strategy: "sequential", members: [{ name: "inner", type: "team" }, { name: "guide", type: "agent" }] }),
      ask("nested", "outer")
    ])
    const q = await done("t6", "nested")
    expect(rows(raw(q))).toEqual([
      ["assistant", "inner", "scout heard nobody"],
      ["assistant", "inner", "mapper heard scout"],
      ["assistant", "guide", "guide heard inner,inner"]
    ])
    expect(q.status.tokenUsage.totalTokens).toBe(45)
  })

  it("each team, turn and member's run is recorded as Events on the Query, as upstream records them; each team's Complete has its own tokens", async () => {
    const m = await teamModel((speaker) => speaker === "breaker" ? { status: 500, message: "model is down" } : { text: `${speaker} done`, usage: { input: 5, output: 2 } })
    await client.apply("t6e", [
      openAiModel(m.url),
      ...["scout", "mapper", "guide", "breaker"].map((n) => member(n)),
      team("inner", { strategy: "sequential", members: agents("scout", "mapper") }),
      team("outer", { strategy: "sequential", members: [{ name: "inner", type: "team" }, { name: "guide", type: "agent" }] }),
      team("broken", { strategy: "sequential", members: agents("scout", "breaker") }),
      ask("nested", "outer"),
      ask("failing", "broken")
    ])
    const q = await done("t6e", "nested")
    const failed = await client.finished("t6e", "failing")
    expect(failed.status.phase).toBe("error")
    const listed = await client.k(["get", "events", "-n", "t6e", "-o", "json"])
    expect(listed.code, listed.stderr).toBe(0)
    type Event = { type: string; reason: string; message: string; involvedObject: Record<string, string>; metadata: { resourceVersion: string; annotations: Record<string, string> } }
    const events = (JSON.parse(listed.stdout).items as Array<Event>).sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
    const on = (query: { metadata: { name: string; uid: string } }) => {
      const mine = events.filter((e) => e.involvedObject.name === query.metadata.name)
      for (const e of mine) expect(e.involvedObject).toEqual({ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Query", namespace: "t6e", name: query.metadata.name, uid: query.metadata.uid })
      return mine.map((e) => ({ e, data: JSON.parse(e.metadata.annotations["ark.mckinsey.com/event-data"]!) as Record<string, string> }))
    }
    const nested = on(q)
    expect(nested.map(({ e, data }) => [e.type, e.reason, data.teamName, data.memberName ?? "", data.turn ?? ""])).toEqual([
      ["Normal", "TeamExecutionStart", "outer", "", ""],
      ["Normal", "TeamTurnStart", "outer", "", "0"],
      ["Normal", "TeamMemberStart", "outer", "inner", "0"],
      ["Normal", "TeamExecutionStart", "inner", "", ""],
      ["Normal", "TeamTurnStart", "inner", "", "0"],
      ["Normal", "TeamMemberStart", "inner", "scout", "0"],
      ["Normal", "TeamMemberComplete", "inner", "scout", "0"],
      ["Normal", "TeamTurnComplete", "inner", "", "0"],
      ["Normal", "TeamTurnStart", "inner", "", "1"],
      ["Normal", "TeamMemberStart", "inner", "mapper", "1"],
      ["Normal", "TeamMemberComplete", "inner", "mapper", "1"],
      ["Normal", "TeamTurnComplete", "inner", "", "1"],
      ["Normal", "TeamExecutionComplete", "inner", "", ""],
      ["Normal", "TeamMemberComplete", "outer", "inner", "0"],
      ["Normal", "TeamTurnComplete", "outer", "", "0"],
      ["Normal", "TeamTurnStart", "outer", "", "1"],
      ["Normal", "TeamMemberStart", "outer", "guide", "1"],
      ["Normal", "TeamMemberComplete", "outer", "guide", "1"],
      ["Normal", "TeamTurnComplete", "outer", "", "1"],
      ["Normal", "TeamExecutionComplete", "outer", "", ""]
    ])
    const start = nested[0]!
    expect(start.e.message).toMatch(/^Executing team t6e\/outer \(timestamp: .+\)$/)
    expect(start.data).toMatchObject({ queryName: "nested", queryNamespace: "t6e", queryId: q.metadata.uid, sessionId: q.metadata.uid, strategy: "sequential", memberCount: "2" })
    // Each team's tokens: the inner team's two calls, the outer team's three; the Query's status has the sum of all its calls.
    const completes = nested.filter(({ e }) => e.reason === "TeamExecutionComplete").map(({ data }) => [data.teamName, data.promptTokens, data.completionTokens, data.totalTokens])
    expect(completes).toEqual([["inner", "10", "4", "14"], ["outer", "15", "6", "21"]])
    expect(q.status.tokenUsage).toEqual({ promptTokens: 15, completionTokens: 6, totalTokens: 21 })
    // A member's failure: a Warning for the member, its turn and the team, each with the error.
    const failing = on(failed)
    expect(failing.map(({ e }) => [e.type, e.reason])).toEqual([
      ["Normal", "TeamExecutionStart"],
      ["Normal", "TeamTurnStart"], ["Normal", "TeamMemberStart"], ["Normal", "TeamMemberComplete"], ["Normal", "TeamTurnComplete"],
      ["Normal", "TeamTurnStart"], ["Normal", "TeamMemberStart"],
      ["Warning", "TeamMemberError"], ["Warning", "TeamTurnError"], ["Warning", "TeamExecutionError"]
    ])
    const memberError = failing.find(({ e }) => e.reason === "TeamMemberError")!
    expect(memberError.e.message).toMatch(/^Team member execution failed: .*model is down/)
    expect(memberError.data).toMatchObject({ memberName: "breaker", turn: "1" })
    expect(memberError.data.error).toContain("model is down")
    expect(failing.at(-1)!.e.message).toMatch(/^Team execution failed: agent breaker failed in team t6e\/broken: .*model is down/)
  })

  it("a team as an agent's tool: the team runs on the tool's input and its answer is the tool result", async () => {
    const m = await teamModel((speaker, messages) => {
      if (speaker === "lead") {
        const result = messages.find((x) => x.role === "tool")
        return result === undefined
          ? { toolCalls: [{ name: "ask-desk", arguments: { input: "Forecast for Bergen" } }] }
          : { text: `Lead relays: ${String(result.content)}` }
      }
      return { text: `${speaker} on ${String(messages.at(-1)?.content)}` }
    })
    await client.apply("t7", [
      openAiModel(m.url),
      member("forecaster"),
      team("desk", { strategy: "sequential", members: agents("forecaster") }),
      tool("ask-desk", { type: "team", description: "Ask the weather desk", team: { name: "desk" } }),
      member("lead", { tools: [{ type: "team", name: "ask-desk" }] }),
      query("relay", { input: "What about Bergen?", target: { type: "agent", name: "lead" } })
    ])
    const q = await done("t7", "relay")
    expect(q.status.response.content).toBe("Lead relays: forecaster on Forecast for Bergen")
    expect(q.status.tokenUsage.totalTokens).toBe(45)
  })

  it("members on another execution engine: sent the user's input and the QueryRef naming them; an engine-backed selector answers with a name or TERMINATE", async () => {
    // The engine knows its own ExecutionEngine name: agents naming it run there.
    const engine = await startEngine(["--port", String(await freePort()), "--kubeconfig", server.kubeconfig], { ARK_ENGINE_NAME: "elsewhere" })
    cleanups.push(() => engine.stop())
    const m = await teamModel((speaker, messages, call) => {
      if (speaker === "far-chair") {
        expect(call.body["tools"]).toBeUndefined()
        const asked = String(messages.at(-1)?.content)
        return { text: asked.includes("# far-analyst:") ? "TERMINATE: the far side is done" : "I pick Far-Analyst." }
      }
      return { text: `${speaker} saw ${messages.length} messages` }
    })
    await client.apply("t8", [
      openAiModel(m.url),
      { apiVersion: "ark.mckinsey.com/v1prealpha1", kind: "ExecutionEngine", metadata: { name: "elsewhere" }, spec: { address: { value: engine.url } } },
      member("near"),
      member("far-analyst", { executionEngine: { name: "elsewhere" } }),
      member("far-chair", { executionEngine: { name: "elsewhere" } }),
      team("split", { strategy: "sequential", members: agents("near", "far-analyst") }),
      team("far-panel", { strategy: "selector", maxTurns: 4, selector: { agent: "far-chair", enableTerminateTool: true }, members: agents("far-analyst", "near") }),
      ask("split", "split", "Across engines?"),
      ask("far-panel", "far-panel", "Across engines?")
    ])
    const split = await done("t8", "split")
    // The far member saw its prompt and the user's input only (not the near member's turn), as upstream sends it.
    expect(rows(raw(split))).toEqual([["assistant", "near", "near saw 2 messages"], ["assistant", "far-analyst", "far-analyst saw 2 messages"]])
    expect(rows(openAiMessages(m.by("far-analyst")[0]!) as ReadonlyArray<Message>)).toEqual([["system", "", "You are far-analyst."], ["user", "", "Across engines?"]])
    expect(split.status.tokenUsage.totalTokens).toBe(30)
    // Its answer streamed (read late, as a whole): each member's message named, the far one relayed from its engine over A2A.
    const stream = await client.k(["get", "--raw", "/apis/ark.mckinsey.com/v1alpha1/namespaces/t8/queries/split/stream"])
    expect(stream.code, stream.stderr).toBe(0)
    const messages: Array<string> = []
    let text = ""
    for (const line of stream.stdout.split("\n")) {
      if (!line.startsWith("data: {")) continue
      const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta: { content?: string }; finish_reason: string | null }>; ark: { agent?: string; team?: string; completedQuery?: unknown } }
      if (chunk.ark.completedQuery !== undefined || chunk.choices === undefined) continue
      text += chunk.choices[0]!.delta.content ?? ""
      if (chunk.choices[0]!.finish_reason === "stop") {
        messages.push(`${chunk.ark.agent}@${chunk.ark.team}: ${text}`)
        text = ""
      }
    }
    expect(messages).toEqual(["near@split: near saw 2 messages", "far-analyst@split: far-analyst saw 2 messages"])
    const panel = await done("t8", "far-panel")
    const asked = String(openAiMessages(m.by("far-chair")[0]!).at(-1)!.content)
    expect(asked).toContain("Reply with only the name of the next speaker, exactly as written in far-analyst, near, and nothing else.")
    expect(asked).toContain("To stop, reply with TERMINATE instead of a name")
    expect(panel.status.response.content).toBe("the far side is done")
    expect(rows(raw(panel))).toEqual([["assistant", "far-analyst", "far-analyst saw 2 messages"], ["assistant", "", "the far side is done"]])
  })

  it("runs each team manifest shaped like upstream's samples with a scripted model", async () => {
    const samples = join(import.meta.dirname, "..", "fixtures", "upstream-shaped", "teams")
    const m = await startScriptedModel("openai", (call) => {
      const messages = openAiMessages(call)
      const tools = ((call.body["tools"] ?? []) as ReadonlyArray<{ function: { name: string; parameters: { properties?: { name?: { enum?: ReadonlyArray<string> } } } } }>)
      const select = tools.find((t) => t.function.name === "select-next-speaker")
      if (select !== undefined) {
        const spoken = messages.filter((x) => x.role === "system").some((x) => String(x.content).includes("# fact-checker:"))
        return spoken ? { text: "no tool" } : { toolCalls: [{ name: "select-next-speaker", arguments: { name: select.function.parameters.properties!.name!.enum![0]! } }] }
      }
      if (tools.some((t) => t.function.name === "terminate") && messages.filter((x) => x.role === "assistant").length >= 2) {
        return { toolCalls: [{ name: "terminate", arguments: { response: "Over. Over. Over." } }] }
      }
      return { text: `${String(messages.at(-1)?.content)} Over.` }
    })
    cleanups.push(() => m.stop())
    const files = readdirSync(samples).filter((f) => f.endsWith(".yaml")).sort()
    expect(files).toEqual(["graph-strategy.yaml", "round-robin-with-terminate.yaml", "selector-strategy.yaml", "sequential.yaml"])
    const namespace = "samples"
    await client.apply(namespace, [openAiModel(m.url)])
    for (const f of files) {
      const r = await client.k(["apply", "-n", namespace, "-f", "-"], readFileSync(join(samples, f), "utf8"))
      expect(r.code, `${f}: ${r.stderr}`).toBe(0)
    }
    const seq = await done(namespace, "relay-message")
    expect(raw(seq).map((x) => x.name)).toEqual(["relay-operator", "relay-operator", "relay-operator"])
    expect(seq.status.response.content).toBe("Tower to all stations: Over.")
    // Migrated to sequential by admission: the four members in order.
    const graph = await done(namespace, "map-the-valley")
    expect(raw(graph).map((x) => x.name)).toEqual(["surveyor", "cartographer", "proofreader", "printer"])
    // round-robin without maxTurns is migrated to sequential: one turn of its one member.
    const rr = await done(namespace, "radio-check")
    expect(raw(rr).map((x) => x.name)).toEqual(["radio-relay"])
    const selector = await done(namespace, "cycling-lanes-story")
    expect(raw(selector).map((x) => [x.role, x.name ?? ""])).toEqual([["assistant", "fact-checker"], ["system", ""]])
    expect(raw(selector).at(-1)!.content).toBe("Selector agent did not use the select-next-speaker tool")
    // The selector agent was asked twice, its selector prompt filled: the roles with their descriptions, the members to pick from.
    const selections = m.calls.filter((c) => ((c.body["tools"] ?? []) as ReadonlyArray<{ function: { name: string } }>).some((t) => t.function.name === "select-next-speaker"))
    expect(selections).toHaveLength(2)
    const filled = openAiMessages(selections[0]!).filter((x) => x.role === "system").map((x) => String(x.content)).join("\n")
    expect(filled).toContain("The desk:\nfact-checker: Verifies claims, figures and sources, copy-editor: Tightens wording, tone and headlines, layout-designer: Plans pages, images and charts\n")
    expect(filled).toContain("Pick one of: fact-checker, copy-editor, layout-designer\n")
  })
})
