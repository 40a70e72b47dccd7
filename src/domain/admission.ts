/**
 * Ark's admission rules beyond the structural schema, as upstream's webhooks apply them
 * (ark/internal/validation): defaulting (the mutating webhook) and per-kind validation (the
 * validating webhook). Pure functions: the API server runs them inline on every write, and the
 * `webhook` module serves them as AdmissionReview webhooks for the etcd/CRD configuration.
 *
 * Differences from upstream, on purpose: rules that need other objects (does the target Agent
 * exist? does the Secret have the key?) are the controller's status conditions here, so that
 * admission never depends on the order in which objects are applied; and problems are reported
 * as kube field causes (all of them, not just the first).
 */
import { parseGoDuration } from "./duration.ts"
import type { KubeObject, StatusCause } from "./object.ts"
import { isRecord } from "./object.ts"
import { isBase64, keyError } from "./kinds/core.ts"
import type { ResourceInfo } from "./registry.ts"
import { dns1123SubdomainErrors } from "./validation.ts"

/** Annotations whose values the validating webhook returns as warnings (upstream's migration notes). */
export const migrationWarningPrefix = "ark.mckinsey.com/migration-warning-"
const a2aServerAnnotation = "ark.mckinsey.com/a2a-server-name"

/** A Query's retention when it names none (upstream: ArkConfig spec.queryTTL, else 720h). */
export const defaultQueryTTL = "720h"

type Json = Record<string, unknown>

const invalid = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`
})
const required = (field: string, detail: string): StatusCause => ({ reason: "FieldValueRequired", field, message: `Required value: ${detail}` })
const forbidden = (field: string, detail: string): StatusCause => ({ reason: "FieldValueForbidden", field, message: `Forbidden: ${detail}` })
const notSupported = (field: string, value: unknown, supported: ReadonlyArray<string>): StatusCause => ({
  reason: "FieldValueNotSupported",
  field,
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`
})

const record = (v: unknown): Json | undefined => isRecord(v) ? v : undefined
const list = (v: unknown): ReadonlyArray<unknown> => Array.isArray(v) ? v : []
const text = (v: unknown): string | undefined => typeof v === "string" ? v : undefined

/** A reference to another object by name: a DNS-1123 subdomain, as kube names are. */
const checkName = (causes: Array<StatusCause>, field: string, name: unknown) => {
  if (typeof name !== "string" || name === "") return causes.push(required(field, "a name is required"))
  for (const msg of dns1123SubdomainErrors(name)) causes.push(invalid(field, name, msg))
}

/** A Go duration (`30s`, `1h30m`); `positive` also refuses zero. */
const checkDuration = (causes: Array<StatusCause>, field: string, value: unknown, positive = false) => {
  if (value === undefined) return
  const ms = typeof value === "string" ? parseGoDuration(value) : undefined
  if (ms === undefined) causes.push(invalid(field, value, `must be a duration such as "30s", "5m" or "1h30m"`))
  else if (ms < 0 || (positive && ms === 0)) causes.push(invalid(field, value, positive ? "must be a positive duration" : "must not be negative"))
}

const sourceKeys = ["configMapKeyRef", "secretKeyRef", "serviceRef", "queryParameterRef"] as const

/** `value` xor `valueFrom`, and a valueFrom names exactly one source (upstream's parameter rules). */
const checkValueSource = (causes: Array<StatusCause>, field: string, v: Json, allowed: ReadonlyArray<string> = sourceKeys) => {
  const hasValue = typeof v["value"] === "string" && v["value"] !== ""
  const from = record(v["valueFrom"])
  if (hasValue && from !== undefined) causes.push(forbidden(field, "may not specify both value and valueFrom"))
  if (!hasValue && from === undefined) causes.push(required(field, "must specify either value or valueFrom"))
  if (from === undefined) return
  const sources = allowed.filter((k) => from[k] !== undefined)
  if (sources.length !== 1) {
    causes.push(invalid(`${field}.valueFrom`, sources, `must specify exactly one of ${allowed.join(", ")}`))
  }
  for (const k of ["configMapKeyRef", "secretKeyRef", "serviceRef"] as const) {
    const ref = record(from[k])
    if (ref !== undefined && ref["name"] !== undefined && ref["name"] !== "") checkName(causes, `${field}.valueFrom.${k}.name`, ref["name"])
  }
}

