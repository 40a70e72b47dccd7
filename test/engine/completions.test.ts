/**
 * The completions engine end to end: the real `ark serve` (its query workers and the engine
 * embedded in it, reading the API through client-node's credentials), kubectl, a real HTTP tool
 * server and a real MCP server; the model providers are scripted servers speaking each API's
 * wire format to the real SDKs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { stringify } from "yaml"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import type { ModelScript, ScriptedModel, Wire } from "../support/models.ts"
import { openAiMessages, startScriptedModel } from "../support/models.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { startMcpServer, startWeatherApi } from "../support/toolServers.ts"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

const engineEnv = { ARK_ENGINE_MAX_TURNS: "3", ARK_ENGINE_MODEL_RETRIES: "2", ARK_ENGINE_RETRY_BASE: "10 millis" }

let server: RunningServer
let kubectl: string
let weather: Awaited<ReturnType<typeof startWeatherApi>>
let mcp: Awaited<ReturnType<typeof startMcpServer>>

beforeAll(async () => {
  kubectl = (await kubectlBinaries()).kubectl
  weather = await startWeatherApi()
  cleanups.push(() => weather.stop())
  mcp = await startMcpServer()
  cleanups.push(() => mcp.stop())
  server = await startServer({ modules: "apiserver,query-workers", env: engineEnv })
  cleanups.push(() => server.stop())
})

const k = (args: ReadonlyArray<string>, input?: string) =>
  runKubectl(kubectl, ["--kubeconfig", server.kubeconfig, ...args], input === undefined ? {} : { input })

const apply = async (namespace: string, objects: ReadonlyArray<Record<string, unknown>>) => {
  const r = await k(["apply", "-n", namespace, "-f", "-"], objects.map((o) => stringify(o)).join("---\n"))
  expect(r.code, r.stderr).toBe(0)
}

const model = async (wire: Wire, script: ModelScript) => {
  const m = await startScriptedModel(wire, script)
  cleanups.push(() => m.stop())
  return m
}

const v1alpha1 = "ark.mckinsey.com/v1alpha1"

/** An OpenAI Model at the scripted server, its key given as a literal. */
const openAiModel = (m: ScriptedModel, name = "default", apiKey: Record<string, unknown> = { value: "sk-literal-test-key" }) => ({
  apiVersion: v1alpha1,
  kind: "Model",
  metadata: { name },
  spec: { provider: "openai", model: { value: "gpt-test" }, config: { openai: { baseUrl: { value: `${m.url}/v1` }, apiKey } } }
})

const agent = (name: string, spec: Record<string, unknown>) => ({ apiVersion: v1alpha1, kind: "Agent", metadata: { name }, spec })
const tool = (name: string, spec: Record<string, unknown>) => ({ apiVersion: v1alpha1, kind: "Tool", metadata: { name }, spec })
const query = (name: string, spec: Record<string, unknown>) => ({ apiVersion: v1alpha1, kind: "Query", metadata: { name }, spec })

