/**
 * The completions engine's core contract: run the Query a QueryRef names (upstream's query
 * extension: ark/api/extensions/query/v1) to its answer, reading the Query and what it targets
 * from the Kubernetes API. Both the engine embedded in `ark serve` and `ark engine` (A2A) serve it.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { ChatMessage, OnPiece, Usage } from "../domain/chat.ts"

export interface QueryRef {
  readonly name: string
  readonly namespace: string
  /** Runs this target instead of the Query's own (a team's member, sent by a calling engine). */
  readonly target?: { readonly type: string; readonly name: string }
  readonly conversationId?: string
  /**
   * With a target override: the calling engine's message, run instead of the Query's input (a
   * member gets the user's input, an engine-backed selector the selection request).
   */
  readonly input?: string
}

export interface Execution {
  /** The answer: the last assistant text. */
  readonly content: string
  /** What the target said, in OpenAI chat format (assistant and tool messages): status.response.raw. */
  readonly messages: ReadonlyArray<ChatMessage>
  /** Summed over every model call of the Query. */
  readonly tokenUsage: Usage
  /** The conversation the Query's memory kept it in (status.conversationId). */
  readonly conversationId?: string
  /** Set when the Query stopped for a human: the ToolApprovalRequest that waits (status.approvalRef). */
  readonly approval?: { readonly name: string }
}

/**
 * Machine-readable failure codes, as upstream's engine reports them: `invalid-config` (a
 * Model, Agent or Tool that cannot be used as written, a missing Secret or ConfigMap),
 * `unsupported-model` (a provider this engine does not speak), `provider-error` (the model API
 * failed, after retries), `not-found` (the Query or its target does not exist),
 * `unsupported-target` (a target type not run here), `max-turns` (the model kept calling tools),
 * `timeout` (the Query's spec.timeout passed), `tool-error` (a Tool targeted by the Query failed), `read-failed` (the Kubernetes API could not be read),
 * `memory-error` (the Query's memory service failed).
 */
export class ExecutionFailed extends Schema.TaggedError<ExecutionFailed>()("ExecutionFailed", {
  code: Schema.Literals(["invalid-config", "unsupported-model", "provider-error", "not-found", "unsupported-target", "max-turns", "timeout", "tool-error", "read-failed", "memory-error"]),
  message: Schema.String,
  /**
   * The engine cannot answer the target as configured: no usable model (its Model or that
   * Model's Secret is missing; a team member's too), or a target type it does not run. A demo engine may
   * answer such a Query instead (`ark serve --demo-fallback`).
   */
  unconfigured: Schema.optionalKey(Schema.Boolean)
}) {}

export interface ExecuteOptions {
  /** Called with the answer's pieces as the models write them (streaming); the Execution still carries it whole. */
  readonly onPiece?: OnPiece
}

export class QueryExecutor extends Context.Service<QueryExecutor, {
  readonly execute: (ref: QueryRef, options?: ExecuteOptions) => Effect.Effect<Execution, ExecutionFailed>
}>()("ark-effect/services/QueryExecutor") {}
