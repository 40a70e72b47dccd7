/** Tool: something an agent can call (HTTP endpoint, MCP tool, another agent or team, a builtin); the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { ToolApprovalConfig } from "./agent.ts"
import { conditions, FreeformObject, Header, ObjectRef, optionalString, Parameter } from "./common.ts"
import type { StatusCause } from "../object.ts"
import type { Admission, Json } from "./admissionRules.ts"
import { builtInTools, checkDuration, forbidden, invalid, notSupported, record, required, text } from "./admissionRules.ts"

/** The `agent`, `team` and `builtin` sections: a name, required when `type` selects them. */
const namedTarget = (kind: "Agent" | "Team" | "Builtin") => {
  const type = kind.toLowerCase()
  return Schema.optionalKey(
    Schema.Struct({
      name: Schema.NonEmptyString.annotate({
        description: `Name of the ${kind} being referenced.\nThis must be a non-empty string.`
      })
    }).annotate({
      description: `${kind}-specific configuration for ${type} tools.\nThis field is required only if Type = "${type}".`
    })
  )
}

/** MCP-style tool annotations, advisory only. */
const ToolAnnotations = Schema.Struct({
  destructiveHint: Schema.optionalKey(Schema.Boolean.annotate({
    description: "If true, the tool may perform destructive updates to its environment. If\n" +
      "false, the tool performs only additive updates.\n\n" +
      "(This property is meaningful only when `readOnlyHint == false`)\n\nDefault: true"
  })),
  idempotentHint: Schema.optionalKey(Schema.Boolean.annotate({
    description: "If true, calling the tool repeatedly with the same arguments will have no\n" +
      "additional effect on the its environment.\n\n" +
      "(This property is meaningful only when `readOnlyHint == false`)\n\nDefault: false"
  })),
  openWorldHint: Schema.optionalKey(Schema.Boolean.annotate({
    description: "If true, this tool may interact with an \"open world\" of external entities. If\n" +
      "false, the tool's domain of interaction is closed.\n\nDefault: true"
  })),
  readOnlyHint: Schema.optionalKey(Schema.Boolean.annotate({
    description: "If true, the tool does not modify its environment.\n\nDefault: false"
  })),
  title: optionalString("A human-readable title for the tool.")
}).annotate({ description: "Optional additional tool information" })

const HttpTool = Schema.Struct({
  body: optionalString("Body template for POST/PUT/PATCH requests with golang template syntax"),
  bodyParameters: Schema.optionalKey(
    Schema.Array(Parameter).annotate({ description: "Parameters for body template processing" })
  ),
  headers: Schema.optionalKey(Schema.Array(Header)),
  method: Schema.optionalKey(Schema.Literals(["GET", "POST", "PUT", "DELETE", "PATCH"]).annotate({ default: "GET" })),
  timeout: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[0-9]+[smh]?$/))),
  url: Schema.String.check(Schema.isMinLength(1), Schema.isPattern(/^https?:\/\/.*/))
}).annotate({ description: "HTTP-specific configuration for HTTP-based tools" })

/** A short script run by an Ark-managed runner (type `inline`). */
const InlineTool = Schema.Struct({
  language: Schema.Literals(["bash", "python", "node", "ts"]).annotate({
    description: "Interpreter for the script. There is no default and no shebang dispatch."
  }),
  source: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(65536)).annotate({
    description: "Script source. Limited to 65536 UTF-8 bytes; use an MCPServer for larger tools."
  })
}).annotate({
  description: "Inline-specific configuration for inline script tools.\nThis field is required only if Type = \"inline\"."
})

export const ToolSpec = Schema.Struct({
  agent: namedTarget("Agent"),
  annotations: Schema.optionalKey(ToolAnnotations),
  approval: Schema.optionalKey(ToolApprovalConfig.annotate({
    description: "Approval configuration applied to every agent that uses this tool. An agent\n" +
      "cannot unset Required or narrow ArgumentMatches, but Timeout and OnTimeout are agent-overridable;\n" +
      "see AgentTool.Approval for the per-agent override."
  })),
  builtin: namedTarget("Builtin"),
  description: optionalString("Tool description"),
  http: Schema.optionalKey(HttpTool),
  inline: Schema.optionalKey(InlineTool),
  inputSchema: Schema.optionalKey(FreeformObject.annotate({ description: "Input schema for the tool" })),
  mcp: Schema.optionalKey(
    Schema.Struct({
      mcpServerRef: ObjectRef.annotate({ description: "MCPServerRef references an MCP server that provides this tool" }),
      toolName: Schema.NonEmptyString
    }).annotate({ description: "MCP-specific configuration for MCP server tools" })
  ),
  team: namedTarget("Team"),
  type: Schema.Literals(["http", "mcp", "agent", "team", "builtin", "inline"])
})
export type ToolSpec = typeof ToolSpec.Type

export const ToolStatus = Schema.Struct({
  conditions: conditions(),
  message: Schema.optionalKey(Schema.String),
  resolvedAddress: optionalString(
    "Internal activator address for inline tools. Unusable unless the Available\n" +
      "condition is True for the current metadata.generation."
  ),
  state: Schema.optionalKey(Schema.String)
})
export type ToolStatus = typeof ToolStatus.Type

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

/** Upstream's ValidateTool. */
export const ToolAdmission: Admission = { validate: (spec, { causes }, obj) => checkTool(spec, causes, obj.metadata.name ?? "") }