/** Polls the Query with kubectl until it is done or in error. */
const finished = async (namespace: string, name: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = await k(["get", "-n", namespace, "query", name, "-o", "json"])
    expect(r.code, r.stderr).toBe(0)
    const q = JSON.parse(r.stdout)
    if (q.status?.phase === "done" || q.status?.phase === "error") return q
    if (Date.now() > deadline) throw new Error(`query ${namespace}/${name} stayed ${JSON.stringify(q.status)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const completed = (q: { status: { conditions: ReadonlyArray<{ type: string; message: string }> } }) =>
  q.status.conditions.find((c) => c.type === "Completed")!.message

/** The tool results the model was sent last, by the name of the call they answer. */
const toolResults = (call: Parameters<ModelScript>[0]) => {
  const messages = openAiMessages(call)
  const names = new Map<string, string>()
  for (const m of messages) {
    for (const c of (m.tool_calls ?? []) as ReadonlyArray<{ id: string; function: { name: string } }>) names.set(c.id, c.function.name)
  }
  return new Map(messages.filter((m) => m.role === "tool").map((m) => [names.get(m.tool_call_id!)!, String(m.content)]))
}

describe("the completions engine embedded in ark serve", () => {
  it("answers a weather agent with an HTTP tool and an MCP tool over two tool turns, with parallel calls", async () => {
    const m = await model("openai", (call, n) => {
      if (n === 1) {
        return {
          toolCalls: [
            { name: "get-current-weather", arguments: { latitude: 38.72, longitude: -9.14 } },
            { name: "get-alerts", arguments: { region: "Lisbon" } }
          ],
          usage: { input: 40, output: 7 }
        }
      }
      if (n === 2) return { toolCalls: [{ name: "get-current-weather", arguments: { latitude: 41.15, longitude: -8.61 } }], usage: { input: 80, output: 6 } }
      const results = toolResults(call)
      return { text: `Lisbon and Porto: ${results.get("get-current-weather")} / earlier alerts answered`, usage: { input: 120, output: 20 } }
    })
    await apply("e1", [
      openAiModel(m),
      tool("get-current-weather", {
        type: "http",
        description: "Current temperature and wind at a latitude/longitude",
        inputSchema: { type: "object", properties: { latitude: { type: "number" }, longitude: { type: "number" } }, required: ["latitude", "longitude"] },
        http: { method: "GET", url: `${weather.url}/forecast?latitude={latitude}&longitude={longitude}`, timeout: "10s" }
      }),
      { apiVersion: v1alpha1, kind: "MCPServer", metadata: { name: "alerts" }, spec: { address: { value: `${mcp.url}/mcp` }, transport: "http" } },
      tool("get-alerts", { type: "mcp", mcp: { mcpServerRef: { name: "alerts" }, toolName: "get_alerts" } }),
      agent("weather-reporter", {
        prompt: "You report the weather in a {{ .style }} style.",
        parameters: [{ name: "style", value: "brief" }],
        tools: [{ type: "http", name: "get-current-weather" }, { type: "mcp", name: "get-alerts" }]
      }),
      query("lisbon", { input: "What is the weather in {{ .city }}?", parameters: [{ name: "city", value: "Lisbon and Porto" }], target: { type: "agent", name: "weather-reporter" } })
    ])
    const q = await finished("e1", "lisbon")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    const porto = JSON.stringify({ latitude: 41.15, longitude: -8.61, current: { temperature_2m: 21.5, wind_speed_10m: 12 } })
    expect(q.status.response.content).toBe(`Lisbon and Porto: ${porto} / earlier alerts answered`)
    expect(q.status.tokenUsage).toEqual({ promptTokens: 240, completionTokens: 33, totalTokens: 273 })

    expect(m.calls).toHaveLength(3)
    const first = m.calls[0]!
    expect(first.headers.authorization).toBe("Bearer sk-literal-test-key")
    expect(first.body["model"]).toBe("gpt-test")
    expect(openAiMessages(first).map((x) => [x.role, x.content])).toEqual([
      ["system", "You report the weather in a brief style."],
      ["user", "What is the weather in Lisbon and Porto?"]
    ])
    const tools = first.body["tools"] as ReadonlyArray<{ function: { name: string; description: string; parameters: unknown } }>
    expect(tools.map((t) => t.function.name)).toEqual(["get-current-weather", "get-alerts"])
    // The MCP tool's description and schema come from the MCP server itself.
    expect(tools[1]!.function.description).toBe("Active weather alerts of a region")
    expect(tools[1]!.function.parameters).toEqual({ type: "object", properties: { region: { type: "string" } }, required: ["region"] })
    // Both calls of the first turn were answered before the second model call.
    const second = toolResults(m.calls[1]!)
    expect(second.get("get-alerts")).toBe("No alerts for Lisbon; wind advisory lifted.")
    expect(JSON.parse(second.get("get-current-weather")!)).toMatchObject({ latitude: 38.72, longitude: -9.14 })
    expect(weather.calls.map((c) => c.url)).toEqual(["/forecast?latitude=38.72&longitude=-9.14", "/forecast?latitude=41.15&longitude=-8.61"])
    expect(mcp.calls.map((c) => [c.tool, c.arguments])).toEqual([["get_alerts", { region: "Lisbon" }]])

    // status.response.raw holds what the agent said, as upstream keeps it: assistant and tool messages.
    const raw = JSON.parse(q.status.response.raw) as ReadonlyArray<{ role: string; name?: string; tool_calls?: unknown[] }>
    expect(raw.map((x) => x.role)).toEqual(["assistant", "tool", "tool", "assistant", "tool", "assistant"])
    expect(raw.filter((x) => x.role === "assistant").every((x) => x.name === "weather-reporter")).toBe(true)
    expect(raw[0]!.tool_calls).toHaveLength(2)
    expect(JSON.stringify(q)).not.toContain("sk-literal-test-key")
  })
})
