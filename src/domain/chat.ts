/**
 * The conversation an agent has with its model, in OpenAI Chat Completions' shapes: the shape
 * upstream's engine keeps messages in (status.response.raw, the query extension's `messages`),
 * and the one every provider is translated from and to.
 */

export interface ToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

export type ChatMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string; readonly name?: string }
  | {
    readonly role: "assistant"
    readonly content: string | null
    readonly name?: string
    readonly tool_calls?: ReadonlyArray<ToolCall>
  }
  | { readonly role: "tool"; readonly content: string; readonly tool_call_id: string }

export type AssistantMessage = Extract<ChatMessage, { role: "assistant" }>

/** A function the model may call: its name, what it does, and a JSON Schema of its arguments. */
export interface ToolDefinition {
  readonly name: string
  readonly description: string
  readonly parameters: Record<string, unknown>
}

export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly totalTokens: number
}

/**
 * A piece of a Query's answer as it is written (streamed): text, or the end of one message
 * (`end`, upstream's content boundary), with the agent writing it and the team it speaks in
 * where there is one (upstream's chunk metadata `ark.agent`, `ark.team`).
 */
export interface AnswerPiece extends Speaker {
  readonly text: string
  readonly end?: boolean
}

/** Who writes a piece of an answer: the agent, and the team it speaks in. */
export interface Speaker {
  readonly agent?: string
  readonly team?: string
}

/** Where an answer's pieces go as they are written. */
export type OnPiece = (piece: AnswerPiece) => void

export const noUsage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 }

export const addUsage = (a: Usage, b: Usage): Usage => ({
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  totalTokens: a.totalTokens + b.totalTokens
})

/** The answer of a conversation: the last assistant message with text, as upstream reports it. */
export const answerOf = (messages: ReadonlyArray<ChatMessage>): string => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.role === "assistant" && typeof m.content === "string" && m.content !== "") return m.content
  }
  return ""
}

const roles = new Set(["system", "user", "assistant", "tool"])

/**
 * A Query's `spec.input` of `type: messages`: OpenAI chat messages, checked for what the engine
 * relies on (a role it knows, string content); an error names the first offending message.
 */
export const parseInputMessages = (input: unknown): ReadonlyArray<ChatMessage> | string => {
  if (!Array.isArray(input)) return "spec.input of a messages query must be a list of chat messages"
  for (const [i, m] of input.entries()) {
    if (typeof m !== "object" || m === null || !roles.has((m as { role?: unknown }).role as string)) {
      return `spec.input[${i}] is not a chat message with role system, user, assistant or tool`
    }
    const content = (m as { content?: unknown }).content
    if (!(typeof content === "string" || (content === null && (m as { role: string }).role === "assistant"))) {
      return `spec.input[${i}].content must be a string`
    }
  }
  return input as ReadonlyArray<ChatMessage>
}
