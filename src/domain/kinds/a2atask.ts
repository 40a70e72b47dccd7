/** A2ATask: a long-running task an A2A agent accepted for a Query, polled until it finishes. */
import { Schema } from "effect"
import { conditions, ObjectRef, optionalString, StringMap } from "./common.ts"

const optionalStringMap = (description: string) => Schema.optionalKey(StringMap.annotate({ description }))

const A2ATaskPart = Schema.Struct({
  data: optionalString("Data contains base64-encoded binary content when Kind is \"data\"."),
  kind: Schema.Literals(["text", "file", "data"]).annotate({
    description: "Kind specifies the type of content: \"text\", \"file\", or \"data\"."
  }),
  metadata: optionalStringMap("Metadata contains additional key-value pairs for this part."),
  mimeType: optionalString("MimeType specifies the content type (e.g., \"text/plain\", \"application/json\")."),
  text: optionalString("Text contains the actual text content when Kind is \"text\"."),
  uri: optionalString("URI references an external resource when Kind is \"file\".")
}).annotate({
  description: "A2ATaskPart represents content parts compatible with A2A protocol.\n" +
    "Parts can contain text, binary data, or file references."
})

const parts = (description: string) => Schema.Array(A2ATaskPart).annotate({ description })

const A2ATaskMessage = Schema.Struct({
  messageId: optionalString("MessageID is the unique identifier for this message from the A2A protocol."),
  metadata: optionalStringMap("Metadata contains additional key-value pairs for this message."),
  parts: parts("Parts contains the message content as one or more parts."),
  role: Schema.Literals(["user", "agent", "system"]).annotate({
    description: "Role identifies the message sender: \"user\", \"agent\", or \"system\"."
  })
}).annotate({
  description: "A2ATaskMessage represents messages exchanged during A2A task execution.\n" +
    "Messages form the conversation history between user, agent, and system."
})

const A2ATaskArtifact = Schema.Struct({
  artifactId: Schema.NonEmptyString.annotate({
    description: "ArtifactID uniquely identifies this artifact within the task."
  }),
  description: optionalString("Description provides additional context about the artifact."),
  metadata: optionalStringMap("Metadata contains additional key-value pairs for this artifact."),
  name: optionalString("Name is a human-readable name for the artifact."),
  parts: parts("Parts contains the content of the artifact as one or more parts.")
}).annotate({
  description: "A2ATaskArtifact represents artifacts produced during A2A task execution.\n" +
    "Artifacts contain structured content with one or more parts."
})

/** Where another object lives; an empty namespace means the A2ATask's own. */
const namespacedRef = (kind: string) => ({
  namespace: optionalString(
    `Namespace where the ${kind} resource is located.\nIf empty, defaults to the same namespace as the A2ATask.`
  )
})

export const A2ATaskSpec = Schema.Struct({
  // Required since upstream's ToolApprovalRequest line: an approval pause is no longer an A2ATask.
  a2aServerRef: Schema.Struct({
    name: Schema.NonEmptyString.annotate({ description: "Name of the A2AServer resource." }),
    ...namespacedRef("A2AServer")
  }).annotate({ description: "A2AServerRef references the A2AServer to poll for task status updates." }),
  agentRef: Schema.Struct({
    name: optionalString("Name of the Agent resource."),
    ...namespacedRef("Agent")
  }).annotate({ description: "AgentRef references the agent executing this task." }),
  contextId: optionalString("ContextID links this task to an A2A conversation context for stateful interactions."),
  input: optionalString("Input contains the user's input that initiated this task."),
  parameters: optionalStringMap("Parameters contains additional key-value parameters for task execution."),
  pollInterval: optionalString(
    "PollInterval specifies how frequently to check the A2A server for task status updates.",
    { default: "5s" }
  ),
  priority: Schema.optionalKey(Schema.Int.annotate({
    description: "Priority determines task execution order (higher values execute first).",
    format: "int32",
    default: 0
  })),
  queryRef: ObjectRef.annotate({ description: "QueryRef references the Query that created this A2A task." }),
  taskId: Schema.NonEmptyString.annotate({ description: "TaskID is the unique identifier from the A2A protocol." }),
  timeout: optionalString(
    "Timeout specifies how long we will poll the A2A server for task completion before timing out.\n" +
      "If the task has not reached a terminal state (completed, failed, cancelled) within this duration,\n" +
      "it will be marked as failed.",
    { default: "12h" }
  ),
  ttl: optionalString(
    "TTL (time to live) specifies how long to keep this A2ATask resource in the system after completion.\n" +
      "After this duration, the resource may be automatically deleted.",
    { default: "720h" }
  )
}).annotate({
  description: "A2ATaskSpec defines the desired state of an A2ATask.\n" +
    "Links the task to its originating query and captures task parameters."
})
export type A2ATaskSpec = typeof A2ATaskSpec.Type

export const A2ATaskStatus = Schema.Struct({
  artifacts: Schema.optionalKey(
    Schema.Array(A2ATaskArtifact).annotate({
      description: "Artifacts contains outputs produced by the A2A task execution."
    })
  ),
  completionTime: optionalString("CompletionTime records when task execution finished (success or failure).", {
    format: "date-time"
  }),
  conditions: conditions(
    "Conditions represent the latest available observations of the task's state.\n" +
      "The Completed condition indicates whether the task is no longer running."
  ),
  contextId: optionalString("ContextID links this task to a specific A2A conversation context."),
  error: optionalString("Error contains the error message if the task failed."),
  history: Schema.optionalKey(
    Schema.Array(A2ATaskMessage).annotate({
      description: "History contains the complete conversation from the A2A protocol."
    })
  ),
  lastStatusMessage: Schema.optionalKey(A2ATaskMessage.annotate({
    description: "LastStatusMessage contains the most recent status message from the A2A protocol."
  })),
  lastStatusTimestamp: optionalString(
    "LastStatusTimestamp records when the protocol status was last updated (RFC3339 format)."
  ),
  phase: Schema.optionalKey(
    Schema.Literals([
      "pending",
      "assigned",
      "running",
      "input-required",
      "auth-required",
      "completed",
      "failed",
      "cancelled",
      "unknown"
    ]).annotate({
      description: "Phase indicates the current Kubernetes lifecycle stage of the task.\n" +
        "Possible values: pending, assigned, running, input-required, auth-required, completed, failed, cancelled, unknown.",
      default: "pending"
    })
  ),
  protocolMetadata: optionalStringMap("ProtocolMetadata contains additional key-value pairs from the A2A protocol."),
  protocolState: Schema.optionalKey(
    Schema.Literals([
      "submitted",
      "working",
      "input-required",
      "completed",
      "canceled",
      "failed",
      "rejected",
      "auth-required",
      "unknown"
    ]).annotate({
      description: "A2A Protocol fields (flattened from protocol.Task)\n" +
        "ProtocolState indicates the current state in the A2A protocol.\n" +
        "Possible values: submitted, working, input-required, completed, canceled, failed, rejected, auth-required, unknown."
    })
  ),
  startTime: optionalString("StartTime records when task execution began.", { format: "date-time" })
}).annotate({
  description: "A2ATaskStatus defines the observed state of an A2ATask.\n" +
    "Combines Kubernetes lifecycle tracking with A2A protocol task data."
})
export type A2ATaskStatus = typeof A2ATaskStatus.Type
