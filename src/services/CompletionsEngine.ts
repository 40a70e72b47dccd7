/**
 * The completions engine contract: hand one Query's input to an engine that speaks A2A and get
 * its answer. Interrupting the effect aborts the call.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { OnPiece } from "../domain/chat.ts"
import type { approvalRequiredPhase } from "../domain/kinds/query.ts"

export interface CompletionRequest {
  /** The engine's A2A base URL (where its agent card is served). */
  readonly url: string
  /** The resolved input, sent as the user message's text. */
  readonly input: string
  /** Conversation id, sent as the A2A contextId. */
  readonly contextId?: string
  /** What the Query targets (resolved from spec.target or spec.selector); engines read it from the Query, the demo engine from ark-effect's own metadata. */
  readonly target: { readonly type: string; readonly name: string; readonly namespace: string }
  /**
   * The Query's own spec.target. Upstream's QueryRef names a `target` only to override it (a
   * team's member, a selector's pick): ark-sdk's engines refuse an override of an agent target.
   */
  readonly queryTarget?: { readonly type: string; readonly name: string }
  /** The Query itself: sent as upstream Ark's query extension QueryRef `{name, namespace}`. */
  readonly query: { readonly name: string; readonly namespace: string }
  /** Called with the answer's pieces as the engine streams them (A2A message/stream, or in process); none: one blocking call. */
  readonly onPiece?: OnPiece
}

export interface TokenUsage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly totalTokens: number
}

export interface CompletionResult {
  /**
   * "approval-required": the engine answered with a Task that waits for a human (A2A's
   * input-required state), which pauses the Query in upstream's phase of that name.
   */
  readonly state: "completed" | typeof approvalRequiredPhase
  /** The answer's text. */
  readonly content: string
  /** The engine's reply as JSON text, kept in status.response.raw. */
  readonly raw: string
  readonly contextId?: string
  readonly taskId?: string
  readonly tokenUsage?: TokenUsage
  /** The conversation the engine's memory kept the Query in (status.conversationId). */
  readonly conversationId?: string
  /** With "input-required": the ToolApprovalRequest the engine waits on (the Query's status.approvalRef). */
  readonly approvalRef?: string
}

/** The engine could not be reached or answered with a server error: worth retrying. */
export class EngineUnavailable extends Schema.TaggedError<EngineUnavailable>()("EngineUnavailable", {
  message: Schema.String
}) {}

/** The engine answered, with a failure (rejected request, failed task): retrying will not help. */
export class EngineFailed extends Schema.TaggedError<EngineFailed>()("EngineFailed", {
  message: Schema.String
}) {}

export class CompletionsEngine extends Context.Service<CompletionsEngine, {
  readonly complete: (request: CompletionRequest) => Effect.Effect<CompletionResult, EngineUnavailable | EngineFailed>
}>()("ark-effect/services/CompletionsEngine") {}
