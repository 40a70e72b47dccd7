import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { parseAllDocuments } from "yaml"
import { openApiSchema, unknownFieldMessage, validateObject } from "../../src/domain/kinds.ts"
import { approvalRequiredPhase, isSettledQuery, releasedApprovalPhase } from "../../src/domain/kinds/query.ts"
import type { Structural } from "../../src/domain/kinds/structural.ts"
import type { KubeObject } from "../../src/domain/object.ts"
import {
  findByKind,
  findResource,
  resolveResource,
  type ResourceInfo,
  resources,
  storageKey,
  versions
} from "../../src/domain/registry.ts"

const info = (kind: string): ResourceInfo => {
  const found = resources.find((r) => r.kind === kind)
  assert.isDefined(found, kind)
  return found!
}

const object = (kind: string, spec: unknown, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: `ark.mckinsey.com/${info(kind).version}`,
  kind,
  metadata: { name: "sample", namespace: "default" },
  spec,
  ...extra
})

const validate = (kind: string, spec: unknown, extra?: Record<string, unknown>) =>
  validateObject(info(kind), object(kind, spec, extra))

/** Walks an OpenAPI schema down `properties`/`items` along a dotted path ("[]" for items). */
const at = (schema: Structural, path: string): Structural =>
  path.split(".").reduce<Structural>((s, key) => {
    const next = key === "[]" ? s.items : s.properties?.[key]
    assert.isDefined(next, `${path}: ${key}`)
    return next!
  }, schema)

const valid: ReadonlyArray<readonly [kind: string, spec: unknown]> = [
  ["Agent", {
    modelRef: { name: "default" },
    prompt: "You are a helpful assistant.",
    tools: [{ type: "http", name: "get-coordinates" }, { type: "built-in", name: "terminate" }]
  }],
  ["Query", { input: "What is 2+2?", target: { type: "agent", name: "math" } }],
  ["Model", {
    provider: "azure",
    model: { value: "gpt-4.1-mini" },
    config: {
      azure: {
        baseUrl: { value: "https://example.openai.azure.com" },
        apiKey: { valueFrom: { secretKeyRef: { name: "default-model-token", key: "token" } } },
        apiVersion: { value: "2024-12-01-preview" }
      }
    }
  }],
  ["Team", {
    strategy: "selector",
    maxTurns: 10,
    members: [{ name: "researcher", type: "agent" }, { name: "writer", type: "agent" }],
    selector: { agent: "project-manager", selectorPrompt: "Pick the next speaker." }
  }],
  ["Tool", {
    type: "http",
    description: "Returns coordinates for the given city name",
    inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    http: { url: "https://geocoding-api.open-meteo.com/v1/search?name={city}&count=1" }
  }],
  ["MCPServer", { address: { valueFrom: { serviceRef: { name: "github-mcp", path: "/mcp" } } } }],
  ["A2AServer", { address: { value: "http://a2a.default.svc:8080" } }],
  ["ExecutionEngine", { type: "langchain", address: { valueFrom: { serviceRef: { name: "langchain-engine", port: "http" } } } }],
  ["Memory", { address: { valueFrom: { serviceRef: { name: "ark-broker" } } } }],
  ["A2ATask", { taskId: "t-1", a2aServerRef: { name: "remote-server" }, agentRef: { name: "remote" }, queryRef: { name: "q-1" } }],
  ["ArkConfig", { queryTTL: "24h", evaluationTTL: "48h" }],
  ["Evaluator", { address: { valueFrom: { serviceRef: { name: "ark-evaluator", port: "http" } } }, selector: { resourceType: "Query", matchLabels: { evaluate: "true" } } }],
  ["Evaluation", { type: "direct", evaluator: { name: "ark-evaluator" }, config: { input: "What is 2+2?", output: "4" } }],
  ["ExecutionProfile", { workspace: { type: "git", git: { defaultBranch: "main" } }, critic: { enabled: true, mode: "inline", inline: { prompt: "Check the diff." } }, preExecute: [{ name: "clone", action: "git_clone", params: { depth: "1" } }] }],
  ["ToolApprovalRequest", {
    queryRef: { name: "q-1", namespace: "default" },
    executionContext: { agentName: "ops", agentNamespace: "default", conversationHistory: "W10=", pendingToolCallIndex: 0 },
    toolCalls: [{ id: "call-1", name: "delete-file", type: "mcp", arguments: "{\"path\":\"/tmp/x\"}" }],
    approvers: [{ group: "sre" }]
  }],
  ["ToolInteraction", {
    type: "selection",
    queryRef: { name: "q-1", namespace: "default" },
    executionContext: { agentName: "ops", agentNamespace: "default", conversationHistory: "W10=", pendingToolCallIndex: 0 },
    toolCalls: [{ id: "call-1", name: "pick-region", type: "http", arguments: "{}" }],
    selection: { prompt: "Which region?", options: [{ label: "EU", value: "eu-west-1" }] }
  }],
  ["Workspace", { content: { git: { url: "https://github.com/example/repo.git" } }, storage: { size: "1Gi" } }]
]

