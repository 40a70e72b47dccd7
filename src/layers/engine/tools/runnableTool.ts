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
}

/** Arguments as template data: strings as they are, anything else as JSON. */
export const argumentText = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value)
