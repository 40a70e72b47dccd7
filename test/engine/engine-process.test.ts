/**
 * `ark engine`: the completions engine as its own process, an A2A service interchangeable with
 * upstream's engine. ark serve dispatches Queries to it over A2A (its query workers with
 * --completions-url), and a request shaped as upstream's controller sends it (A2A 0.3
 * `message/send`, the QueryRef in the params' metadata) gets upstream's answer metadata.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { QUERY_EXTENSION_URI, QUERY_REF_METADATA_KEY } from "../../src/layers/A2AEngine.ts"
import { agent, arkClient, openAiModel, query } from "../support/arkClient.ts"
import type { RunningEngine } from "../support/engineProcess.ts"
import { startEngine } from "../support/engineProcess.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ScriptedModel } from "../support/models.ts"
import { openAiMessages, startScriptedModel } from "../support/models.ts"
import { freePort } from "../support/net.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

let server: RunningServer
let engine: RunningEngine
let model: ScriptedModel
let client: ReturnType<typeof arkClient>

beforeAll(async () => {
  model = await startScriptedModel("openai", (call) => ({ text: `engine process answers: ${openAiMessages(call).at(-1)!.content}`, usage: { input: 7, output: 4 } }))
  cleanups.push(() => model.stop())
  const port = await freePort()
  server = await startServer({ modules: "apiserver,query-workers", args: ["--completions-url", `http://127.0.0.1:${port}`] })
  cleanups.push(() => server.stop())
  engine = await startEngine(["--port", String(port), "--kubeconfig", server.kubeconfig])
  cleanups.push(() => engine.stop())
  client = arkClient((await kubectlBinaries()).kubectl, server.kubeconfig)
  await client.apply("p1", [openAiModel(model.url), agent("helper", { prompt: "Help." }), query("ask", { input: "over A2A?", target: { type: "agent", name: "helper" } })])
})

describe("ark engine", () => {
  it("declares upstream's query extension in its agent card", async () => {
    const card = await (await fetch(`${engine.url}/.well-known/agent-card.json`)).json() as { capabilities: { extensions: ReadonlyArray<{ uri: string }> } }
    expect(card.capabilities.extensions.map((e) => e.uri)).toEqual([QUERY_EXTENSION_URI])
  })

  it("answers the Queries ark serve dispatches to it, with the token usage", async () => {
    const q = await client.finished("p1", "ask")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe("engine process answers: over A2A?")
    expect(q.status.tokenUsage).toEqual({ promptTokens: 7, completionTokens: 4, totalTokens: 11 })
    // The engine's messages, as upstream keeps them, reach status.response.raw.
    expect(JSON.parse(q.status.response.raw)).toEqual([{ role: "assistant", content: "engine process answers: over A2A?", name: "helper" }])
  })

  it("answers an A2A 0.3 message/send as upstream's controller sends it, with upstream's metadata", async () => {
    await client.finished("p1", "ask")
    const res = await fetch(engine.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "message/send",
        params: {
          message: { kind: "message", messageId: "m-1", role: "user", parts: [{ kind: "text", text: "over A2A?" }], extensions: [QUERY_EXTENSION_URI] },
          metadata: { [QUERY_REF_METADATA_KEY]: { name: "ask", namespace: "p1" } }
        }
      })
    })
    const body = await res.json() as { result: { kind: string; parts: ReadonlyArray<{ text: string }>; metadata: Record<string, { tokenUsage: unknown; messages: unknown }> } }
    expect(body.result.kind).toBe("message")
    expect(body.result.parts.map((p) => p.text)).toEqual(["engine process answers: over A2A?"])
    const meta = body.result.metadata[QUERY_REF_METADATA_KEY]!
    expect(meta.tokenUsage).toEqual({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 })
    expect(meta.messages).toEqual([{ role: "assistant", content: "engine process answers: over A2A?", name: "helper" }])
  })

  it("fails a request for a Query that does not exist with a not-found task, naming it", async () => {
    const res = await fetch(engine.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "message/send",
        params: {
          message: { kind: "message", messageId: "m-2", role: "user", parts: [{ kind: "text", text: "x" }], metadata: { [QUERY_REF_METADATA_KEY]: { name: "nope", namespace: "p1" } } }
        }
      })
    })
    const body = await res.json() as { result: { kind: string; status: { state: string; message: { parts: ReadonlyArray<{ text: string }> } } } }
    expect(body.result.kind).toBe("task")
    expect(body.result.status.state).toBe("failed")
    expect(body.result.status.message.parts[0]!.text).toBe("not-found: query p1/nope not found")
  })

  it("answers an A2A 1.0 SendMessage whose QueryRef names a member of the Query's team to run, and refuses one the team does not reach", async () => {
    await client.apply("p1", [
      { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Team", metadata: { name: "desk" }, spec: { strategy: "sequential", members: [{ type: "agent", name: "helper" }] } },
      agent("outsider", { prompt: "Not on the desk." }),
      // ark serve's workers dispatch it too (and the engine runs the whole team); here the engine is asked for one member.
      query("team-ask", { input: "over A2A?", target: { type: "team", name: "desk" } })
    ])
    const send = (target: string) =>
      fetch(`${engine.url}/a2a/jsonrpc`, {
        method: "POST",
        headers: { "content-type": "application/json", "a2a-version": "1.0" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 3,
          method: "SendMessage",
          params: {
            message: {
              messageId: `m-${target}`,
              role: "ROLE_USER",
              parts: [{ text: "over A2A?" }],
              extensions: [QUERY_EXTENSION_URI],
              metadata: { [QUERY_REF_METADATA_KEY]: { name: "team-ask", namespace: "p1", target: { type: "agent", name: target } } }
            }
          }
        })
      }).then((r) => r.json() as Promise<any>)
    const member = await send("helper")
    expect(member.result.message.parts.map((p: { text: string }) => p.text)).toEqual(["engine process answers: over A2A?"])
    expect(member.result.message.metadata[QUERY_REF_METADATA_KEY].tokenUsage).toEqual({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 })
    const outsider = await send("outsider")
    expect(outsider.result.task.status.state).toBe("TASK_STATE_FAILED")
    expect(outsider.result.task.status.message.parts[0].text).toBe("invalid-config: query p1/team-ask: agent outsider is not a member of team desk")
    // The workers' own run of the team ends too, so no model call of it lands in a later test.
    expect((await client.finished("p1", "team-ask")).status.phase).toBe("done")
  })

  it("fails a message without a QueryRef with a clear reason instead of running anything", async () => {
    const calls = model.calls.length
    const res = await fetch(engine.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 4, method: "message/send", params: { message: { kind: "message", messageId: "m-4", role: "user", parts: [{ kind: "text", text: "hi" }] } } })
    })
    const body = await res.json() as { result: { status: { state: string; message: { parts: ReadonlyArray<{ text: string }> } } } }
    expect(body.result.status.state).toBe("failed")
    expect(body.result.status.message.parts[0]!.text).toBe(`invalid-config: the message carries no query reference under metadata key ${QUERY_REF_METADATA_KEY}`)
    expect(model.calls.length).toBe(calls)
  })
})
