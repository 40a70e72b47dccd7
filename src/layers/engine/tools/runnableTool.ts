/** A tool as the turn loop runs it: what the model sees of it, and how one call runs. */
import { Schema } from "effect"
import type { Effect } from "effect"
import type { ToolDefinition } from "../../../domain/chat.ts"

/** A tool call that failed: its message goes back to the model as the tool's result. */
export class ToolFailed extends Schema.TaggedError<ToolFailed>()("ToolFailed", {
  message: Schema.String
}) {}

export interface RunnableTool {
  readonly definition: ToolDefinition
  readonly run: (args: Record<string, unknown>) => Effect.Effect<string, ToolFailed>
  /** Upstream's builtin `terminate`: its result is the final answer and the loop ends. */
  readonly terminates?: boolean
  /** Calls of this tool wait for a human's approval first (the agent's or the Tool's `approval` with `required: true`). */
  readonly approval?: ApprovalPolicy
}

/** When calls need approval and what happens if nobody answers. */
export interface ApprovalPolicy {
  /** Only calls whose named argument matches one of these patterns; none: every call. */
  readonly argumentMatches?: ReadonlyArray<{ readonly argument: string; readonly pattern: string }>
  readonly timeout?: string
  readonly onTimeout?: "reject" | "proceed"
}

/** Arguments as template data: strings as they are, anything else as JSON. */
export const argumentText = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value)