describe("validateObject", () => {
  it("accepts upstream-style objects of every kind, and the Effect schemas agree", () => {
    assert.deepStrictEqual(new Set(valid.map(([kind]) => kind)), new Set(resources.map((r) => r.kind)))
    for (const [kind, spec] of valid) {
      const result = validate(kind, spec)
      assert.deepStrictEqual(result.causes, [], kind)
      assert.deepStrictEqual(result.unknownFields, [], kind)
      Schema.decodeUnknownSync(info(kind).spec!)(result.pruned.spec)
    }
  })

  it("applies defaults where upstream declares them, so defaulted required fields may be omitted", () => {
    const query = validate("Query", { input: "hi" }).pruned.spec
    assert.deepStrictEqual(query, { input: "hi", timeout: "30m", type: "user" })
    const mcp = validate("MCPServer", {
      address: { value: "http://mcp" },
      authorization: { tokenSecretRef: { name: "oauth" } }
    })
    assert.deepStrictEqual(mcp.causes, [])
    assert.deepStrictEqual(mcp.pruned.spec, {
      address: { value: "http://mcp" },
      authorization: {
        tokenSecretRef: {
          name: "oauth",
          accessTokenKey: "access_token",
          clientIDKey: "client_id",
          clientSecretKey: "client_secret",
          expiresAtKey: "expires_at",
          refreshTokenKey: "refresh_token"
        }
      },
      pollInterval: "1m",
      timeout: "30s",
      transport: "http"
    })
    // Defaults apply inside objects that exist; kube never creates the parent.
    const status = validate("Query", { input: "hi" }, { status: {} }).pruned.status
    assert.deepStrictEqual(status, { phase: "pending" })
  })

  it("reports a bad enum value as FieldValueNotSupported with kube's message", () => {
    const result = validate("Query", { input: "hi", target: { type: "robot", name: "x" } })
    assert.deepStrictEqual(result.causes, [{
      reason: "FieldValueNotSupported",
      field: "spec.target.type",
      message: "Unsupported value: \"robot\": supported values: \"agent\", \"team\", \"model\", \"tool\""
    }])
  })

  it("reports missing required fields, with array indexes in the path", () => {
    const result = validate("Agent", { tools: [{ type: "mcp" }, { name: "x" }] })
    assert.deepStrictEqual(result.causes, [
      { reason: "FieldValueRequired", field: "spec.tools[1].type", message: "Required value" }
    ])
    assert.deepStrictEqual(validate("Query", { target: { type: "agent", name: "a" } }).causes, [
      { reason: "FieldValueRequired", field: "spec.input", message: "Required value" }
    ])
  })

  it("reports type, pattern, length and range violations as kube-openapi words them", () => {
    assert.deepStrictEqual(validate("Team", { members: [], strategy: "sequential", maxTurns: "ten" }).causes, [{
      reason: "FieldValueTypeInvalid",
      field: "spec.maxTurns",
      message: "Invalid value: \"string\": spec.maxTurns in body must be of type integer: \"string\""
    }])
    assert.deepStrictEqual(validate("Tool", { type: "http", http: { url: "ftp://example.com" } }).causes, [{
      reason: "FieldValueInvalid",
      field: "spec.http.url",
      message: "Invalid value: \"ftp://example.com\": spec.http.url in body should match '^https?://.*'"
    }])
    assert.deepStrictEqual(validate("Agent", { modelRef: { name: "" } }).causes, [{
      reason: "FieldValueInvalid",
      field: "spec.modelRef.name",
      message: "Invalid value: \"\": spec.modelRef.name in body should be at least 1 chars long"
    }])
    const bedrock = validate("Model", {
      provider: "bedrock",
      model: { value: "anthropic.claude-v2" },
      config: { bedrock: { maxTokens: 0, temperature: "1.5" } }
    })
    assert.deepStrictEqual(bedrock.causes, [
      {
        reason: "FieldValueInvalid",
        field: "spec.config.bedrock.maxTokens",
        message: "Invalid value: 0: spec.config.bedrock.maxTokens in body should be greater than or equal to 1"
      },
      {
        reason: "FieldValueInvalid",
        field: "spec.config.bedrock.temperature",
        message:
          "Invalid value: \"1.5\": spec.config.bedrock.temperature in body should match '^(0(\\.\\d+)?|1(\\.0+)?)$'"
      }
    ])
  })

  it("validates status too (conditions use metav1.Condition's rules)", () => {
    const result = validate("Agent", {}, {
      status: {
        conditions: [{ type: "Available", status: "Maybe", reason: "ok", message: "", lastTransitionTime: "yesterday" }]
      }
    })
    assert.deepStrictEqual(result.causes.map((c) => [c.field, c.reason]).sort(), [
      ["status.conditions[0].lastTransitionTime", "FieldValueTypeInvalid"],
      ["status.conditions[0].status", "FieldValueNotSupported"]
    ])
  })

  it("lists unknown fields in kube's format and prunes them, leaving the input untouched", () => {
    const input = object("Agent", {
      prompt: "hi",
      foo: 1,
      tools: [{ type: "http", name: "t", bar: { deep: true } }]
    }, { extra: "top-level" })
    const snapshot = structuredClone(input)
    const result = validateObject(info("Agent"), input)
    assert.deepStrictEqual(result.unknownFields, ["extra", "spec.foo", "spec.tools[0].bar"])
    assert.deepStrictEqual(result.causes, [])
    assert.deepStrictEqual(result.pruned, {
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Agent",
      metadata: { name: "sample", namespace: "default" },
      spec: { prompt: "hi", tools: [{ type: "http", name: "t" }] }
    })
    assert.deepStrictEqual(input, snapshot)
    assert.strictEqual(unknownFieldMessage(result.unknownFields[1]!), "unknown field \"spec.foo\"")
  })

  it("round-trips anything under x-kubernetes-preserve-unknown-fields", () => {
    const inputSchema = {
      type: "object",
      properties: { city: { type: "string", "x-custom": [1, null, { a: {} }] } },
      additionalProperties: false
    }
    const tool = validate("Tool", { type: "http", http: { url: "https://x.example" }, inputSchema })
    assert.deepStrictEqual(tool.unknownFields, [])
    assert.deepStrictEqual((tool.pruned.spec as { inputSchema: unknown }).inputSchema, inputSchema)

    const messages = [{ role: "user", content: "hello", name: null }, { role: "assistant", content: [{ type: "text" }] }]
    const query = validate("Query", { input: messages })
    assert.deepStrictEqual(query.causes, [])
    assert.deepStrictEqual((query.pruned.spec as { input: unknown }).input, messages)

    const outputSchema = { type: "object", properties: { answer: { type: "string" } } }
    assert.deepStrictEqual(
      (validate("Agent", { outputSchema }).pruned.spec as { outputSchema: unknown }).outputSchema,
      outputSchema
    )
    assert.deepStrictEqual(validate("Agent", { outputSchema: "not an object" }).causes.map((c) => c.field), [
      "spec.outputSchema"
    ])
  })

  it("drops nulls like kube (a null required field is then missing) and passes metadata through", () => {
    const metadata = { name: "n", labels: { a: "b" }, anything: { kept: true } }
    const result = validateObject(info("Team"), {
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Team",
      metadata,
      spec: { description: null, members: [], strategy: null }
    })
    assert.deepStrictEqual(result.pruned.spec, { members: [], loops: false })
    assert.deepStrictEqual(result.causes, [
      { reason: "FieldValueRequired", field: "spec.strategy", message: "Required value" }
    ])
    assert.strictEqual(result.pruned.metadata, metadata)
  })

  it("is idempotent: validating the pruned object changes nothing", () => {
    const first = validate("Agent", { prompt: "hi", junk: true, tools: [{ type: "mcp", name: "x" }] })
    const second = validateObject(info("Agent"), first.pruned)
    assert.deepStrictEqual(second.pruned, first.pruned)
    assert.deepStrictEqual(second.unknownFields, [])
  })
})