const checkParameters = (causes: Array<StatusCause>, field: string, parameters: unknown) =>
  list(parameters).forEach((p, i) => {
    const param = record(p)
    if (param !== undefined) checkValueSource(causes, `${field}[${i}]`, param)
  })

/** Upstream's ValidateHeader: a value or a valueFrom of one Secret or ConfigMap key; `unique` also refuses repeated names (A2AServer). */
const checkHeaders = (causes: Array<StatusCause>, field: string, headers: unknown, unique = false) => {
  const seen = new Set<unknown>()
  list(headers).forEach((h, j) => {
    const header = record(h)
    if (header === undefined) return
    if (unique && seen.has(header["name"])) causes.push({ reason: "FieldValueDuplicate", field: `${field}[${j}].name`, message: `Duplicate value: ${JSON.stringify(header["name"])}` })
    seen.add(header["name"])
    const value = record(header["value"])
    if (value !== undefined) checkValueSource(causes, `${field}[${j}].value`, value, ["configMapKeyRef", "secretKeyRef"])
  })
}

const checkOverrides = (causes: Array<StatusCause>, field: string, overrides: unknown) =>
  list(overrides).forEach((o, i) => {
    const override = record(o)
    if (override === undefined) return
    if (list(override["headers"]).length === 0) causes.push(required(`${field}[${i}].headers`, "at least one header"))
    checkHeaders(causes, `${field}[${i}].headers`, override["headers"])
  })

/** An address is a literal value or one valueFrom source (upstream resolves it; the lookup itself is a status condition here). */
const checkAddress = (causes: Array<StatusCause>, field: string, address: unknown, sources: ReadonlyArray<string>) => {
  const a = record(address)
  if (a !== undefined) checkValueSource(causes, field, a, sources)
}

const selectorOperators = ["In", "NotIn", "Exists", "DoesNotExist"] as const

