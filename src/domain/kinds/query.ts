/** Query: one request to an agent, team, model or tool; the controller writes the answer to status; the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { AnyJson, conditions, LabelSelector, ObjectRef, optionalString, Override, Parameter } from "./common.ts"
import type { KubeObject, StatusCause } from "../object.ts"
import type { Admission, Json } from "./admissionRules.ts"
import { annotate, checkDuration, checkLabelSelector, checkName, checkOverrides, checkParameters, list, migrationWarningPrefix, record, required, text } from "./admissionRules.ts"

export const QueryTargetType = Schema.Literals(["agent", "team", "model", "tool"])

/** Upstream leaves the target undocumented; `kubectl explain queries.spec.target` should not print <empty>. */
const QueryTarget = Schema.Struct({
  name: Schema.NonEmptyString.annotate({ description: "Name of the Agent, Team, Model or Tool in the Query's namespace" }),
  type: QueryTargetType.annotate({ description: "Kind of resource that answers the Query: agent, team, model or tool" })
}).annotate({
  description: "Target is the resource that answers the Query: the input is sent to it and its reply becomes status.response"
})

export const QuerySpec = Schema.Struct({
  cancel: Schema.optionalKey(Schema.Boolean.annotate({ description: "When true, indicates intent to cancel the query" })),
  conversationId: Schema.optionalKey(Schema.NonEmptyString.annotate({
    description: "ConversationId is sent as A2A ContextID when dispatching to execution engines.\n" +
      "Engines use it for conversation threading (e.g., memory lookup, session management)."
  })),
  // A string or a list of chat messages; kept verbatim.
  input: AnyJson,
  memory: Schema.optionalKey(ObjectRef),
  overrides: Schema.optionalKey(Schema.Array(Override)),
  parameters: Schema.optionalKey(
    Schema.Array(Parameter).annotate({ description: "Parameters for template processing in the input field" })
  ),
  selector: Schema.optionalKey(LabelSelector),
  serviceAccount: Schema.optionalKey(Schema.NonEmptyString),
  sessionId: Schema.optionalKey(Schema.NonEmptyString),
  target: Schema.optionalKey(QueryTarget),
  timeout: optionalString("Timeout for query execution (e.g., \"30s\", \"5m\", \"1h\")", { default: "30m" }),
  ttl: optionalString(
    "Time to retain Query after completion.\n" +
      "Default is resolved by the mutating webhook from ArkConfig/default\n" +
      "(spec.queryTTL), falling back to 720h when ArkConfig is absent."
  ),
  type: Schema.optionalKey(Schema.Literals(["user"]).annotate({ default: "user" }))
})
export type QuerySpec = typeof QuerySpec.Type

/**
 * The phase of a Query paused for a human (a tool call waiting for approval, status.approvalRef
 * names the ToolApprovalRequest): upstream's name for it since its ToolApprovalRequest line. The
 * query workers write it; an engine that resumes Queries reads it.
 */
export const approvalRequiredPhase = "approval-required"

/**
 * The same pause as released upstream (0.1.72) and its ark-sdk name it: still accepted, because
 * ark-sdk's engines can write it (QueryStatusUpdater) and a Query copied from a release carries it.
 */
export const releasedApprovalPhase = "input-required"

/** Upstream's phases: "queued" waits for a slot; both names of the pause for a human. */
export const QueryPhase = Schema.Literals([
  "pending", "provisioning", "running", "queued", approvalRequiredPhase, releasedApprovalPhase, "error", "done", "canceled"
])

const settledPhases: ReadonlySet<string> = new Set(["done", "error", "canceled", approvalRequiredPhase, releasedApprovalPhase])

/** Whether a Query has ended or paused for a human: the workers and the controller no longer run it. */
export const isSettledQuery = (q: KubeObject): boolean =>
  settledPhases.has(String((q.status as { phase?: unknown } | undefined)?.phase ?? ""))

const TokenCount = Schema.optionalKey(Schema.Int.annotate({ format: "int64" }))

export const QueryStatus = Schema.Struct({
  approvalRef: Schema.optionalKey(
    Schema.Struct({ name: Schema.String, namespace: Schema.optionalKey(Schema.String) }).annotate({
      description: "ApprovalRef references the ToolApprovalRequest when phase is \"approval-required\""
    })
  ),
  conditions: conditions("Conditions represent the latest available observations of a query's state"),
  conversationId: Schema.optionalKey(Schema.NonEmptyString),
  duration: Schema.optionalKey(Schema.String),
  error: optionalString("Error contains error message when phase is \"error\""),
  phase: Schema.optionalKey(QueryPhase.annotate({ default: "pending" })),
  response: Schema.optionalKey(
    Schema.Struct({
      a2a: Schema.optionalKey(
        Schema.Struct({
          contextId: optionalString(
            "ContextID returned by the execution engine via A2A protocol response.\n" +
              "For the completions engine this is the broker conversation UUID.\n" +
              "For named engines this is whatever context ID the engine returned."
          ),
          taskId: optionalString("TaskID from the A2A protocol when the target is an A2A agent and a task was created")
        }).annotate({ description: "A2A contains optional A2A protocol metadata (contextId, taskId)" })
      ),
      content: Schema.optionalKey(Schema.String),
      phase: Schema.optionalKey(Schema.String),
      raw: Schema.optionalKey(Schema.String),
      target: Schema.optionalKey(QueryTarget)
    }).annotate({ description: "Response defines a response from a query target." })
  ),
  tokenUsage: Schema.optionalKey(Schema.Struct({
    cachedTokens: TokenCount,
    completionTokens: TokenCount,
    promptTokens: TokenCount,
    totalTokens: TokenCount
  }))
})
export type QueryStatus = typeof QueryStatus.Type

/** A Query's retention when it names none (upstream: ArkConfig spec.queryTTL, else 720h). */
export const defaultQueryTTL = "720h"

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

/** Upstream's Query webhooks (DefaultQuery, ValidateQuery). */
export const QueryAdmission: Admission = { defaults: defaultQuery, validate: (spec, { causes }) => checkQuery(spec, causes) }
