/**
 * A Model as the engine uses it, its values resolved (Secrets read, Query parameters applied),
 * and what every provider implements: one chat completion over the conversation so far.
 */
import type { Effect } from "effect"
import type { AssistantMessage, ChatMessage, OnPiece, Speaker, ToolDefinition, Usage } from "../../domain/chat.ts"
import type { ProviderError } from "./providerCall.ts"
import type { AzureIdentity } from "./providers/azureIdentity.ts"

export type Provider = "openai" | "azure" | "anthropic" | "bedrock"

export interface ResolvedModel {
  /** namespace/name, for messages. */
  readonly id: string
  readonly provider: Provider
  /** spec.model: the provider's model id (Azure: the deployment; Bedrock: the model id). */
  readonly model: string
  readonly baseUrl?: string
  readonly apiKey?: string
  readonly headers: Readonly<Record<string, string>>
  /** spec.config.<provider>.properties: request fields (temperature, max_tokens, ...) as strings. */
  readonly properties: Readonly<Record<string, string>>
  /** Azure's api-version; Anthropic's anthropic-version. */
  readonly apiVersion?: string
  /** Azure: an Entra ID token from a managed or workload identity instead of an API key. */
  readonly azureIdentity?: AzureIdentity
  readonly bedrock?: {
    readonly region?: string
    readonly accessKeyId?: string
    readonly secretAccessKey?: string
    readonly sessionToken?: string
    readonly modelArn?: string
    readonly maxTokens?: number
    readonly temperature?: string
  }
}

export interface ChatRequest {
  readonly messages: ReadonlyArray<ChatMessage>
  readonly tools: ReadonlyArray<ToolDefinition>
  /** The Agent's outputSchema: the answer must be JSON of this schema (where the provider supports it). */
  readonly outputSchema?: { readonly name: string; readonly schema: Record<string, unknown> }
  /**
   * Called with each piece of the answer's text as the provider streams it: with it, every
   * provider uses its streaming API (OpenAI and Azure `stream: true`, Anthropic's Messages
   * `stream: true`, Bedrock's ConverseStream); without it, the plain call. `end`: the message
   * streamed so far ends there, unfinished (the engine's, when a retried call says otherwise).
   */
  readonly onDelta?: Delta
  /** "required": the model must call one of the tools (a team's selector agent). */
  readonly toolChoice?: "required"
}

/** A streamed piece of an answer's text, or (`end`) the end of the message streamed so far. */
export type Delta = (text: string, end?: boolean) => void

/** A Delta as the answer's pieces, from `speaker`. */
export const speaking = (onPiece: OnPiece, speaker: Speaker): Delta => (text, end) =>
  onPiece({ text, ...speaker, ...(end === true ? { end } : {}) })

export interface ChatResponse {
  readonly message: AssistantMessage
  readonly usage: Usage
}

/** One model call without retries (providerCall.ts adds them). */
export type ChatCall = (request: ChatRequest) => Effect.Effect<ChatResponse, ProviderError>

/** Credentials of a model, to be kept out of every message. */
export const secretsOf = (m: ResolvedModel): ReadonlyArray<string | undefined> => [m.apiKey, m.bedrock?.secretAccessKey, m.bedrock?.sessionToken]

/** A property's string as the JSON value a request field takes: numbers, booleans and JSON as such. */
export const propertyValue = (s: string): unknown => {
  const t = s.trim()
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) return Number(t)
  if (t === "true" || t === "false") return t === "true"
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t)
    } catch {
      return s
    }
  }
  return s
}

export const propertyValues = (properties: Readonly<Record<string, string>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(properties).filter(([, v]) => v !== "").map(([k, v]) => [k, propertyValue(v)]))