/** metav1.LabelSelector's rules: known operators, values only (and always) for In/NotIn. */
const checkLabelSelector = (causes: Array<StatusCause>, field: string, selector: Json) =>
  list(selector["matchExpressions"]).forEach((e, i) => {
    const expr = record(e)
    if (expr === undefined) return
    const op = expr["operator"]
    const at = `${field}.matchExpressions[${i}]`
    if (!(selectorOperators as ReadonlyArray<unknown>).includes(op)) return causes.push(notSupported(`${at}.operator`, op, selectorOperators))
    const values = list(expr["values"])
    if ((op === "In" || op === "NotIn") && values.length === 0) causes.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"))
    if ((op === "Exists" || op === "DoesNotExist") && values.length > 0) {
      causes.push(forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    }
  })

/** An input with nothing to answer: an empty or blank string, or no messages. */
const isEmptyInput = (input: unknown) =>
  (typeof input === "string" && input.trim() === "") || (Array.isArray(input) && input.length === 0)

const checkQuery = (spec: Json, causes: Array<StatusCause>) => {
  const target = record(spec["target"])
  const selector = record(spec["selector"])
  // As upstream, a target and a selector may both be given: the target is used.
  if (target === undefined && selector === undefined) causes.push(required("spec", "target or selector must be specified"))
  if (isEmptyInput(spec["input"])) causes.push(required("spec.input", "input must not be empty"))
  if (target !== undefined) checkName(causes, "spec.target.name", target["name"])
  if (selector !== undefined) checkLabelSelector(causes, "spec.selector", selector)
  checkDuration(causes, "spec.timeout", spec["timeout"], true)
  checkDuration(causes, "spec.ttl", spec["ttl"])
  const memory = record(spec["memory"])
  if (memory !== undefined) checkName(causes, "spec.memory.name", memory["name"])
  if (spec["serviceAccount"] !== undefined) checkName(causes, "spec.serviceAccount", spec["serviceAccount"])
  checkParameters(causes, "spec.parameters", spec["parameters"])
  checkOverrides(causes, "spec.overrides", spec["overrides"])
}

const builtInTools = ["noop", "terminate"]

const checkAgent = (spec: Json, causes: Array<StatusCause>, warnings: Array<string>, name: string) => {
  const modelRef = record(spec["modelRef"])
  if (modelRef !== undefined) checkName(causes, "spec.modelRef.name", modelRef["name"])
  const engine = record(spec["executionEngine"])
  if (engine !== undefined) checkName(causes, "spec.executionEngine.name", engine["name"])
  checkParameters(causes, "spec.parameters", spec["parameters"])
  checkOverrides(causes, "spec.overrides", spec["overrides"])
  list(spec["tools"]).forEach((t, i) => {
    const tool = record(t)
    if (tool === undefined) return
    const at = `spec.tools[${i}]`
    const toolName = text(tool["name"])
    if (toolName === undefined || toolName === "") causes.push(required(`${at}.name`, `${String(tool["type"])} tools must specify a name`))
    else if (tool["type"] === "built-in" && !builtInTools.includes(toolName)) causes.push(notSupported(`${at}.name`, toolName, builtInTools))
    const approval = record(tool["approval"])
    if (approval !== undefined) checkDuration(causes, `${at}.approval.timeout`, approval["timeout"], true)
    if (tool["type"] === "custom") {
      warnings.push(`agent '${name}' tool '${toolName ?? ""}': type 'custom' is deprecated, use the tool's actual type (mcp, http, agent, team, builtin) instead`)
    }
  })
}


const checkTeam = (spec: Json, causes: Array<StatusCause>, name: string) => {
  const members = list(spec["members"]).map(record)
  members.forEach((m, i) => {
    if (m === undefined) return
    checkName(causes, `spec.members[${i}].name`, m["name"])
    if (m["name"] === name) causes.push(invalid(`spec.members[${i}].name`, name, `team '${name}' cannot reference itself`))
  })
  const strategy = spec["strategy"]
  const loops = spec["loops"] === true
  const maxTurns = spec["maxTurns"]
  if (maxTurns !== undefined && (typeof maxTurns !== "number" || maxTurns < 1)) causes.push(invalid("spec.maxTurns", maxTurns, "must be at least 1"))
  if (strategy === "sequential") {
    if (loops && maxTurns === undefined) causes.push(required("spec.maxTurns", "maxTurns is required when loops is enabled"))
    if (!loops && maxTurns !== undefined) causes.push(forbidden("spec.maxTurns", "maxTurns can only be set when loops is enabled"))
  }
  if (strategy === "selector") {
    if (loops) causes.push(forbidden("spec.loops", "loops can only be used with the 'sequential' strategy"))
    const agent = record(spec["selector"])?.["agent"]
    if (agent === undefined || agent === "") causes.push(required("spec.selector.agent", "the selector strategy needs the agent that picks the next member"))
    else checkName(causes, "spec.selector.agent", agent)
    if (maxTurns === undefined) causes.push(required("spec.maxTurns", "the selector strategy needs maxTurns to prevent endless turns"))
    const graph = record(spec["graph"])
    if (graph !== undefined) {
      const names = new Set(members.map((m) => m?.["name"]))
      const edges = list(graph["edges"])
      if (edges.length === 0) causes.push(required("spec.graph.edges", "graph constraint requires at least one edge"))
      edges.forEach((e, i) => {
        for (const end of ["from", "to"] as const) {
          const member = record(e)?.[end]
          if (!names.has(member)) {
            causes.push(invalid(`spec.graph.edges[${i}].${end}`, member, `graph edge ${i}: '${end}' member '${String(member)}' not found in team members`))
          }
        }
      })
    }
  }
}

const checkModel = (spec: Json, causes: Array<StatusCause>) => {
  const provider = text(spec["provider"])
  const config = record(spec["config"]) ?? {}
  if (provider !== undefined && config[provider] === undefined) {
    causes.push(required(`spec.config.${provider}`, `${provider} configuration is required for ${provider} model type`))
  }
  for (const p of ["openai", "azure"]) checkHeaders(causes, `spec.config.${p}.headers`, record(config[p])?.["headers"])
  const azure = record(config["azure"])
  if (provider === "azure" && azure !== undefined) {
    const auth = record(azure["auth"])
    if (auth === undefined && azure["apiKey"] === undefined) causes.push(required("spec.config.azure.auth", "spec.config.azure.apiKey or spec.config.azure.auth is required"))
    if (auth !== undefined && ["apiKey", "managedIdentity", "workloadIdentity"].filter((k) => auth[k] !== undefined).length !== 1) {
      causes.push(invalid("spec.config.azure.auth", Object.keys(auth), "must have exactly one of apiKey, managedIdentity or workloadIdentity"))
    }
  }
}

const jsonSchemaTypes = ["object", "array", "string", "number", "integer", "boolean", "null"]
const inlineSourceLimit = 65536

/**
 * A Tool's inputSchema read as a JSON Schema (upstream unmarshals it into a jsonschema.Schema
 * and checks its types): `type` is a type name or a list of them, `properties` maps non-empty
 * names to schemas, `items` is a schema, `required` lists strings. Every problem is reported.
 */
const checkJsonSchema = (causes: Array<StatusCause>, field: string, schema: unknown) => {
  const s = record(schema)
  if (s === undefined) return causes.push(invalid(field, schema, "invalid inputSchema: a JSON Schema is an object"))
  const type = s["type"]
  const types = Array.isArray(type) ? type : type === undefined ? [] : [type]
  for (const t of types) {
    if (!jsonSchemaTypes.includes(t as string)) {
      causes.push(invalid(`${field}.type`, t, `invalid inputSchema: invalid schema type '${String(t)}': must be one of ${jsonSchemaTypes.join(", ")}`))
    }
  }
  if (s["properties"] !== undefined) {
    const properties = record(s["properties"])
    if (properties === undefined) causes.push(invalid(`${field}.properties`, s["properties"], "invalid inputSchema: properties must map names to schemas"))
    for (const [name, child] of Object.entries(properties ?? {})) {
      if (name === "") causes.push(invalid(`${field}.properties`, name, "invalid inputSchema: property name cannot be empty"))
      checkJsonSchema(causes, `${field}.properties.${name}`, child)
    }
  }
  if (s["items"] !== undefined && !Array.isArray(s["items"])) checkJsonSchema(causes, `${field}.items`, s["items"])
  if (s["required"] !== undefined && !(Array.isArray(s["required"]) && s["required"].every((r) => typeof r === "string"))) {
    causes.push(invalid(`${field}.required`, s["required"], "invalid inputSchema: required must list property names"))
  }
}

const toolSections = ["http", "mcp", "agent", "team", "builtin", "inline"] as const

/** Upstream's ValidateTool: the section the type names is there and sound; an inline tool has only its script. */
const checkTool = (spec: Json, causes: Array<StatusCause>, name: string) => {
  const type = text(spec["type"]) ?? ""
  if (spec["inputSchema"] !== undefined) checkJsonSchema(causes, "spec.inputSchema", spec["inputSchema"])
  const section = record(spec[type])
  const approval = record(spec["approval"])
  if (approval !== undefined) checkDuration(causes, "spec.approval.timeout", approval["timeout"], true)
  if (type === "builtin") {
    // Upstream checks the Tool's own name; its samples also name the builtin in spec.builtin.name.
    const builtin = text(section?.["name"])
    if (!builtInTools.includes(name) && !builtInTools.includes(builtin ?? "")) {
      causes.push(notSupported(builtin === undefined ? "metadata.name" : "spec.builtin.name", builtin ?? name, builtInTools))
    }
  } else if (section === undefined) {
    causes.push(required(`spec.${type}`, `${type} spec is required for ${type} type`))
  }
  if (type === "http" && section !== undefined) {
    const url = text(section["url"])
    if (url !== undefined && !URL.canParse(url)) causes.push(invalid("spec.http.url", url, "invalid URL format"))
  }
  if (type === "inline") {
    for (const other of toolSections) {
      if (other !== "inline" && spec[other] !== undefined) causes.push(forbidden(`spec.${other}`, `an inline tool must not set spec.${other}`))
    }
    const source = text(section?.["source"])
    if (source !== undefined && source.trim() === "") causes.push(required("spec.inline.source", "inline source is required"))
    if (source !== undefined && new TextEncoder().encode(source).length > inlineSourceLimit) {
      causes.push({ reason: "FieldValueTooLong", field: "spec.inline.source", message: `Too long: inline source is exceeding the ${inlineSourceLimit} byte limit` })
    }
    const input = record(spec["inputSchema"])
    if (input !== undefined && input["type"] !== undefined && input["type"] !== "object") {
      causes.push(invalid("spec.inputSchema.type", input["type"], "the input schema of an inline tool must describe a JSON object"))
    }
  } else if (spec["inline"] !== undefined) {
    causes.push(forbidden("spec.inline", "spec.inline is only valid for inline type tools"))
  }
}

const checkArkConfig = (spec: Json, causes: Array<StatusCause>, name: string) => {
  if (name !== "default") {
    causes.push(invalid("metadata.name", name, `ArkConfig must be named "default"; "${name}" would be ignored as only the singleton is consulted by admission webhooks`))
  }
  checkDuration(causes, "spec.queryTTL", spec["queryTTL"], true)
  const memory = record(spec["defaultMemory"])
  if (memory !== undefined) checkName(causes, "spec.defaultMemory.name", memory["name"])
  // A cluster-wide memory would mix tenants' conversations: it is always the Query's namespace.
  if (memory?.["namespace"] !== undefined) causes.push(forbidden("spec.defaultMemory.namespace", "the default memory is resolved in each Query's own namespace"))
  checkDuration(causes, "spec.evaluationTTL", spec["evaluationTTL"], true)
}

/** Every kind that polls an endpoint names the interval as a Go duration. */
const checkCommon = (spec: Json, causes: Array<StatusCause>) => checkDuration(causes, "spec.pollInterval", spec["pollInterval"])

/**
 * The validating webhook: causes (the write is refused with 422 Invalid) and warnings (the write
 * goes through; clients print them). Expects an object that passed schema validation.
 */
/**
 * kube's validation of a Secret's or ConfigMap's data: valid keys, base64 values where the API
 * takes bytes, no key both in data and binaryData. Values are never echoed: they may be secret.
 */
const checkData = (kind: "Secret" | "ConfigMap", obj: KubeObject, causes: Array<StatusCause>) => {
  const body = obj as KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> }
  const bytes = kind === "Secret" ? body.data : body.binaryData
  for (const [field, map] of [["data", body.data], ["binaryData", body.binaryData]] as const) {
    for (const key of Object.keys(map ?? {})) {
      const error = keyError(key)
      if (error !== undefined) causes.push(invalid(`${field}[${key}]`, key, error))
      if (field === "binaryData" && body.data?.[key] !== undefined) causes.push(invalid(`binaryData[${key}]`, key, "duplicate of key present in data"))
    }
  }
  for (const [key, value] of Object.entries(bytes ?? {})) {
    if (!isBase64(value)) causes.push({ reason: "FieldValueInvalid", field: `${kind === "Secret" ? "data" : "binaryData"}[${key}]`, message: "Invalid value: illegal base64 data" })
  }
}