describe("registry", () => {
  it("serves upstream's kinds, names, scopes and versions", () => {
    assert.deepStrictEqual(versions, ["v1alpha1", "v1prealpha1"])
    assert.deepStrictEqual(
      resources.map((r) => [r.kind, r.plural, r.version, r.namespaced]),
      [
        ["Agent", "agents", "v1alpha1", true],
        ["Model", "models", "v1alpha1", true],
        ["Query", "queries", "v1alpha1", true],
        ["Team", "teams", "v1alpha1", true],
        ["Tool", "tools", "v1alpha1", true],
        ["Memory", "memories", "v1alpha1", true],
        ["MCPServer", "mcpservers", "v1alpha1", true],
        ["A2ATask", "a2atasks", "v1alpha1", true],
        ["ArkConfig", "arkconfigs", "v1alpha1", false],
        ["A2AServer", "a2aservers", "v1prealpha1", true],
        ["ExecutionEngine", "executionengines", "v1prealpha1", true],
        ["Evaluator", "evaluators", "v1alpha1", true],
        ["Evaluation", "evaluations", "v1alpha1", true],
        ["ExecutionProfile", "executionprofiles", "v1prealpha1", true],
        ["ToolApprovalRequest", "toolapprovalrequests", "v1alpha1", true],
        ["ToolInteraction", "toolinteractions", "v1alpha1", true],
        ["Workspace", "workspaces", "v1alpha1", true]
      ]
    )
    for (const r of resources) {
      assert.strictEqual(r.listKind, `${r.kind}List`)
      assert.strictEqual(r.singular, r.kind.toLowerCase())
      // Upstream declares no categories, and short names for two kinds only.
      assert.deepStrictEqual(r.categories, [])
    }
    assert.deepStrictEqual(
      resources.filter((r) => r.shortNames.length > 0).map((r) => [r.kind, r.shortNames]),
      [["ToolApprovalRequest", ["tar"]], ["ToolInteraction", ["ti"]]]
    )
  })

  it("finds kinds by group/version/plural, by apiVersion/kind and by what a user types", () => {
    assert.strictEqual(findResource("ark.mckinsey.com", "v1alpha1", "queries")?.kind, "Query")
    assert.strictEqual(findResource("ark.mckinsey.com", "v1prealpha1", "a2aservers")?.kind, "A2AServer")
    assert.isUndefined(findResource("ark.mckinsey.com", "v1alpha1", "a2aservers"))
    assert.isUndefined(findResource("apps", "v1alpha1", "queries"))
    assert.strictEqual(findByKind("ark.mckinsey.com/v1alpha1", "Agent")?.plural, "agents")
    assert.isUndefined(findByKind("ark.mckinsey.com/v1prealpha1", "Agent"))
    for (const name of ["queries", "query", "Query", "QUERIES"]) assert.strictEqual(resolveResource(name)?.kind, "Query")
    assert.strictEqual(resolveResource("mcpserver")?.kind, "MCPServer")
    assert.isUndefined(resolveResource("pods"))
  })

  it("keeps upstream's printer columns and one storage key per group and plural", () => {
    assert.deepStrictEqual(info("Query").printerColumns.map((c) => c.name), ["Type", "Phase", "Duration", "Age"])
    assert.deepStrictEqual(info("MCPServer").printerColumns[2], {
      name: "Tools",
      type: "integer",
      jsonPath: ".status.toolCount",
      description: "Number of tools"
    })
    assert.deepStrictEqual(info("Tool").printerColumns, [])
    assert.strictEqual(storageKey(info("Query")), "ark.mckinsey.com/queries")
    assert.strictEqual(new Set(resources.map(storageKey)).size, resources.length)
  })
})

