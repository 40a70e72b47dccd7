/**
 * Ark's built-in conversation memory: the messages of conversations, per Memory, kept in ark's
 * own store and served over upstream's HTTP memory protocol (src/layers/http/memory.ts), so a
 * Memory can point at ark itself. Bounded per conversation; each message expires with the Query
 * that wrote it.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"

/** Which conversations: a Memory object's (its namespace and name). */
export interface MemoryKey {
  readonly namespace: string
  readonly memory: string
}

/** A stored message as upstream's protocol lists it. */
export interface MessageRecord {
  readonly timestamp: string
  readonly conversation_id: string
  readonly query_id: string
  /** The chat message, as it was written (OpenAI's shape). */
  readonly message: unknown
  readonly sequence: number
}

export class ConversationStoreUnavailable extends Schema.TaggedError<ConversationStoreUnavailable>()("ConversationStoreUnavailable", {
  message: Schema.String
}) {}

export class ConversationStore extends Context.Service<ConversationStore, {
  /** A new conversation's id. */
  readonly create: (key: MemoryKey) => Effect.Effect<string, ConversationStoreUnavailable>
  /** Appends messages; the conversation keeps only its newest messages beyond the bound. */
  readonly append: (
    key: MemoryKey,
    conversationId: string,
    queryId: string,
    messages: ReadonlyArray<unknown>,
    ttlSeconds: number | undefined
  ) => Effect.Effect<void, ConversationStoreUnavailable>
  /** The conversation's unexpired messages, oldest first. */
  readonly messages: (key: MemoryKey, conversationId: string) => Effect.Effect<ReadonlyArray<MessageRecord>, ConversationStoreUnavailable>
}>()("ark-effect/services/ConversationStore") {}