export const validateAdmission = (info: ResourceInfo, obj: KubeObject): { readonly causes: ReadonlyArray<StatusCause>; readonly warnings: ReadonlyArray<string> } => {
  const causes: Array<StatusCause> = []
  const warnings: Array<string> = []
  // A deleting object is past admission (upstream skips it too): its finalizers must be removable.
  if (obj.metadata.deletionTimestamp !== undefined) return { causes, warnings }
  if (info.kind === "Secret" || info.kind === "ConfigMap") {
    checkData(info.kind, obj, causes)
    return { causes, warnings }
  }
  const spec = record(obj.spec) ?? {}
  const name = obj.metadata.name ?? ""
  checkCommon(spec, causes)
  switch (info.kind) {
    case "Query":
      checkQuery(spec, causes)
      break
    case "Agent":
      checkAgent(spec, causes, warnings, name)
      break
    case "Team":
      checkTeam(spec, causes, name)
      break
    case "Model":
      checkModel(spec, causes)
      break
    case "Tool":
      checkTool(spec, causes, name)
      break
    case "MCPServer":
      checkAddress(causes, "spec.address", spec["address"], sourceKeys)
      checkHeaders(causes, "spec.headers", spec["headers"])
      break
    case "A2AServer":
      checkAddress(causes, "spec.address", spec["address"], ["configMapKeyRef", "secretKeyRef", "serviceRef"])
      checkHeaders(causes, "spec.headers", spec["headers"], true)
      break
    case "ExecutionEngine":
      if (spec["address"] === undefined && spec["type"] === undefined) {
        causes.push(required("spec.address", "an execution engine needs an address (or, on upstream's newer line, a type)"))
      }
      checkAddress(causes, "spec.address", spec["address"], ["configMapKeyRef", "secretKeyRef", "serviceRef"])
      break
    case "ArkConfig":
      checkArkConfig(spec, causes, name)
      break
  }
  for (const [key, value] of Object.entries(obj.metadata.annotations ?? {}).sort(([a], [b]) => a < b ? -1 : 1)) {
    if (key.startsWith(migrationWarningPrefix)) warnings.push(value)
  }
  return { causes, warnings }
}

