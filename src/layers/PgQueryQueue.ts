/**
 * The query queue on PostgreSQL (table ark_query_queue, filled by a trigger in the same
 * transaction that creates a Query). Claims are one statement: `FOR UPDATE SKIP LOCKED` per
 * namespace, ranked so that every namespace's oldest ready item comes before anyone's second;
 * the same statement reads each claimed Query. Removals of finished items are batched.
 */
import { Deferred, Duration, Effect, Exit, Layer, Queue } from "effect"
import { SqlClient } from "effect/sql"
import { findKind, storageKey } from "../domain/registry.ts"
import type { QueueItem } from "../services/QueryQueue.ts"
import { QueryQueue, QueueUnavailable } from "../services/QueryQueue.ts"

const queriesKey = storageKey(findKind("Query")!)

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
    run<{ id: string; namespace: string; name: string; uid: string; attempts: number; lease_token: string; data: string | null }>(
      // The namespaces are found by skipping through the index, one probe each, rather than
      // by reading the whole queue, so a claim costs the same with a backlog of millions.
      `WITH RECURSIVE spaces AS (
         (SELECT namespace FROM ark_query_queue ORDER BY namespace LIMIT 1)
         UNION ALL
         SELECT (SELECT q.namespace FROM ark_query_queue q WHERE q.namespace > s.namespace ORDER BY q.namespace LIMIT 1)
         FROM spaces s WHERE s.namespace IS NOT NULL
       ), ready AS (
         SELECT namespace FROM spaces WHERE namespace IS NOT NULL
       ), picked AS (
         SELECT q.id, q.rank FROM ready CROSS JOIN LATERAL (
           SELECT id, row_number() OVER (ORDER BY id) AS rank FROM (
             SELECT id FROM ark_query_queue
             WHERE namespace = ready.namespace AND visible_at <= now()
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
           ) mine
         ) q
         ORDER BY q.rank, q.id LIMIT $1
       ), claimed AS (
         UPDATE ark_query_queue SET visible_at = now() + $2::interval, attempts = attempts + 1, lease_token = gen_random_uuid()
         WHERE id = ANY(ARRAY(SELECT id FROM picked))
         RETURNING id, namespace, name, uid, attempts, lease_token
       )
       -- Index lookups only (the array and the scalar subquery): never a scan of the queue or of all Queries.
       SELECT c.id::text AS id, c.namespace, c.name, c.uid::text AS uid, c.attempts, c.lease_token::text AS lease_token,
              (SELECT o.data FROM ark_objects o
               WHERE o.resource = '${queriesKey}' AND o.namespace = c.namespace AND o.name = c.name
                 AND o.superseded_rv IS NULL AND o.uid = c.uid) AS data
       FROM claimed c JOIN picked p ON p.id = c.id
       ORDER BY p.rank, c.id`,
      [max, interval(lease)]
    ).pipe(Effect.map((rows) =>
      rows.map((r): QueueItem => ({
        id: r.id,
        namespace: r.namespace,
        name: r.name,
        uid: r.uid,
        attempts: r.attempts,
        leaseToken: r.lease_token,
        ...(r.data !== null ? { object: r.data } : {})
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

  /** Finished items wait here to be removed, many per statement (one round trip, not one per Query). */
  const finished = yield* Queue.unbounded<{ readonly item: QueueItem; readonly done: Deferred.Deferred<void, QueueUnavailable> }>()
  yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
    const batch = yield* Queue.takeBetween(finished, 1, 1000)
    const result = yield* run(
      // Lease tokens are unique, so matching ids and tokens as two sets is matching the pairs;
      // unlike a join with unnest, it stays an index lookup however long the queue is.
      `DELETE FROM ark_query_queue WHERE id = ANY($1::bigint[]) AND lease_token = ANY($2::uuid[])`,
      [batch.map((f) => f.item.id), batch.map((f) => f.item.leaseToken)]
    ).pipe(Effect.exit)
    for (const f of batch) yield* Deferred.done(f.done, Exit.asVoid(result))
  })))

  const complete = (item: QueueItem) =>
    Effect.gen(function*() {
      const done = yield* Deferred.make<void, QueueUnavailable>()
      yield* Queue.offer(finished, { item, done })
      return yield* Deferred.await(done)
    })

  return QueryQueue.of({ claim, renew, release, complete })
})

export const layer = Layer.effect(QueryQueue, make)
