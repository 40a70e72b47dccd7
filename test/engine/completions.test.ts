/**
 * The completions engine end to end: the real `ark serve` (its query workers and the engine
 * embedded in it, reading the API through client-node's credentials), kubectl, a real HTTP tool
 * server and a real MCP server; the model providers are scripted servers speaking each API's
 * wire format to the real SDKs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agent, arkClient, completed, openAiModel as openAiModelAt, query, tool, v1alpha1 } from "../support/arkClient.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ModelScript, ScriptedModel, Wire } from "../support/models.ts"
import { openAiMessages, startScriptedModel } from "../support/models.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { startMcpServer, startWeatherApi } from "../support/toolServers.ts"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

const engineEnv = { ARK_ENGINE_MAX_TURNS: "3", ARK_ENGINE_MODEL_RETRIES: "2", ARK_ENGINE_RETRY_BASE: "10 millis", ARK_ENGINE_MODEL_TIMEOUT: "3 seconds" }

let server: RunningServer
let client: ReturnType<typeof arkClient>
let weather: Awaited<ReturnType<typeof startWeatherApi>>
let mcp: Awaited<ReturnType<typeof startMcpServer>>

beforeAll(async () => {
  weather = await startWeatherApi()
  cleanups.push(() => weather.stop())
  mcp = await startMcpServer()
  cleanups.push(() => mcp.stop())
  server = await startServer({ modules: "apiserver,query-workers", env: engineEnv })
  cleanups.push(() => server.stop())
  client = arkClient((await kubectlBinaries()).kubectl, server.kubeconfig)
})

const apply = (namespace: string, objects: ReadonlyArray<Record<string, unknown>>) => client.apply(namespace, objects)
const finished = (namespace: string, name: string) => client.finished(namespace, name)
const openAiModel = (m: ScriptedModel, name?: string, apiKey?: Record<string, unknown>) => openAiModelAt(m.url, name, apiKey)

const model = async (wire: Wire, script: ModelScript) => {
  const m = await startScriptedModel(wire, script)
  cleanups.push(() => m.stop())
  return m
}

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
  it("answers a weather agent with an HTTP tool and an MCP tool over two tool turns, with parallel calls; key and parameters from a Secret and a ConfigMap", async () => {
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
    for (const create of [["secret", "generic", "openai-api-key", "--from-literal=token=sk-secret-test-key"], ["configmap", "trip", "--from-literal=cities=Lisbon and Porto"]]) {
      const r = await client.k(["create", "-n", "e1", ...create])
      expect(r.code, r.stderr).toBe(0)
    }
    await apply("e1", [
      openAiModel(m, "default", { valueFrom: { secretKeyRef: { name: "openai-api-key", key: "token" } } }),
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
      query("lisbon", {
        input: "What is the weather in {{ .city }}?",
        parameters: [{ name: "city", valueFrom: { configMapKeyRef: { name: "trip", key: "cities" } } }],
        target: { type: "agent", name: "weather-reporter" }
      })
    ])
    const q = await finished("e1", "lisbon")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    const porto = JSON.stringify({ latitude: 41.15, longitude: -8.61, current: { temperature_2m: 21.5, wind_speed_10m: 12 } })
    expect(q.status.response.content).toBe(`Lisbon and Porto: ${porto} / earlier alerts answered`)
    expect(q.status.tokenUsage).toEqual({ promptTokens: 240, completionTokens: 33, totalTokens: 273 })

    expect(m.calls).toHaveLength(3)
    const first = m.calls[0]!
    expect(first.headers.authorization).toBe("Bearer sk-secret-test-key")
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
    expect(JSON.stringify(q)).not.toContain("sk-secret-test-key")
    expect(server.output()).not.toContain("sk-secret-test-key")
  })

  it("runs an Agent used as a tool by another agent, summing the usage of both", async () => {
    const m = await model("openai", (call) => {
      const messages = openAiMessages(call)
      const system = String(messages[0]?.content)
      if (system.startsWith("You plan")) {
        const results = toolResults(call)
        if (!results.has("ask-forecaster")) return { toolCalls: [{ name: "ask-forecaster", arguments: { input: "Tomorrow in Oslo?" } }], usage: { input: 10, output: 2 } }
        return { text: `Plan: ${results.get("ask-forecaster")}`, usage: { input: 20, output: 3 } }
      }
      return { text: `forecaster heard "${messages[messages.length - 1]!.content}": snow`, usage: { input: 5, output: 1 } }
    })
    await apply("e2", [
      openAiModel(m),
      agent("forecaster", { prompt: "You forecast." }),
      tool("ask-forecaster", { type: "agent", description: "Asks the forecaster", agent: { name: "forecaster" } }),
      agent("planner", { prompt: "You plan trips.", tools: [{ type: "agent", name: "ask-forecaster" }] }),
      query("trip", { input: "Plan Oslo", target: { type: "agent", name: "planner" } })
    ])
    const q = await finished("e2", "trip")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe(`Plan: forecaster heard "Tomorrow in Oslo?": snow`)
    expect(q.status.tokenUsage).toEqual({ promptTokens: 35, completionTokens: 6, totalTokens: 41 })
    expect(m.calls).toHaveLength(3)
  })

  it("ends a model that keeps calling tools after maxTurns model calls, with a clear error", async () => {
    const m = await model("openai", () => ({ toolCalls: [{ name: "noop", arguments: { message: "again" } }] }))
    await apply("e3", [
      openAiModel(m),
      agent("looper", { prompt: "Loop.", tools: [{ type: "builtin", name: "noop" }] }),
      query("loop", { input: "go", target: { type: "agent", name: "looper" } })
    ])
    const q = await finished("e3", "loop")
    expect(q.status.phase).toBe("error")
    expect(completed(q)).toBe("max-turns: agent e3/looper was still calling tools after 3 model calls (the engine's maxTurns, ARK_ENGINE_MAX_TURNS)")
    expect(m.calls).toHaveLength(3)
    // noop answered each call with its arguments.
    expect(toolResults(m.calls[1]!).get("noop")).toBe(JSON.stringify({ message: "again" }))
  })

  it("ends a Query in error naming the Secret its Model's key is read from, when that Secret is missing", async () => {
    const m = await model("openai", () => ({ text: "never" }))
    await apply("e4", [
      openAiModel(m, "default", { valueFrom: { secretKeyRef: { name: "openai-credentials", key: "token" } } }),
      agent("helper", { prompt: "Help." }),
      query("ask", { input: "hi", target: { type: "agent", name: "helper" } })
    ])
    const q = await finished("e4", "ask")
    expect(q.status.phase).toBe("error")
    expect(completed(q)).toBe("invalid-config: secret e4/openai-credentials not found: spec.config.openai.apiKey of model e4/default reads key token of it")
    expect(m.calls).toHaveLength(0)
  })

  it("retries a provider's 500 and then reports the provider's error", async () => {
    const m = await model("openai", () => ({ status: 500, message: "the model server is on fire" }))
    await apply("e5", [
      openAiModel(m),
      agent("helper", { prompt: "Help." }),
      query("ask", { input: "hi", target: { type: "agent", name: "helper" } })
    ])
    const q = await finished("e5", "ask")
    expect(q.status.phase).toBe("error")
    // ARK_ENGINE_MODEL_RETRIES=2: three attempts, then the provider's own text.
    expect(m.calls).toHaveLength(3)
    expect(completed(q)).toBe("provider-error: model e5/default (openai): 500 the model server is on fire (after 3 attempts)")
    expect(q.status.error).toBe("provider-error: model e5/default (openai): 500 the model server is on fire (after 3 attempts)")
  })

  it.each([
    ["abandons a model call that does not answer within ARK_ENGINE_MODEL_TIMEOUT and tries again", "e5t", { text: "too late", delayMs: 60_000 }],
    ["retries a 429 with Retry-After and then answers", "e6", { status: 429, message: "slow down", retryAfter: "1" }]
  ] as const)("%s", async (_, namespace, first) => {
    const m = await model("openai", (_, n) => n === 1 ? first : { text: "answered" })
    await apply(namespace, [
      openAiModel(m),
      agent("helper", { prompt: "Help." }),
      query("ask", { input: "hi", target: { type: "agent", name: "helper" } })
    ])
    const q = await finished(namespace, "ask")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe("answered")
    expect(m.calls).toHaveLength(2)
  })

  it("gives the model a failing tool's error as its result, over MCP's SSE transport too, with partial arguments fixed", async () => {
    const m = await model("openai", (call, n) => {
      if (n === 1) {
        return {
          toolCalls: [
            { name: "broken-weather", arguments: {} },
            { name: "feed", arguments: {} },
            { name: "alerts", arguments: {} }
          ]
        }
      }
      const r = toolResults(call)
      return { text: [r.get("broken-weather"), r.get("feed"), r.get("alerts")].join(" | ") }
    })
    await apply("e7", [
      openAiModel(m),
      tool("broken-weather", { type: "http", http: { url: `${weather.url}/broken` } }),
      { apiVersion: v1alpha1, kind: "MCPServer", metadata: { name: "alerts-sse" }, spec: { address: { value: `${mcp.url}/sse` }, transport: "sse" } },
      tool("feed", { type: "mcp", mcp: { mcpServerRef: { name: "alerts-sse" }, toolName: "fail" } }),
      tool("region-alerts", { type: "mcp", mcp: { mcpServerRef: { name: "alerts-sse" }, toolName: "get_alerts" } }),
      agent("reporter", {
        prompt: "Report.",
        tools: [
          { type: "http", name: "broken-weather" },
          { type: "mcp", name: "feed" },
          { type: "mcp", name: "region-alerts", partial: { name: "alerts", parameters: [{ name: "region", value: "Bergen" }] } }
        ]
      }),
      query("ask", { input: "report", target: { type: "agent", name: "reporter" } })
    ])
    const q = await finished("e7", "ask")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe([
      `Error: HTTP error 500 Internal Server Error (URL: ${weather.url}/broken): weather service down`,
      "Error: MCP tool fail of e7/alerts-sse failed: the alert feed is unavailable",
      "No alerts for Bergen; wind advisory lifted."
    ].join(" | "))
    // The fixed argument is hidden from the model's schema.
    const alerts = (m.calls[0]!.body["tools"] as ReadonlyArray<{ function: { name: string; parameters: { properties: object; required: unknown } } }>)
      .find((t) => t.function.name === "alerts")!
    expect(alerts.function.parameters).toEqual({ type: "object", properties: {}, required: [] })
  })

  it("answers through the Anthropic Messages API and Bedrock ConverseStream with their SDKs, tool calls included", async () => {
    for (const wire of ["anthropic", "bedrock"] as const) {
      const m = await model(wire, (call, n) => {
        if (n === 1) return { toolCalls: [{ id: `tu-${wire}`, name: "noop", arguments: { message: wire } }], usage: { input: 11, output: 2 } }
        return { text: `${wire} saw ${JSON.stringify(call.body["messages"])}`, usage: { input: 13, output: 4 } }
      })
      const config = wire === "anthropic"
        ? { anthropic: { baseUrl: { value: m.url }, apiKey: { value: "anthropic-test-key" }, version: { value: "2023-06-01" } } }
        : { bedrock: { baseUrl: { value: m.url }, region: { value: "eu-west-1" }, accessKeyId: { value: "AKIDTEST" }, secretAccessKey: { value: "bedrock-secret-key" }, maxTokens: 256 } }
      await apply(`e8-${wire}`, [
        { apiVersion: v1alpha1, kind: "Model", metadata: { name: "default" }, spec: { provider: wire, model: { value: `${wire}-model` }, config } },
        agent("helper", { prompt: "Be helpful.", tools: [{ type: "builtin", name: "noop" }] }),
        query("ask", { input: "hello", target: { type: "agent", name: "helper" } })
      ])
      const q = await finished(`e8-${wire}`, "ask")
      expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
      expect(q.status.tokenUsage).toEqual({ promptTokens: 24, completionTokens: 6, totalTokens: 30 })
      expect(m.calls).toHaveLength(2)
      expect(m.calls.map((c) => c.streams)).toEqual([true, true])
      const second = m.calls[1]!.body
      if (wire === "anthropic") {
        expect(m.calls[0]!.headers["x-api-key"]).toBe("anthropic-test-key")
        expect(second["system"]).toBe("Be helpful.")
        expect(second["messages"]).toEqual([
          { role: "user", content: "hello" },
          { role: "assistant", content: [{ type: "tool_use", id: "tu-anthropic", name: "noop", input: { message: "anthropic" } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "tu-anthropic", content: JSON.stringify({ message: "anthropic" }) }] }
        ])
      } else {
        // The workers follow the Query's answer, so its agent's calls stream (ConverseStream).
        expect(m.calls[0]!.path).toBe("/model/bedrock-model/converse-stream")
        expect(String(m.calls[0]!.headers.authorization)).toContain("Credential=AKIDTEST/")
        expect(second["system"]).toEqual([{ text: "Be helpful." }])
        expect(second["messages"]).toEqual([
          { role: "user", content: [{ text: "hello" }] },
          { role: "assistant", content: [{ toolUse: { toolUseId: "tu-bedrock", name: "noop", input: { message: "bedrock" } } }] },
          { role: "user", content: [{ toolResult: { toolUseId: "tu-bedrock", content: [{ text: JSON.stringify({ message: "bedrock" }) }] } }] }
        ])
      }
      expect(q.status.response.content).toBe(`${wire} saw ${JSON.stringify(second["messages"])}`)
      expect(JSON.stringify(q)).not.toMatch(/anthropic-test-key|bedrock-secret-key/)
    }
  })

  it("answers a Query that targets a Model directly", async () => {
    const m = await model("openai", (call) => ({ text: `echo: ${openAiMessages(call).map((x) => x.content).join(",")}` }))
    await apply("e9", [openAiModel(m, "plain"), query("ask", { input: "just the model", target: { type: "model", name: "plain" } })])
    const q = await finished("e9", "ask")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe("echo: just the model")
  })

  it("sends an Agent's outputSchema as a JSON-schema response format, to an Azure OpenAI deployment with api-key and api-version", async () => {
    const m = await model("openai", () => ({ text: JSON.stringify({ city: "Lisbon", celsius: 21 }) }))
    const schema = { type: "object", properties: { city: { type: "string" }, celsius: { type: "number" } }, required: ["city", "celsius"] }
    await apply("e10", [
      {
        apiVersion: v1alpha1,
        kind: "Model",
        metadata: { name: "default" },
        spec: { provider: "azure", model: { value: "gpt-4o-deployment" }, config: { azure: { baseUrl: { value: m.url }, apiVersion: { value: "2024-10-21" }, auth: { apiKey: { value: "azure-test-key" } }, properties: { temperature: { value: "0.2" }, max_tokens: { value: "300" } } } } }
      },
      agent("structured", { prompt: "Answer in JSON.", outputSchema: schema }),
      query("ask", { input: "Lisbon?", target: { type: "agent", name: "structured" } })
    ])
    const q = await finished("e10", "ask")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(JSON.parse(q.status.response.content)).toEqual({ city: "Lisbon", celsius: 21 })
    const call = m.calls[0]!
    expect(call.path).toBe("/openai/deployments/gpt-4o-deployment/chat/completions")
    expect(call.search.get("api-version")).toBe("2024-10-21")
    expect(call.headers["api-key"]).toBe("azure-test-key")
    expect(call.body["temperature"]).toBe(0.2)
    expect(call.body["max_tokens"]).toBe(300)
    expect(call.body["response_format"]).toEqual({ type: "json_schema", json_schema: { name: "namespace-e10-agent-structured", schema } })
  })

  it("posts an HTTP tool's templated body with headers from a Secret, and cuts a huge answer", async () => {
    const m = await model("openai", (call, n) =>
      n === 1
        ? { toolCalls: [{ name: "report", arguments: { city: "Faro" } }] }
        : { text: `got ${toolResults(call).get("report")!.length} characters` })
    const secret = await client.k(["create", "secret", "generic", "weather-token", "-n", "e11", "--from-literal=token=tok-123", "--from-literal=account=acct-9"])
    expect(secret.code, secret.stderr).toBe(0)
    await apply("e11", [
      openAiModel(m),
      tool("report", {
        type: "http",
        inputSchema: { type: "object", properties: { city: { type: "string" } } },
        http: {
          method: "POST",
          url: `${weather.url}/huge`,
          headers: [{ name: "X-Token", value: { valueFrom: { secretKeyRef: { name: "weather-token", key: "token" } } } }],
          body: `{"city": "{{ .city }}", "account": "{{ .account }}"}`,
          bodyParameters: [{ name: "account", valueFrom: { secretKeyRef: { name: "weather-token", key: "account" } } }]
        }
      }),
      agent("poster", { prompt: "Post.", tools: [{ type: "http", name: "report" }] }),
      query("ask", { input: "report Faro", target: { type: "agent", name: "poster" } })
    ])
    const q = await finished("e11", "ask")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    const posted = weather.calls.find((c) => c.url === "/huge" && c.method === "POST")!
    expect(posted.headers["x-token"]).toBe("tok-123")
    expect(JSON.parse(posted.body)).toEqual({ city: "Faro", account: "acct-9" })
    const suffix = "\n[response cut at 1048576 bytes]"
    expect(q.status.response.content).toBe(`got ${1024 * 1024 + suffix.length} characters`)
  })

  it("sends an MCPServer's OAuth token and reuses its tool list across Queries", async () => {
    const m = await model("openai", (call, n) => n % 2 === 1 ? { toolCalls: [{ name: "alerts", arguments: { region: "Evora" } }] } : { text: toolResults(call).get("alerts")! })
    const token = await client.k(["create", "secret", "generic", "mcp-oauth", "-n", "e12", "--from-literal=access_token=oauth-abc"])
    expect(token.code, token.stderr).toBe(0)
    await apply("e12", [
      openAiModel(m),
      { apiVersion: v1alpha1, kind: "MCPServer", metadata: { name: "secured" }, spec: { address: { value: `${mcp.url}/mcp` }, authorization: { tokenSecretRef: { name: "mcp-oauth" } } } },
      tool("alerts", { type: "mcp", mcp: { mcpServerRef: { name: "secured" }, toolName: "get_alerts" } }),
      agent("watcher", { prompt: "Watch.", tools: [{ type: "mcp", name: "alerts" }] }),
      query("first", { input: "alerts?", target: { type: "agent", name: "watcher" } })
    ])
    expect((await finished("e12", "first")).status.response.content).toBe("No alerts for Evora; wind advisory lifted.")
    const listed = mcp.lists.count
    await apply("e12", [query("second", { input: "alerts again?", target: { type: "agent", name: "watcher" } })])
    expect((await finished("e12", "second")).status.phase).toBe("done")
    expect(mcp.lists.count).toBe(listed)
    expect(mcp.calls.filter((c) => (c.arguments as { region?: string }).region === "Evora").map((c) => c.authorization)).toEqual(["Bearer oauth-abc", "Bearer oauth-abc"])
  })

  it("retries Anthropic's and Bedrock's throttling through their SDKs, then answers", async () => {
    for (const wire of ["anthropic", "bedrock"] as const) {
      const m = await model(wire, (_, n) => n === 1 ? { status: 429, message: "throttled", retryAfter: "0" } : { text: `${wire} after a retry` })
      const config = wire === "anthropic"
        ? { anthropic: { baseUrl: { value: `${m.url}/v1` }, apiKey: { value: "anthropic-test-key" } } }
        : { bedrock: { baseUrl: { value: m.url }, region: { value: "us-east-1" }, accessKeyId: { value: "AKIDTEST" }, secretAccessKey: { value: "bedrock-secret-key" } } }
      await apply(`e13-${wire}`, [
        { apiVersion: v1alpha1, kind: "Model", metadata: { name: "default" }, spec: { provider: wire, model: { value: `${wire}-model` }, config } },
        query("ask", { input: "hello", target: { type: "model", name: "default" } })
      ])
      const q = await finished(`e13-${wire}`, "ask")
      expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
      expect(q.status.response.content).toBe(`${wire} after a retry`)
      expect(m.calls).toHaveLength(2)
    }
  })

  it("runs a Tool as the target with the input as its arguments, and picks a target by spec.selector", async () => {
    const m = await model("openai", (call) => ({ text: `selected, heard ${openAiMessages(call).at(-1)!.content}` }))
    await apply("e14", [
      openAiModel(m),
      tool("forecast", { type: "http", http: { url: `${weather.url}/forecast?latitude={latitude}&longitude={longitude}` } }),
      query("direct", { input: JSON.stringify({ latitude: 1.5, longitude: 2.5 }), target: { type: "tool", name: "forecast" } }),
      { ...agent("labelled", { prompt: "Be picked." }), metadata: { name: "labelled", labels: { role: "picker" } } },
      query("picked", { input: "who answers?", selector: { matchLabels: { role: "picker" } } })
    ])
    const direct = await finished("e14", "direct")
    expect(direct.status.phase, JSON.stringify(direct.status)).toBe("done")
    expect(JSON.parse(direct.status.response.content)).toMatchObject({ latitude: 1.5, longitude: 2.5 })
    const picked = await finished("e14", "picked")
    expect(picked.status.phase, JSON.stringify(picked.status)).toBe("done")
    expect(picked.status.response.content).toBe("selected, heard who answers?")
    expect(picked.status.response.target).toEqual({ type: "agent", name: "labelled" })
  })

  it("gives the model an HTTP tool's timeout as its result", async () => {
    const m = await model("openai", (call, n) => n === 1 ? { toolCalls: [{ name: "slow", arguments: {} }] } : { text: toolResults(call).get("slow")! })
    await apply("e15", [
      openAiModel(m),
      tool("slow", { type: "http", http: { url: `${weather.url}/slow`, timeout: "1s" } }),
      agent("patient", { prompt: "Wait.", tools: [{ type: "http", name: "slow" }] }),
      query("ask", { input: "go", target: { type: "agent", name: "patient" } })
    ])
    const q = await finished("e15", "ask")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe(`Error: GET ${weather.url}/slow did not answer within 1000 ms`)
  })

  it("reports a provider's refusal of the key with the provider's text, the key itself removed", async () => {
    const m = await model("openai", (call) => ({ status: 401, message: `Incorrect API key provided: ${String(call.headers.authorization).replace("Bearer ", "")}` }))
    await apply("e16", [
      openAiModel(m, "default", { value: "sk-leaky-key-0042" }),
      agent("helper", { prompt: "Help." }),
      query("ask", { input: "hi", target: { type: "agent", name: "helper" } })
    ])
    const q = await finished("e16", "ask")
    expect(q.status.phase).toBe("error")
    // A 401 is not retried.
    expect(m.calls).toHaveLength(1)
    expect(completed(q)).toBe("provider-error: model e16/default (openai): 401 Incorrect API key provided: [redacted]")
    expect(server.output()).not.toContain("sk-leaky-key-0042")
  })
})
