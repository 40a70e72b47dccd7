/**
 * The query queue on PostgreSQL (table ark_query_queue, filled by a trigger in the same
 * transaction that creates a Query). Claims are one statement: `FOR UPDATE SKIP LOCKED` per
 * namespace, ranked so that every namespace's oldest ready item comes before anyone's second.
 */
import { Duration, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { QueueItem } from "../services/QueryQueue.ts"
import { QueryQueue, QueueUnavailable } from "../services/QueryQueue.ts"

const interval = (d: Duration.Duration) => `${Duration.toMillis(d)} milliseconds`

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const run = <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
    sql.unsafe<A>(text, params).pipe(
      Effect.catch((e) =>
        e.isRetryable ? Effect.fail(new QueueUnavailable({ message: `query queue unavailable: ${e.message}` })) : Effect.die(e)
      )
    )

  const claim = (max: number, lease: Duration.Duration) =>
    run<{ id: string; namespace: string; name: string; uid: string; attempts: number; lease_token: string }>(
      `WITH ready AS (
         SELECT DISTINCT namespace FROM ark_query_queue WHERE visible_at <= now()
       ), picked AS (
         SELECT q.id FROM ready CROSS JOIN LATERAL (
           SELECT id, row_number() OVER (ORDER BY id) AS rank FROM (
             SELECT id FROM ark_query_queue
             WHERE namespace = ready.namespace AND visible_at <= now()
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
           ) mine
         ) q
         ORDER BY q.rank, q.id LIMIT $1
       )
       UPDATE ark_query_queue SET visible_at = now() + $2::interval, attempts = attempts + 1, lease_token = gen_random_uuid()
       FROM picked WHERE ark_query_queue.id = picked.id
       RETURNING ark_query_queue.id::text AS id, namespace, name, uid::text AS uid, attempts, lease_token::text AS lease_token`,
      [max, interval(lease)]
    ).pipe(Effect.map((rows) =>
      rows.map((r): QueueItem => ({
        id: r.id,
        namespace: r.namespace,
        name: r.name,
        uid: r.uid,
        attempts: r.attempts,
        leaseToken: r.lease_token
      }))
    ))

  const renew = (item: QueueItem, lease: Duration.Duration) =>
    run<{ id: string }>(
      `UPDATE ark_query_queue SET visible_at = now() + $3::interval WHERE id = $1 AND lease_token = $2 RETURNING id::text AS id`,
      [item.id, item.leaseToken, interval(lease)]
    ).pipe(Effect.map((rows) => rows.length === 1))

  const release = (item: QueueItem, delay: Duration.Duration) =>
    run(
      `UPDATE ark_query_queue SET visible_at = now() + $3::interval, lease_token = NULL WHERE id = $1 AND lease_token = $2`,
      [item.id, item.leaseToken, interval(delay)]
    ).pipe(Effect.asVoid)

  const complete = (item: QueueItem) =>
    run(`DELETE FROM ark_query_queue WHERE id = $1 AND lease_token = $2`, [item.id, item.leaseToken]).pipe(Effect.asVoid)

  return QueryQueue.of({ claim, renew, release, complete })
})

export const layer = Layer.effect(QueryQueue, make)
