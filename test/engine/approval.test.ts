/**
 * Human approval of tool calls, with `ark engine` as its own process: a call of a tool that
 * needs approval stops the Query at approval-required with status.approvalRef naming a
 * ToolApprovalRequest; the engine process is restarted while it waits; a `kubectl patch
 * --subresource=status` approving it resumes the Query to done (the tool ran, once, after the
 * approval), and rejecting it gives the model a tool error it answers from.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { approvalRequiredPhase } from "../../src/domain/kinds/query.ts"
import { agent, arkClient, openAiModel, query, tool } from "../support/arkClient.ts"
import type { RunningEngine } from "../support/engineProcess.ts"
import { startEngine } from "../support/engineProcess.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ScriptedModel } from "../support/models.ts"
import { openAiMessages, startScriptedModel } from "../support/models.ts"
import { freePort } from "../support/net.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { startWeatherApi } from "../support/toolServers.ts"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

let server: RunningServer
let engine: RunningEngine
let port: number
let model: ScriptedModel
let weather: Awaited<ReturnType<typeof startWeatherApi>>
let client: ReturnType<typeof arkClient>

/** The model asks for the forecast once, then answers with the tool's result (or error) it read. */
const toolResult = (call: Parameters<typeof openAiMessages>[0]) => openAiMessages(call).find((m) => m.role === "tool")?.content

beforeAll(async () => {
  weather = await startWeatherApi()
  cleanups.push(() => weather.stop())
  model = await startScriptedModel("openai", (call) => {
    const result = toolResult(call)
    if (result === undefined) {
      const city = String(openAiMessages(call).find((m) => m.role === "user")!.content)
      return { toolCalls: [{ name: "forecast", arguments: { latitude: city === "Lisbon" ? 38.72 : 41.15, longitude: -9 } }], usage: { input: 10, output: 3 } }
    }
    return { text: `model read: ${String(result)}`, usage: { input: 20, output: 5 } }
  })
  cleanups.push(() => model.stop())
  port = await freePort()
  server = await startServer({ modules: "apiserver,query-workers", args: ["--completions-url", `http://127.0.0.1:${port}`] })
  cleanups.push(() => server.stop())
  engine = await startEngine(["--port", String(port), "--kubeconfig", server.kubeconfig])
  cleanups.push(() => engine.stop())
  client = arkClient((await kubectlBinaries()).kubectl, server.kubeconfig)
  await client.apply("hitl", [
    openAiModel(model.url),
    tool("forecast", {
      type: "http",
      inputSchema: { type: "object", properties: { latitude: { type: "number" }, longitude: { type: "number" } } },
      http: { method: "GET", url: `${weather.url}/forecast?latitude={latitude}&longitude={longitude}`, timeout: "10s" }
    }),
    agent("cautious", { prompt: "Ask before you look.", tools: [{ type: "custom", name: "forecast", approval: { required: true } }] }),
    agent("hasty", { prompt: "Ask, but not for long.", tools: [{ type: "custom", name: "forecast", approval: { required: true, timeout: "2s", onTimeout: "reject" } }] })
  ])
})

const getJson = async (args: ReadonlyArray<string>) => {
  const r = await client.k(["get", "-n", "hitl", ...args, "-o", "json"])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

/** Polls the Query until it waits for approval; answers its status. */
const waiting = async (name: string) => {
  const deadline = Date.now() + 30_000
  for (;;) {
    const q = await getJson(["query", name])
    if (q.status?.phase === approvalRequiredPhase) return q.status
    if (q.status?.phase === "done" || q.status?.phase === "error" || Date.now() > deadline) throw new Error(`query ${name}: ${JSON.stringify(q.status)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const decide = async (tar: string, action: "approved" | "rejected", reason?: string) => {
  const patch = { status: { phase: action, decision: { action, decidedBy: "alice", decidedAt: new Date().toISOString(), ...(reason !== undefined ? { reason } : {}) } } }
  const r = await client.k(["patch", "-n", "hitl", "toolapprovalrequest", tar, "--subresource=status", "--type=merge", "-p", JSON.stringify(patch)])
  expect(r.code, r.stderr).toBe(0)
}

describe("human approval of tool calls", () => {
  it("stops at approval-required naming a ToolApprovalRequest; after an engine restart, an approval resumes it to done", async () => {
    await client.apply("hitl", [query("lisbon", { input: "Lisbon", target: { type: "agent", name: "cautious" } })])
    const status = await waiting("lisbon")
    expect(status.approvalRef.name).toBe("lisbon-approval-1")
    const tar = await getJson(["toolapprovalrequest", status.approvalRef.name])
    expect(tar.status.phase).toBe("pending")
    expect(tar.spec.queryRef).toEqual({ name: "lisbon", namespace: "hitl" })
    expect(tar.spec.toolCalls.map((c: { name: string; arguments: string }) => [c.name, JSON.parse(c.arguments)])).toEqual([["forecast", { latitude: 38.72, longitude: -9 }]])
    // Nothing ran: the tool waits for a human.
    expect(weather.calls.length).toBe(0)

    await engine.stop()
    engine = await startEngine(["--port", String(port), "--kubeconfig", server.kubeconfig])
    const modelCalls = model.calls.length
    await decide(status.approvalRef.name, "approved")

    const q = await client.finished("hitl", "lisbon")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe('model read: {"latitude":38.72,"longitude":-9,"current":{"temperature_2m":21.5,"wind_speed_10m":12}}')
    expect(weather.calls.map((c) => c.url)).toEqual(["/forecast?latitude=38.72&longitude=-9"])
    // The resumed engine called the model once more, from the conversation it stopped with.
    expect(model.calls.length).toBe(modelCalls + 1)
    expect(openAiMessages(model.calls.at(-1)!).map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"])
    // Usage of both runs: the call before the pause and the one after.
    expect(q.status.tokenUsage).toEqual({ promptTokens: 30, completionTokens: 8, totalTokens: 38 })
    expect(q.status.approvalRef).toBeUndefined()
    expect(JSON.parse(q.status.response.raw).map((m: { role: string }) => m.role)).toEqual(["assistant", "tool", "assistant"])
  })

  it("a rejected call becomes a tool error the model reads, and the tool never runs", async () => {
    const before = weather.calls.length
    await client.apply("hitl", [query("porto", { input: "Porto", target: { type: "agent", name: "cautious" } })])
    const status = await waiting("porto")
    await decide(status.approvalRef.name, "rejected", "not today")
    const q = await client.finished("hitl", "porto")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe("model read: Error: a human rejected this tool call (alice): not today")
    expect(weather.calls.length).toBe(before)
  })

  it("a request nobody answers within its timeout expires; with onTimeout reject the model reads a tool error", async () => {
    const before = weather.calls.length
    await client.apply("hitl", [query("faro", { input: "Faro", target: { type: "agent", name: "hasty" } })])
    // Not waited for: the request may expire before a poll would see the Query wait.
    const q = await client.finished("hitl", "faro")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe("model read: Error: nobody approved this tool call within 2s")
    expect((await getJson(["toolapprovalrequest", "faro-approval-1"])).status.phase).toBe("expired")
    expect(weather.calls.length).toBe(before)
  })
})
