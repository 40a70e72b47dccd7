/**
 * The built-in conversation memory in ark's PostgreSQL (table ark_conversation_messages): each
 * conversation keeps at most `maxMessages` (its oldest go first), each message expires with the
 * Query that wrote it, and expired messages are deleted in the background by every replica
 * (the statement is idempotent). The etcd configuration has no such table: there it is
 * unavailable, with the reason.
 */
import { Duration, Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { randomUUID } from "node:crypto"
import type { MessageRecord } from "../../services/ConversationStore.ts"
import { ConversationStore, ConversationStoreUnavailable } from "../../services/ConversationStore.ts"
import { causeMessage, isUnavailable } from "./PgErrors.ts"

export interface PgConversationStoreOptions {
  /** Messages one conversation keeps. */
  readonly maxMessages: number
  /** How often expired messages are deleted. */
  readonly purgeEvery: Duration.Duration
}

export const make = (options: PgConversationStoreOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const run = <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe<A>(text, params).pipe(
        Effect.catch((e) =>
          isUnavailable(e) ? Effect.fail(new ConversationStoreUnavailable({ message: `memory unavailable: ${causeMessage(e)}` })) : Effect.die(e)
        )
      )

    yield* Effect.forkScoped(
      run(`DELETE FROM ark_conversation_messages WHERE expires_at < now()`, []).pipe(
        Effect.ignore,
        Effect.repeat(Schedule.spaced(options.purgeEvery))
      )
    )

    return ConversationStore.of({
      create: () => Effect.succeed(randomUUID()),
      append: (key, conversationId, queryId, messages, ttlSeconds) =>
        messages.length === 0 ? Effect.void : sql.withTransaction(Effect.gen(function*() {
          // One row per message, in order: ids follow the VALUES list.
          const rows = messages.map((_, i) => `($1, $2, $3, $4, $${i + 6}, CASE WHEN $5::int IS NULL THEN NULL ELSE now() + make_interval(secs => $5::int) END)`)
          yield* run(
            `INSERT INTO ark_conversation_messages (namespace, memory, conversation_id, query_id, message, expires_at) VALUES ${rows.join(", ")}`,
            [key.namespace, key.memory, conversationId, queryId, ttlSeconds ?? null, ...messages.map((m) => JSON.stringify(m))]
          )
          yield* run(
            `DELETE FROM ark_conversation_messages
             WHERE namespace = $1 AND memory = $2 AND conversation_id = $3 AND id <= (
               SELECT id FROM ark_conversation_messages WHERE namespace = $1 AND memory = $2 AND conversation_id = $3
               ORDER BY id DESC OFFSET $4 LIMIT 1)`,
            [key.namespace, key.memory, conversationId, options.maxMessages]
          )
        })).pipe(
          Effect.catchTag("SqlError", (e) => Effect.fail(new ConversationStoreUnavailable({ message: `memory unavailable: ${causeMessage(e)}` })))
        ),
      messages: (key, conversationId) =>
        run<{ id: string; created_at: Date; query_id: string; message: string }>(
          `SELECT id::text AS id, created_at, query_id, message FROM ark_conversation_messages
           WHERE namespace = $1 AND memory = $2 AND conversation_id = $3 AND (expires_at IS NULL OR expires_at > now())
           ORDER BY id`,
          [key.namespace, key.memory, conversationId]
        ).pipe(Effect.map((rows) =>
          rows.map((r, i): MessageRecord => ({
            timestamp: new Date(r.created_at).toISOString(),
            conversation_id: conversationId,
            query_id: r.query_id,
            message: JSON.parse(r.message),
            sequence: i + 1
          }))
        ))
    })
  })

export const layer = (options: PgConversationStoreOptions): Layer.Layer<ConversationStore, never, SqlClient.SqlClient> =>
  Layer.effect(ConversationStore, make(options))

/** Where there is no PostgreSQL (etcd storage): every call says so. */
export const unavailable: Layer.Layer<ConversationStore> = Layer.succeed(ConversationStore, (() => {
  const no = Effect.fail(new ConversationStoreUnavailable({ message: "ark's built-in memory needs PostgreSQL storage (--storage postgres)" }))
  return ConversationStore.of({ create: () => no, append: () => no, messages: () => no })
})())
