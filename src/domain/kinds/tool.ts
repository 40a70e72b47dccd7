/** Tool: something an agent can call (HTTP endpoint, MCP tool, another agent or team, a builtin). */
import { Schema } from "effect"
import { ToolApprovalConfig } from "./agent.ts"
import { conditions, FreeformObject, Header, ObjectRef, optionalString, Parameter } from "./common.ts"

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
