/**
 * Query answer streams in ark's PostgreSQL (table ark_query_chunks). One writer per running
 * Query (its worker) appends; sequence numbers continue after what an earlier attempt wrote.
 * Chunks of Queries that no longer exist are deleted in the background (by every replica: the
 * statement is idempotent). etcd configurations have no such table: there the streams are
 * unavailable, with the reason.
 */
import { Duration, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { findKind, storageKey } from "../../domain/registry.ts"
import type { StreamPiece } from "../../services/QueryStreams.ts"
import { QueryStreams, QueryStreamsUnavailable } from "../../services/QueryStreams.ts"
import { causeMessage, isUnavailable } from "./PgErrors.ts"

const queriesKey = storageKey(findKind("Query")!)

export const make = (purgeEvery: Duration.Duration) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const run = <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe<A>(text, params).pipe(
        Effect.catch((e) =>
          isUnavailable(e) ? Effect.fail(new QueryStreamsUnavailable({ message: `query streams unavailable: ${causeMessage(e)}` })) : Effect.die(e)
        )
      )

    yield* Effect.forkScoped(
      run(
        `DELETE FROM ark_query_chunks c WHERE NOT EXISTS (
           SELECT 1 FROM ark_objects o WHERE o.resource = '${queriesKey}' AND o.namespace = c.namespace AND o.name = c.name
             AND o.superseded_rv IS NULL AND o.uid = c.uid)`,
        []
      ).pipe(Effect.ignore, Effect.delay(purgeEvery), Effect.forever)
    )

    return QueryStreams.of({
      append: (query, pieces) =>
        pieces.length === 0 ? Effect.void : Effect.asVoid(run(
          `INSERT INTO ark_query_chunks (uid, seq, namespace, name, text, ark)
           SELECT $1::uuid, coalesce((SELECT max(seq) FROM ark_query_chunks WHERE uid = $1::uuid), 0) + t.n, $2, $3, t.text, t.ark
           FROM (VALUES ${pieces.map((_, i) => `($${2 * i + 4}::text, $${2 * i + 5}::jsonb, ${i + 1})`).join(", ")}) AS t(text, ark, n)`,
          [query.uid, query.namespace, query.name, ...pieces.flatMap(({ text, ...speaker }) => [text, Object.keys(speaker).length === 0 ? null : JSON.stringify(speaker)])]
        )),
      read: (query, after, limit) =>
        run<{ seq: number; text: string; ark: Omit<StreamPiece, "text"> | null }>(
          `SELECT seq, text, ark FROM ark_query_chunks WHERE uid = $1::uuid AND seq > $2 ORDER BY seq LIMIT $3`,
          [query.uid, after, limit]
        ).pipe(Effect.map((rows) => rows.map((r) => ({ ...r.ark, seq: Number(r.seq), text: r.text }))))
    })
  })

export const layer = (purgeEvery: Duration.Duration): Layer.Layer<QueryStreams, never, SqlClient.SqlClient> => Layer.effect(QueryStreams, make(purgeEvery))

/** Where there is no PostgreSQL (etcd storage): writes are dropped (non-streaming clients are unaffected), reads say why. */
export const unavailable: Layer.Layer<QueryStreams> = Layer.succeed(QueryStreams, QueryStreams.of({
  append: () => Effect.void,
  read: () => Effect.fail(new QueryStreamsUnavailable({ message: "following a Query's answer needs PostgreSQL storage (--storage postgres)" }))
}))
