/** Agent: a prompt bound to a model, tools and (optionally) an external execution engine; the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { conditions, FreeformObject, ObjectRef, optionalString, Override, Parameter, StringMap, ValueFromSource } from "./common.ts"
import type { KubeObject, StatusCause } from "../object.ts"
import type { Admission, Json } from "./admissionRules.ts"
import { builtInTools, checkDuration, checkName, checkOverrides, checkParameters, list, notSupported, record, required, text } from "./admissionRules.ts"

/** A value injected into a tool call (agent tool functions and partial parameters). */
const ToolFunction = Schema.Struct({
  name: Schema.NonEmptyString,
  value: Schema.optionalKey(Schema.String),
  valueFrom: Schema.optionalKey(ValueFromSource)
})

/** Human-in-the-loop approval of a tool's calls; the same type on an agent's tool and on a Tool. */
export const ToolApprovalConfig = Schema.Struct({
  argumentMatches: Schema.optionalKey(Schema.Array(Schema.Struct({
    argument: Schema.String.annotate({ description: "Argument is the JSON field name in the tool call arguments to inspect (e.g. \"path\")." }),
    pattern: Schema.String.annotate({ description: "Pattern is a regular expression; approval is required when the argument value matches." })
  })).annotate({
    description: "ArgumentMatches narrows approval to calls whose arguments match one of these patterns. Empty means approval applies to every call of this tool."
  })),
  onTimeout: Schema.optionalKey(Schema.Literals(["reject", "proceed"]).annotate({
    description:
      "OnTimeout specifies the action to take when approval times out: \"reject\" fails the query, \"proceed\" executes the tool",
    default: "reject"
  })),
  required: Schema.optionalKey(Schema.Boolean.annotate({
    description: "Required indicates whether human approval is required before executing this tool"
  })),
  timeout: optionalString("Timeout specifies how long to wait for approval before timing out", { default: "5m" })
}).annotate({ description: "Approval configuration for human-in-the-loop tool execution" })

const AgentTool = Schema.Struct({
  approval: Schema.optionalKey(ToolApprovalConfig),
  description: optionalString("Description of the tool as exposed to the agent"),
  functions: Schema.optionalKey(Schema.Array(ToolFunction)),
  name: Schema.optionalKey(Schema.NonEmptyString),
  partial: Schema.optionalKey(
    Schema.Struct({
      name: Schema.optionalKey(Schema.NonEmptyString.annotate({
        description: "Name to override the tool's name as exposed to the agent (optional)"
      })),
      parameters: Schema.optionalKey(Schema.Array(ToolFunction).annotate({
        description:
          "Parameters to preconfigure and hide from the agent; injected at runtime and not visible/editable by the agent (optional)"
      }))
    }).annotate({
      description: "ToolPartial allows overriding the tool's name and preconfiguring or hiding tool parameters\n" +
        "from the agent. Parameters defined here are injected at runtime and are not visible or\n" +
        "editable by the agent itself."
    })
  ),
  // "built-in" and "custom" are legacy spellings upstream still accepts.
  type: Schema.Literals(["built-in", "custom", "mcp", "http", "agent", "team", "builtin"])
})

/**
 * Pod configuration for the a2a-pod execution engine. `template` is a corev1.PodTemplateSpec:
 * kept whole (unknown fields preserved) rather than restated field by field; kube validates
 * the Pod the engine creates from it.
 */
const PodConfig = Schema.Struct({
  template: FreeformObject.annotate({ description: "Template for the ephemeral pod" }),
  timeout: optionalString("Maximum duration for the pod execution")
}).annotate({ description: "Pod configuration for a2a-pod execution engine" })

const A2APodConfig = Schema.Struct({
  agentCardPath: optionalString("Path to the agent card endpoint for readiness checking", {
    default: "/.well-known/agent-card.json"
  }),
  port: Schema.optionalKey(
    Schema.Int.annotate({ description: "Port where the A2A server listens inside the pod", format: "int32", default: 8080 })
  ),
  readinessTimeout: optionalString("Maximum time to wait for the pod to become ready")
}).annotate({ description: "A2A-specific settings for ephemeral pod agents" })

export const AgentSpec = Schema.Struct({
  a2aPod: Schema.optionalKey(A2APodConfig),
  config: Schema.optionalKey(StringMap.annotate({ description: "Config provides values for the execution engine's config schema" })),
  description: Schema.optionalKey(Schema.String),
  executionEngine: Schema.optionalKey(
    Schema.Struct({
      name: Schema.NonEmptyString.annotate({ description: "Name of the ExecutionEngine resource to use for this agent" }),
      namespace: optionalString(
        "Namespace of the ExecutionEngine resource. Defaults to the agent's namespace if not specified"
      )
    }).annotate({
      description:
        "ExecutionEngine to use for running this agent. If not specified, uses the built-in OpenAI-compatible engine"
    })
  ),
  modelRef: Schema.optionalKey(ObjectRef),
  outputSchema: Schema.optionalKey(FreeformObject.annotate({ description: "JSON schema for structured output format" })),
  overrides: Schema.optionalKey(Schema.Array(Override)),
  parameters: Schema.optionalKey(
    Schema.Array(Parameter).annotate({ description: "Parameters for template processing in the prompt field" })
  ),
  pod: Schema.optionalKey(PodConfig),
  prompt: Schema.optionalKey(Schema.String),
  tools: Schema.optionalKey(Schema.Array(AgentTool))
})
export type AgentSpec = typeof AgentSpec.Type

export const AgentStatus = Schema.Struct({
  conditions: conditions("Conditions represent the latest available observations of an agent's state")
})
export type AgentStatus = typeof AgentStatus.Type

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
  const dropped = droppedByEngine(spec)
  if (dropped.length > 0) {
    warnings.push(
      `agent '${name}': execution engine '${String(engine?.["name"])}' receives only mcp tools; these tools will not be available to the agent: ${dropped.join(", ")}`
    )
  }
}

/**
 * The tools a named ExecutionEngine never receives (upstream's engineToolWarning: an engine is
 * handed MCP tools only). A `custom` tool's real type is its Tool's, which admission does not
 * read (upstream looks it up), so such tools are not listed; `built-in` ones mean nothing to an engine.
 */
const droppedByEngine = (spec: Json): Array<string> => {
  const engine = text(record(spec["executionEngine"])?.["name"])
  if (engine === undefined || engine === "" || engine === "a2a") return []
  return list(spec["tools"]).map(record).flatMap((tool) => {
    const type = text(tool?.["type"])
    return type === undefined || ["mcp", "built-in", "custom"].includes(type) ? [] : [`${String(tool?.["name"])} (${type})`]
  })
}

const a2aServerAnnotation = "ark.mckinsey.com/a2a-server-name"

/** Upstream's DefaultAgent: the model named "default", unless the agent is an A2A server's. */
const defaultAgent = (obj: KubeObject, spec: Json): KubeObject =>
  spec["modelRef"] === undefined && obj.metadata.annotations?.[a2aServerAnnotation] === undefined
    ? { ...obj, spec: { ...spec, modelRef: { name: "default" } } }
    : obj

/** Upstream's Agent webhooks (DefaultAgent, ValidateAgent). */
export const AgentAdmission: Admission = {
  defaults: defaultAgent,
  validate: (spec, { causes, warnings }, obj) => checkAgent(spec, causes, warnings, obj.metadata.name ?? "")
}
