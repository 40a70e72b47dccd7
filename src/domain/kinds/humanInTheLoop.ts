/**
 * Types ToolApprovalRequest and ToolInteraction share (upstream's ApproverRef, ExecutionContext,
 * ToolCallInfo, ClientContext): a paused agent's tool calls and who may answer for them.
 */
import { Schema } from "effect"
import { optionalString } from "./common.ts"

const opt = Schema.optionalKey

export const Approvers = opt(Schema.Array(
  Schema.Struct({
    group: optionalString("Group name - user must belong to this group"),
    role: optionalString("Role name - user must be bound to a ClusterRole/Role with this name"),
    user: optionalString("User identity - must match the authenticated user's identity")
  }).annotate({ description: "ApproverRef specifies who can approve tool calls. At least one field must be set." })
))

/** What the engine needs to resume the agent once the calls are answered. */
export const ExecutionContext = Schema.Struct({
  agentName: Schema.String.annotate({ description: "AgentName is the name of the agent being executed" }),
  agentNamespace: Schema.String.annotate({ description: "AgentNamespace is the namespace of the agent" }),
  completedToolResults: opt(Schema.Array(Schema.String).annotate({
    description: "CompletedToolResults contains results of tools that executed before the approval pause"
  })),
  conversationHistory: Schema.String.annotate({ description: "ConversationHistory is the base64-encoded message array" }),
  pendingToolCallIndex: Schema.Int.annotate({
    description: "PendingToolCallIndex is the index of the first tool call awaiting approval"
  })
}).annotate({ description: "ExecutionContext contains the state needed to resume execution after approval" })

export const OnTimeout = opt(Schema.Literals(["reject", "proceed"]).annotate({
  description: "OnTimeout specifies what to do when approval times out",
  default: "reject"
}))

/** The Query that paused; both fields required, as upstream. */
export const PausedQueryRef = Schema.Struct({ name: Schema.String, namespace: Schema.String }).annotate({
  description: "QueryRef references the Query that triggered this request"
})

export const ToolCalls = Schema.Array(
  Schema.Struct({
    agentReasoning: optionalString("AgentReasoning is the model's explanation for why it's calling this tool"),
    annotations: opt(Schema.Struct({
      destructiveHint: opt(Schema.Boolean),
      idempotentHint: opt(Schema.Boolean),
      openWorldHint: opt(Schema.Boolean),
      readOnlyHint: opt(Schema.Boolean)
    }).annotate({ description: "Annotations contains tool hints (destructive, read-only, etc.)" })),
    arguments: Schema.String.annotate({ description: "Arguments is the JSON-serialized arguments for the tool call" }),
    description: optionalString("Description is the tool description to help approvers understand what the tool does"),
    id: Schema.String.annotate({ description: "ID is the unique identifier for this tool call" }),
    name: Schema.String.annotate({ description: "Name is the tool name" }),
    type: Schema.String.annotate({ description: "Type is the tool type (http, mcp, agent, etc.)" })
  }).annotate({ description: "ToolCallInfo contains information about a tool call pending approval." })
).check(Schema.isMinLength(1)).annotate({ description: "ToolCalls contains the tool calls pending approval" })

export const ClientContext = opt(Schema.Struct({
  ipAddress: opt(Schema.String),
  userAgent: opt(Schema.String)
}).annotate({ description: "ClientContext contains information about the client that submitted the decision." }))

export const ApprovalAction = Schema.Literals(["approved", "rejected"])