const annotate = (obj: KubeObject, key: string, value: string): KubeObject => ({
  ...obj,
  metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, [key]: value } }
})

const deprecatedProviderTypes = ["openai", "azure", "bedrock"]

/** The text of the first user message of a `messages` input (a string content, or its text parts joined). */
const firstUserText = (input: unknown): string => {
  const message = list(input).map(record).find((m) => m?.["role"] === "user")
  const content = message?.["content"]
  if (typeof content === "string") return content
  return list(content).map((part) => text(record(part)?.["text"]) ?? "").join("")
}

/** Upstream's DefaultQuery: the deprecated `messages` type becomes `user` with the first user text; the TTL default. */
const defaultQuery = (obj: KubeObject, spec: Json): KubeObject => {
  const migrated = spec["type"] === "messages"
    ? annotate(
      { ...obj, spec: { ...spec, type: "user", input: firstUserText(spec["input"]) } },
      `${migrationWarningPrefix}input-type`,
      "spec.type 'messages' is deprecated - migrated to 'user' with extracted text. Use conversationId for multi-turn conversations"
    )
    : obj
  const migratedSpec = migrated.spec as Json
  return migratedSpec["ttl"] === undefined ? { ...migrated, spec: { ...migratedSpec, ttl: defaultQueryTTL } } : migrated
}

