import { describe, expect, it } from "vitest"
import { defaultAdmission, jsonPatchBetween, validateAdmission } from "../../src/domain/admission.ts"
import type { KubeObject } from "../../src/domain/object.ts"
import { applyJsonPatch } from "../../src/domain/patch.ts"
import { findKind } from "../../src/domain/registry.ts"

const obj = (kind: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: `ark.mckinsey.com/${findKind(kind)!.version}`,
  kind,
  metadata: { name: "x", namespace: "default", ...metadata },
  spec
})
const check = (kind: string, spec: Record<string, unknown>, metadata?: Record<string, unknown>) =>
  validateAdmission(findKind(kind)!, obj(kind, spec, metadata))
const fields = (kind: string, spec: Record<string, unknown>) => check(kind, spec).causes.map((c) => `${c.reason} ${c.field}`)

describe("Query admission", () => {
  it("needs a target or a selector; both may be given, as upstream (the target is used)", () => {
    expect(fields("Query", { input: "hi" })).toEqual(["FieldValueRequired spec"])
    expect(check("Query", { input: "hi" }).causes[0]!.message).toContain("target or selector must be specified")
    expect(fields("Query", { input: "hi", target: { type: "agent", name: "a" }, selector: { matchLabels: { a: "b" } } })).toEqual([])
    expect(fields("Query", { input: "hi", selector: { matchLabels: { a: "b" } } })).toEqual([])
  })

  it("refuses an empty input: a blank string or no messages", () => {
    const target = { type: "agent", name: "a" }
    for (const input of ["", "  \n", []]) expect(fields("Query", { input, target })).toEqual(["FieldValueRequired spec.input"])
    expect(fields("Query", { input: [{ role: "user", content: "hi" }], target })).toEqual([])
  })

  it("migrates the deprecated messages type to user with the first user text, and warns", () => {
    const info = findKind("Query")!
    const migrated = defaultAdmission(info, obj("Query", {
      type: "messages",
      input: [{ role: "system", content: "be brief" }, { role: "user", content: [{ type: "text", text: "weather " }, { type: "text", text: "in Oslo" }] }],
      target: { type: "agent", name: "a" }
    }))
    expect(migrated.spec).toEqual({ type: "user", input: "weather in Oslo", target: { type: "agent", name: "a" }, ttl: "720h" })
    expect(validateAdmission(info, migrated).warnings).toEqual([
      "spec.type 'messages' is deprecated - migrated to 'user' with extracted text. Use conversationId for multi-turn conversations"
    ])
  })

  it("checks reference names, durations and selectors", () => {
    expect(fields("Query", {
      input: "hi",
      target: { type: "agent", name: "Not_A_Name" },
      timeout: "soon",
      ttl: "-1h",
      memory: { name: "ok" }
    })).toEqual(["FieldValueInvalid spec.target.name", "FieldValueInvalid spec.timeout", "FieldValueInvalid spec.ttl"])
    expect(fields("Query", { input: "hi", target: { type: "agent", name: "a" }, timeout: "0s" })).toEqual(["FieldValueInvalid spec.timeout"])
    expect(fields("Query", { input: "hi", selector: { matchExpressions: [{ key: "k", operator: "Near" }, { key: "k", operator: "In" }] } }))
      .toEqual(["FieldValueNotSupported spec.selector.matchExpressions[0].operator", "FieldValueRequired spec.selector.matchExpressions[1].values"])
  })

  it("checks parameters: value xor valueFrom, one source", () => {
    expect(fields("Query", {
      input: "hi",
      target: { type: "agent", name: "a" },
      parameters: [
        { name: "a", value: "1" },
        { name: "b" },
        { name: "c", value: "1", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
        { name: "d", valueFrom: { secretKeyRef: { name: "s", key: "k" }, configMapKeyRef: { name: "c", key: "k" } } }
      ]
    })).toEqual(["FieldValueRequired spec.parameters[1]", "FieldValueForbidden spec.parameters[2]", "FieldValueInvalid spec.parameters[3].valueFrom"])
  })

  it("defaults the TTL, and only when it is missing", () => {
    const info = findKind("Query")!
    expect(defaultAdmission(info, obj("Query", { input: "hi" })).spec).toEqual({ input: "hi", ttl: "720h" })
    const kept = obj("Query", { input: "hi", ttl: "1h" })
    expect(defaultAdmission(info, kept)).toBe(kept)
  })
})

describe("Team admission", () => {
  it("checks members and strategies as upstream", () => {
    // Member types and strategies are the CRD's enums (as upstream's); admission checks the rest.
    expect(fields("Team", { members: [{ name: "x", type: "team" }, { name: "x", type: "agent" }], strategy: "sequential" }))
      .toEqual(["FieldValueInvalid spec.members[0].name", "FieldValueInvalid spec.members[1].name"])
    expect(fields("Team", { members: [], strategy: "sequential", loops: true })).toEqual(["FieldValueRequired spec.maxTurns"])
    expect(fields("Team", { members: [{ name: "a", type: "agent" }], strategy: "selector", loops: true, graph: { edges: [{ from: "a", to: "b" }] } }))
      .toEqual(["FieldValueForbidden spec.loops", "FieldValueRequired spec.selector.agent", "FieldValueRequired spec.maxTurns", "FieldValueInvalid spec.graph.edges[0].to"])
    expect(check("Team", { members: [{ name: "a", type: "agent" }], strategy: "selector", loops: true }).causes.map((c) => c.message)).toEqual([
      "Forbidden: loops can only be used with the 'sequential' strategy",
      "Required value: selector strategy requires selector.agent to be specified",
      "Required value: selector strategy requires maxTurns to prevent infinite execution"
    ])
    expect(check("Team", { members: [], strategy: "sequential", maxTurns: 3 }).causes).toEqual([
      { reason: "FieldValueForbidden", field: "spec.maxTurns", message: "Forbidden: maxTurns can only be set when loops is enabled" }
    ])
  })

  it("holds a selector's graph to upstream's rules: at least one edge, and edges between members", () => {
    const members = [{ name: "a", type: "agent" }, { name: "b", type: "agent" }]
    const selector = { strategy: "selector", maxTurns: 5, selector: { agent: "boss" }, members }
    expect(fields("Team", { ...selector, graph: { edges: [{ from: "a", to: "b" }, { from: "b", to: "a" }] } })).toEqual([])
    expect(fields("Team", { ...selector, graph: { edges: [] } })).toEqual(["FieldValueRequired spec.graph.edges"])
    const stray = check("Team", { ...selector, graph: { edges: [{ from: "c", to: "a" }] } }).causes
    expect(stray.map((c) => c.message)).toEqual(["Invalid value: \"c\": graph edge 0: 'from' member 'c' not found in team members"])
  })

  it("accepts the deprecated graph strategy by migrating it to sequential, as upstream, with a warning", () => {
    const info = findKind("Team")!
    const members = [{ name: "a", type: "agent" }, { name: "b", type: "agent" }]
    const migrated = defaultAdmission(info, obj("Team", { strategy: "graph", maxTurns: 5, members, graph: { edges: [{ from: "a", to: "b" }] } }))
    expect(migrated.spec).toEqual({ strategy: "sequential", loops: false, members })
    expect(validateAdmission(info, migrated)).toEqual({
      causes: [],
      warnings: ["strategy 'graph' is deprecated - migrated to 'sequential'. Graph edges have been discarded. Will be removed in v1.0.0"]
    })
  })

  it("flags a custom selector prompt that does not name the select-next-speaker tool", () => {
    const info = findKind("Team")!
    const team = (selectorPrompt: string) =>
      obj("Team", { strategy: "selector", maxTurns: 3, members: [{ name: "a", type: "agent" }], selector: { agent: "boss", selectorPrompt } })
    expect(validateAdmission(info, defaultAdmission(info, team("Pick someone."))).warnings[0]).toContain("select-next-speaker")
    const fine = team("Use the select-next-speaker tool.")
    expect(defaultAdmission(info, fine)).toBe(fine)
  })

  it("migrates round-robin to sequential with a migration warning that validation reports", () => {
    const info = findKind("Team")!
    const migrated = defaultAdmission(info, obj("Team", { members: [], strategy: "round-robin", maxTurns: 4 }))
    expect(migrated.spec).toEqual({ members: [], strategy: "sequential", loops: true, maxTurns: 4 })
    expect(validateAdmission(info, migrated)).toEqual({
      causes: [],
      warnings: ["strategy 'round-robin' is deprecated - migrated to 'sequential' with loops: true. Will be removed in v1.0.0"]
    })
  })
})

describe("Agent and Model admission", () => {
  it("defaults an Agent's model unless it is an A2A agent, and warns about custom tools", () => {
    const info = findKind("Agent")!
    expect(defaultAdmission(info, obj("Agent", { prompt: "p" })).spec).toEqual({ prompt: "p", modelRef: { name: "default" } })
    const a2a = obj("Agent", {}, { annotations: { "ark.mckinsey.com/a2a-server-name": "s" } })
    expect(defaultAdmission(info, a2a)).toBe(a2a)
    const custom = check("Agent", { tools: [{ type: "custom", name: "t" }, { type: "built-in", name: "rm-rf" }, { type: "mcp" }] })
    expect(custom.causes.map((c) => c.field)).toEqual(["spec.tools[1].name", "spec.tools[2].name"])
    expect(custom.warnings).toEqual(["agent 'x' tool 't': type 'custom' is deprecated, use the tool's actual type (mcp, http, agent, team, builtin) instead"])
  })

  it("warns, as upstream, that a named execution engine receives only the agent's mcp tools", () => {
    const tools = [{ type: "mcp", name: "github" }, { type: "http", name: "weather" }, { type: "agent", name: "helper" }, { type: "built-in", name: "noop" }]
    expect(check("Agent", { executionEngine: { name: "langgraph" }, tools }).warnings).toEqual([
      "agent 'x': execution engine 'langgraph' receives only mcp tools; these tools will not be available to the agent: weather (http), helper (agent)"
    ])
    // The reserved a2a engine, and no engine, get all tools.
    expect(check("Agent", { executionEngine: { name: "a2a" }, tools }).warnings).toEqual([])
    expect(check("Agent", { tools }).warnings).toEqual([])
  })

  it("moves a deprecated provider type to spec.provider and needs the provider's config", () => {
    const info = findKind("Model")!
    const migrated = defaultAdmission(info, obj("Model", { type: "azure", model: { value: "gpt" }, config: {} }))
    expect(migrated.spec).toMatchObject({ provider: "azure", type: "completions" })
    expect(validateAdmission(info, migrated).causes.map((c) => c.field)).toEqual(["spec.config.azure"])
  })
})

describe("Tool admission", () => {
  const http = { type: "http", http: { url: "https://example.com/x" } }

  it("reads inputSchema as a JSON Schema: known types, properties of schemas, items, required names", () => {
    expect(fields("Tool", { ...http, inputSchema: { type: "object", properties: { city: { type: "string" }, tags: { type: "array", items: { type: "string" } } }, required: ["city"] } })).toEqual([])
    expect(fields("Tool", { ...http, inputSchema: { type: ["string", "null"] } })).toEqual([])
    expect(fields("Tool", { ...http, inputSchema: { type: "invalid-type", properties: { u: { type: "uri" }, n: { type: "array", items: { type: "date" } } }, required: [1] } }))
      .toEqual([
        "FieldValueInvalid spec.inputSchema.type",
        "FieldValueInvalid spec.inputSchema.properties.u.type",
        "FieldValueInvalid spec.inputSchema.properties.n.items.type",
        "FieldValueInvalid spec.inputSchema.required"
      ])
    expect(check("Tool", { ...http, inputSchema: { type: "invalid-type" } }).causes[0]!.message).toContain("invalid schema type 'invalid-type'")
    // Upstream requires no inputSchema (its own builtin tools have none).
    expect(fields("Tool", http)).toEqual([])
  })

  it("needs the section its type names, a parseable URL, and a builtin named noop or terminate", () => {
    expect(fields("Tool", { type: "http" })).toEqual(["FieldValueRequired spec.http"])
    expect(fields("Tool", { type: "mcp" })).toEqual(["FieldValueRequired spec.mcp"])
    expect(fields("Tool", { type: "agent" })).toEqual(["FieldValueRequired spec.agent"])
    expect(fields("Tool", { type: "http", http: { url: "https://exa mple.com:99999" } })).toEqual(["FieldValueInvalid spec.http.url"])
    expect(check("Tool", { type: "builtin" }, { name: "terminate" }).causes).toEqual([])
    expect(check("Tool", { type: "builtin" }, { name: "rm-rf" }).causes.map((c) => c.field)).toEqual(["metadata.name"])
    expect(check("Tool", { type: "builtin", builtin: { name: "noop" } }, { name: "delete-database" }).causes).toEqual([])
    expect(check("Tool", { type: "builtin", builtin: { name: "rm" } }, { name: "delete-database" }).causes.map((c) => c.field)).toEqual(["spec.builtin.name"])
    expect(fields("Tool", { ...http, approval: { required: true, timeout: "0s" } })).toEqual(["FieldValueInvalid spec.approval.timeout"])
  })

  it("holds inline tools to upstream's rules", () => {
    const inline = (source: string, more: Record<string, unknown> = {}) => ({ type: "inline", inline: { source, language: "bash" }, ...more })
    expect(fields("Tool", inline("echo hi"))).toEqual([])
    expect(fields("Tool", inline("echo hi", { inputSchema: { type: "object" } }))).toEqual([])
    expect(fields("Tool", { type: "inline" })).toEqual(["FieldValueRequired spec.inline"])
    expect(fields("Tool", inline(" \n\t"))).toEqual(["FieldValueRequired spec.inline.source"])
    expect(fields("Tool", inline("a".repeat(65536)))).toEqual([])
    // The limit is in UTF-8 bytes: fewer characters than the limit, more bytes.
    expect(fields("Tool", inline("é".repeat(32769)))).toEqual(["FieldValueTooLong spec.inline.source"])
    expect(fields("Tool", inline("x", { inputSchema: { type: "array" } }))).toEqual(["FieldValueInvalid spec.inputSchema.type"])
    expect(fields("Tool", inline("x", { http: { url: "https://example.com" } }))).toEqual(["FieldValueForbidden spec.http"])
    expect(fields("Tool", { ...http, inline: { source: "x", language: "bash" } })).toEqual(["FieldValueForbidden spec.inline"])
  })
})

describe("MCPServer, A2AServer, ExecutionEngine and ArkConfig admission", () => {
  it("needs an address that is a value or one source, and sound headers", () => {
    expect(fields("MCPServer", { address: {}, headers: [{ name: "A", value: { value: "x", valueFrom: { secretKeyRef: { name: "s", key: "k" } } } }] }))
      .toEqual(["FieldValueRequired spec.address", "FieldValueForbidden spec.headers[0].value"])
    expect(fields("MCPServer", { address: { value: "http://mcp" }, headers: [{ name: "A", value: { valueFrom: { serviceRef: { name: "svc" } } } }] }))
      .toEqual(["FieldValueInvalid spec.headers[0].value.valueFrom"])
    expect(fields("ExecutionEngine", { type: "langgraph" })).toEqual([])
    expect(fields("ExecutionEngine", { address: { value: "http://engine" } })).toEqual([])
    expect(fields("ExecutionEngine", { description: "neither" })).toEqual(["FieldValueRequired spec.address"])
    expect(fields("ExecutionEngine", { type: "langgraph", address: {} })).toEqual(["FieldValueRequired spec.address"])
  })

  it("refuses an A2AServer header name given twice", () => {
    const header = { name: "Authorization", value: { value: "Bearer x" } }
    expect(fields("A2AServer", { address: { value: "http://a2a" }, headers: [header, header] })).toEqual(["FieldValueDuplicate spec.headers[1].name"])
  })

  it("needs the ArkConfig singleton to be named default, with positive TTLs", () => {
    expect(check("ArkConfig", { queryTTL: "24h", evaluationTTL: "1h" }, { name: "default", namespace: undefined }).causes).toEqual([])
    expect(check("ArkConfig", { queryTTL: "0s", evaluationTTL: "-1h" }, { name: "cluster" }).causes.map((c) => c.field))
      .toEqual(["metadata.name", "spec.queryTTL", "spec.evaluationTTL"])
    expect(check("ArkConfig", { defaultMemory: { name: "chat" } }, { name: "default" }).causes).toEqual([])
    expect(check("ArkConfig", { defaultMemory: { name: "chat", namespace: "shared" } }, { name: "default" }).causes.map((c) => c.field))
      .toEqual(["spec.defaultMemory.namespace"])
  })
})

describe("Evaluation and Evaluator admission", () => {
  it("holds each evaluation type to upstream's config rules", () => {
    const evaluator = { name: "judge" }
    expect(fields("Evaluation", { type: "direct", evaluator, config: { input: "2+2?", output: "4" } })).toEqual([])
    expect(fields("Evaluation", { type: "direct", evaluator, config: { input: "2+2?", queryRef: { name: "q" } } }))
      .toEqual(["FieldValueRequired spec.config.output", "FieldValueForbidden spec.config.queryRef"])
    expect(fields("Evaluation", { type: "query", evaluator, config: { output: "4" } }))
      .toEqual(["FieldValueRequired spec.config.queryRef", "FieldValueForbidden spec.config.output"])
    expect(fields("Evaluation", { type: "batch", config: { evaluations: [] } })).toEqual(["FieldValueRequired spec.config.evaluations"])
    expect(fields("Evaluation", { type: "event", evaluator, config: {} })).toEqual(["FieldValueRequired spec.config.rules"])
    expect(fields("Evaluation", { type: "baseline", evaluator, config: {} })).toEqual([])
    expect(fields("Evaluation", { type: "direct", evaluator: { name: "judge", parameters: [{ name: "scope" }] }, config: { input: "a", output: "b" } }))
      .toEqual(["FieldValueRequired spec.evaluator.parameters[0].value"])
  })

  it("needs an Evaluator address that is a value or one source", () => {
    expect(fields("Evaluator", { address: { value: "http://evaluator" } })).toEqual([])
    expect(fields("Evaluator", { address: {} })).toEqual(["FieldValueRequired spec.address"])
  })
})

describe("jsonPatchBetween", () => {
  it("is the patch that turns one object into the other", () => {
    const before = { metadata: { name: "a", "x/y": "1" }, spec: { a: 1, gone: true, list: [1] } }
    const after = { metadata: { name: "a", "x/y": "2", annotations: { k: "v" } }, spec: { a: 1, list: [1, 2] } }
    const patch = jsonPatchBetween(before, after)
    expect(patch).toEqual([
      { op: "replace", path: "/metadata/x~1y", value: "2" },
      { op: "add", path: "/metadata/annotations", value: { k: "v" } },
      { op: "remove", path: "/spec/gone" },
      { op: "replace", path: "/spec/list", value: [1, 2] }
    ])
    const applied = applyJsonPatch(before as unknown as KubeObject, patch)
    expect(applied._tag === "Success" ? applied.success : applied).toEqual(after)
    expect(jsonPatchBetween(after, after)).toEqual([])
  })
})