describe("openApiSchema", () => {
  it("gives every kind a structural object schema with apiVersion, kind, metadata, spec and status", () => {
    for (const r of resources) {
      const schema = openApiSchema(r)
      assert.strictEqual(schema.type, "object")
      assert.deepStrictEqual(Object.keys(schema.properties ?? {}), ["apiVersion", "kind", "metadata", "spec", "status"])
      assert.deepStrictEqual(at(schema, "metadata"), { type: "object" })
      assert.strictEqual(at(schema, "spec").type, "object")
      assert.strictEqual(at(schema, "status").type, "object")
      assert.strictEqual(schema.description, r.description)
    }
  })

  it("carries required lists, enums, defaults, formats, patterns and descriptions", () => {
    const query = openApiSchema(info("Query"))
    assert.deepStrictEqual(at(query, "spec").required, ["input"])
    assert.deepStrictEqual(at(query, "spec.target"), {
      description:
        "Target is the resource that answers the Query: the input is sent to it and its reply becomes status.response",
      type: "object",
      properties: {
        name: { description: "Name of the Agent, Team, Model or Tool in the Query's namespace", type: "string", minLength: 1 },
        type: {
          description: "Kind of resource that answers the Query: agent, team, model or tool",
          type: "string",
          enum: ["agent", "team", "model", "tool"]
        }
      },
      required: ["name", "type"]
    })
    assert.deepStrictEqual(at(query, "spec.timeout"), {
      description: "Timeout for query execution (e.g., \"30s\", \"5m\", \"1h\")",
      type: "string",
      default: "30m"
    })
    assert.deepStrictEqual(at(query, "status.tokenUsage.totalTokens"), { type: "integer", format: "int64" })
    const conditionType = at(query, "status.conditions.[].type")
    assert.strictEqual(
      conditionType.pattern,
      "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
    )
    assert.strictEqual(conditionType.maxLength, 316)
    const model = openApiSchema(info("Model"))
    assert.deepStrictEqual(at(model, "spec.config.bedrock.maxTokens"), { type: "integer", minimum: 1, maximum: 100000 })
    assert.strictEqual(at(model, "spec.config.openai.properties").additionalProperties?.type, "object")
    assert.strictEqual(
      at(model, "spec.config.openai.apiKey.valueFrom.secretKeyRef")["x-kubernetes-map-type"],
      "atomic"
    )
  })

  it("marks upstream's preserve-unknown-fields places", () => {
    assert.deepStrictEqual(at(openApiSchema(info("Query")), "spec.input"), { "x-kubernetes-preserve-unknown-fields": true })
    assert.deepStrictEqual(at(openApiSchema(info("Tool")), "spec.inputSchema"), {
      description: "Input schema for the tool",
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true
    })
    assert.strictEqual(at(openApiSchema(info("Agent")), "spec.outputSchema")["x-kubernetes-preserve-unknown-fields"], true)
  })
})