/**
 * Upstream's DefaultTeam: the deprecated round-robin and graph strategies become sequential
 * (graph edges are discarded), and a custom selector prompt that does not name the
 * select-next-speaker tool is flagged.
 */
const defaultTeam = (obj: KubeObject, spec: Json): KubeObject => {
  switch (spec["strategy"]) {
    case "round-robin": {
      const loops = spec["maxTurns"] !== undefined
      return annotate(
        { ...obj, spec: { ...spec, strategy: "sequential", loops } },
        `${migrationWarningPrefix}round-robin`,
        loops
          ? "strategy 'round-robin' is deprecated - migrated to 'sequential' with loops: true. Will be removed in v1.0.0"
          : "strategy 'round-robin' is deprecated - migrated to 'sequential'. Set loops: true and maxTurns to enable looping. Will be removed in v1.0.0"
      )
    }
    case "graph": {
      const { graph: _graph, maxTurns: _maxTurns, ...rest } = spec
      return annotate(
        { ...obj, spec: { ...rest, strategy: "sequential", loops: false } },
        `${migrationWarningPrefix}graph`,
        "strategy 'graph' is deprecated - migrated to 'sequential'. Graph edges have been discarded. Will be removed in v1.0.0"
      )
    }
    case "selector": {
      const prompt = text(record(spec["selector"])?.["selectorPrompt"]) ?? ""
      return prompt === "" || prompt.includes("select-next-speaker") ? obj : annotate(
        obj,
        `${migrationWarningPrefix}selector-prompt`,
        "custom selectorPrompt should instruct the agent to use the select-next-speaker tool — add 'Use the select-next-speaker tool to make your selection.' to your selectorPrompt"
      )
    }
    default:
      return obj
  }
}

