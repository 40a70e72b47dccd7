/**
 * The query queue on PostgreSQL (table ark_query_queue, filled by a trigger in the same
 * transaction that creates a Query). Claims are one statement: `FOR UPDATE SKIP LOCKED` per
 * namespace, ranked so that every namespace's oldest ready item comes before anyone's second;
 * the same statement reads each claimed Query. Removals of finished items are batched.
 */
import { Deferred, Duration, Effect, Exit, Layer, Queue } from "effect"
import { SqlClient } from "effect/sql"
import { findKind, storageKey } from "../../domain/registry.ts"
import type { QueueItem } from "../../services/QueryQueue.ts"
import { QueryQueue, QueueUnavailable } from "../../services/QueryQueue.ts"
import { unavailableOrDie } from "./PgErrors.ts"

const queriesKey = storageKey(findKind("Query")!)

const interval = (d: Duration.Duration) => `${Duration.toMillis(d)} milliseconds`

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const run = <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
    sql.unsafe<A>(text, params).pipe(
      Effect.catch(unavailableOrDie((message) => new QueueUnavailable({ message: `query queue unavailable: ${message}` })))
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

  /**
   * Renewals and removals come from every running Query (10,000 in flight renew every few
   * seconds), so each is queued and sent with the others waiting then: one statement per batch.
   * Lease tokens are unique, so matching ids and tokens as two sets (`= ANY`) matches the pairs
   * and stays an index lookup however long the queue is.
   */
  const renew = yield* batched((batch: ReadonlyArray<{ readonly item: QueueItem; readonly lease: Duration.Duration }>) =>
    run<{ id: string }>(
      `UPDATE ark_query_queue q SET visible_at = now() + d.lease
       FROM unnest($1::bigint[], $3::interval[]) AS d(id, lease)
       WHERE q.id = ANY($1::bigint[]) AND q.lease_token = ANY($2::uuid[]) AND q.id = d.id
       RETURNING q.id::text AS id`,
      [batch.map((b) => b.item.id), batch.map((b) => b.item.leaseToken), batch.map((b) => interval(b.lease))]
    ).pipe(Effect.map((rows) => {
      const renewed = new Set(rows.map((r) => r.id))
      return batch.map((b) => renewed.has(b.item.id))
    }))
  )

  const complete = yield* batched((batch: ReadonlyArray<QueueItem>) =>
    run(
      `DELETE FROM ark_query_queue WHERE id = ANY($1::bigint[]) AND lease_token = ANY($2::uuid[])`,
      [batch.map((i) => i.id), batch.map((i) => i.leaseToken)]
    ).pipe(Effect.map(() => batch.map(() => undefined)))
  )

  const release = (item: QueueItem, delay: Duration.Duration) =>
    run(
      `UPDATE ark_query_queue SET visible_at = now() + $3::interval, lease_token = NULL WHERE id = $1 AND lease_token = $2`,
      [item.id, item.leaseToken, interval(delay)]
    ).pipe(Effect.asVoid)

  const depth = run<{ n: string }>(`SELECT count(*)::text AS n FROM ark_query_queue`, []).pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0)))

  return QueryQueue.of({
    depth,
    claim,
    renew: (item, lease) => renew({ item, lease }),
    release,
    complete
  })
})

/**
 * One statement for many callers: each call waits in a queue; a fiber takes whatever is waiting
 * (up to 1,000), runs `many` on it, and hands each caller its own answer (same order).
 */
const batched = <I, A>(many: (batch: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<A>, QueueUnavailable>) =>
  Effect.gen(function*() {
    const waiting = yield* Queue.unbounded<{ readonly input: I; readonly done: Deferred.Deferred<A, QueueUnavailable> }>()
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const batch = yield* Queue.takeBetween(waiting, 1, 1000)
      const result = yield* Effect.exit(many(batch.map((w) => w.input)))
      for (const [i, w] of batch.entries()) yield* Deferred.done(w.done, Exit.map(result, (answers) => answers[i]!))
    })))
    return (input: I) =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<A, QueueUnavailable>()
        yield* Queue.offer(waiting, { input, done })
        return yield* Deferred.await(done)
      })
  })

export const layer: Layer.Layer<QueryQueue, never, SqlClient.SqlClient> = Layer.effect(QueryQueue, make)