describe("examples/", () => {
  const dir = join(import.meta.dirname, "../../examples")
  const documents = readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((doc) => [file, doc.toJS() as KubeObject] as const)
    )

  it("every manifest is a known kind that validates cleanly", () => {
    assert.isAbove(documents.length, 0)
    for (const [file, doc] of documents) {
      const kind = findByKind(doc.apiVersion ?? "", doc.kind ?? "")
      assert.isDefined(kind, file)
      const result = validateObject(kind!, doc)
      assert.deepStrictEqual([result.causes, result.unknownFields], [[], []], file)
      assert.match(doc.metadata.name ?? "", /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, file)
      assert.isUndefined(doc.metadata.namespace, file)
    }
  })

  it("cover a model, two agents, a team, a tool and queries for an agent and a team", () => {
    const kinds = documents.map(([, doc]) => doc.kind).sort()
    assert.deepStrictEqual(kinds, ["Agent", "Agent", "Model", "Query", "Query", "Team", "Tool"])
    const targets = documents
      .filter(([, doc]) => doc.kind === "Query")
      .map(([, doc]) => (doc.spec as { target: { type: string } }).target.type)
      .sort()
    assert.deepStrictEqual(targets, ["agent", "team"])
  })
})

describe("Query phases", () => {
  const query = (phase?: string): KubeObject => ({
    apiVersion: "ark.mckinsey.com/v1alpha1",
    kind: "Query",
    metadata: { name: "q", namespace: "default" },
    spec: { input: "hi", target: { type: "agent", name: "a" } },
    ...(phase === undefined ? {} : { status: { phase } })
  })

  it("accepts approval-required, which ark writes, and the released queued and input-required", () => {
    for (const phase of [approvalRequiredPhase, releasedApprovalPhase, "queued"]) {
      assert.deepStrictEqual(validateObject(findByKind("ark.mckinsey.com/v1alpha1", "Query")!, query(phase)).causes, [], phase)
    }
    assert.deepStrictEqual(validateObject(findByKind("ark.mckinsey.com/v1alpha1", "Query")!, query("waiting")).causes.map((c) => c.field), ["status.phase"])
  })

  it("settles a Query that ended or paused for a human, under either name of the pause", () => {
    for (const phase of ["done", "error", "canceled", "approval-required", "input-required"]) assert.isTrue(isSettledQuery(query(phase)), phase)
    for (const phase of [undefined, "pending", "queued", "running", "provisioning"]) assert.isFalse(isSettledQuery(query(phase)), String(phase))
  })
})
