/**
 * Ark's built-in memory over upstream's HTTP memory protocol, at a Memory object's
 * `/conversations` and `/messages` endpoints (so that Memory's address can be ark itself):
 * `POST conversations` answers `{conversation_id}`; `POST messages` with `{conversation_id,
 * query_id, messages, ttl_seconds?}` appends; `GET messages?conversation_id=` lists
 * `{items, total, hasMore}`. The Memory must exist; bad bodies are 400 Status answers.
 */
import { Effect, Schema } from "effect"
import type { ResourceInfo } from "../../domain/registry.ts"
import { ConversationStore } from "../../services/ConversationStore.ts"
import type { ApiError } from "../../services/errors.ts"
import { BadRequest, MethodNotAllowed, Unavailable } from "../../services/errors.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import type { Reply } from "./response.ts"

export interface MemoryRequest {
  readonly method: string
  readonly info: ResourceInfo
  readonly namespace: string
  readonly name: string
  readonly endpoint: string
  readonly query: URLSearchParams
  readonly body: Effect.Effect<string, ApiError>
}

const ChatMessage = Schema.Record(Schema.String, Schema.Unknown).check(Schema.makeFilter((m) => typeof m["role"] === "string" || "a message needs a role"))
const AppendBody = Schema.Struct({
  conversation_id: Schema.NonEmptyString,
  query_id: Schema.String,
  messages: Schema.Array(ChatMessage),
  ttl_seconds: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))))
})
const decodeAppend = Schema.decodeUnknownEffect(Schema.fromJsonString(AppendBody))

const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value), contentType: "application/json" })

const notAllowed = (method: string) => new MethodNotAllowed({ message: `the server does not allow this method on the requested resource (${method})` })

export const handleMemory = (r: MemoryRequest): Effect.Effect<Reply, ApiError, Storage | ConversationStore> =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const store = yield* ConversationStore
    // Only an existing Memory has conversations (404 as kube answers for the object).
    yield* storage.get(storedResource(r.info), r.namespace, r.name)
    const key = { namespace: r.namespace, memory: r.name }
    if (r.endpoint === "conversations") {
      if (r.method !== "POST") return yield* notAllowed(r.method)
      return json(201, { conversation_id: yield* store.create(key) })
    }
    if (r.method === "GET") {
      const conversation = r.query.get("conversation_id") ?? ""
      if (conversation === "") return yield* new BadRequest({ message: "conversation_id is required" })
      const items = yield* store.messages(key, conversation)
      return json(200, { items, total: items.length, hasMore: false })
    }
    if (r.method !== "POST") return yield* notAllowed(r.method)
    const body = yield* decodeAppend(yield* r.body).pipe(
      Effect.mapError((e) => new BadRequest({ message: `the messages body is not valid: ${e.message}` }))
    )
    yield* store.append(key, body.conversation_id, body.query_id, body.messages, body.ttl_seconds ?? undefined)
    return json(201, {})
  }).pipe(Effect.catchTag("ConversationStoreUnavailable", (e) => Effect.fail(new Unavailable({ message: e.message }))))