/**
 * The mutating webhook (upstream's DefaultAgent/DefaultTeam/DefaultModel and the Query TTL): a
 * new object, the input untouched. Migrations of deprecated spellings leave a migration-warning
 * annotation that validation turns into a warning.
 */
/** kube's Secret strategy: `stringData` merged into `data` (base64) and dropped; type Opaque by default. */
const normalizeSecret = (obj: KubeObject): KubeObject => {
  const { stringData, ...rest } = obj as KubeObject & { stringData?: Record<string, string>; data?: Record<string, string>; type?: string }
  const data = { ...rest.data }
  for (const [k, v] of Object.entries(stringData ?? {})) data[k] = Buffer.from(v, "utf8").toString("base64")
  return { ...rest, ...(Object.keys(data).length > 0 ? { data } : {}), type: rest.type === undefined || rest.type === "" ? "Opaque" : rest.type } as KubeObject
}

export const defaultAdmission = (info: ResourceInfo, obj: KubeObject): KubeObject => {
  if (obj.metadata.deletionTimestamp !== undefined) return obj
  if (info.kind === "Secret") return normalizeSecret(obj)
  const spec = record(obj.spec)
  if (spec === undefined) return obj
  switch (info.kind) {
    case "Query":
      return defaultQuery(obj, spec)
    case "Agent":
      return spec["modelRef"] === undefined && obj.metadata.annotations?.[a2aServerAnnotation] === undefined
        ? { ...obj, spec: { ...spec, modelRef: { name: "default" } } }
        : obj
    case "Team":
      return defaultTeam(obj, spec)
    case "Model": {
      const type = text(spec["type"])
      if ((spec["provider"] ?? "") !== "" || type === undefined || !deprecatedProviderTypes.includes(type)) return obj
      return annotate(
        { ...obj, spec: { ...spec, provider: type, type: "completions" } },
        `${migrationWarningPrefix}provider`,
        `spec.type is deprecated for provider values - migrated '${type}' to spec.provider`
      )
    }
    default:
      return obj
  }
}

export type JsonPatchOperation =
  | { readonly op: "add" | "replace"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string }

const pointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1")

/**
 * The RFC 6902 patch that turns `before` into `after` (objects compared key by key, anything
 * else replaced whole): what a mutating webhook returns.
 */
export const jsonPatchBetween = (before: unknown, after: unknown, path = ""): ReadonlyArray<JsonPatchOperation> => {
  if (JSON.stringify(before) === JSON.stringify(after)) return []
  if (!isRecord(before) || !isRecord(after)) return [{ op: "replace", path, value: after }]
  const ops: Array<JsonPatchOperation> = []
  for (const key of Object.keys(before)) {
    if (!(key in after)) ops.push({ op: "remove", path: `${path}/${pointer(key)}` })
  }
  for (const [key, value] of Object.entries(after)) {
    ops.push(...(key in before ? jsonPatchBetween(before[key], value, `${path}/${pointer(key)}`) : [{ op: "add" as const, path: `${path}/${pointer(key)}`, value }]))
  }
  return ops
}
