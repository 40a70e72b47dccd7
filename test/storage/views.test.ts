/** The observability views operators query with psql or Grafana (docs/observability.md). */
import { findKind } from "../../src/domain/registry.ts"
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as PgQueryQueue from "../../src/layers/postgres/PgQueryQueue.ts"
import * as PostgresStorage from "../../src/layers/postgres/PostgresStorage.ts"
import { QueryQueue } from "../../src/services/QueryQueue.ts"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import { testDatabase } from "../support/pg.ts"

const queries = storedResource(findKind("Query")!)

layer(
  Layer.mergeAll(PostgresStorage.layer, PgQueryQueue.layer).pipe(Layer.provideMerge(testDatabase("views")), Layer.orDie),
  { excludeTestServices: true }
)("observability views", (it) => {
  it.effect("show Queries with phases, durations and tokens, queue depth, lease expiries, object counts and history", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const queue = yield* QueryQueue
      const sql = yield* SqlClient.SqlClient
      const make = (ns: string, name: string) =>
        storage.create(queries, {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "Query",
          metadata: { name, namespace: ns },
          spec: { input: "hi", target: { type: "agent", name: "helper" } }
        })
      yield* make("team-a", "q1")
      yield* make("team-a", "q2")
      yield* make("team-b", "q3")
      yield* storage.guaranteedUpdate(queries, "team-a", "q1", (q) =>
        Effect.succeed({
          ...q,
          status: {
            phase: "done",
            duration: "1.5s",
            tokenUsage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
            conditions: [{ type: "Completed", status: "True", lastTransitionTime: "2026-11-24T10:00:00Z" }]
          }
        }), { subresource: "status" })
      yield* storage.delete(queries, "team-b", "q3")
      const [claimed] = yield* queue.claim(1, Duration.seconds(60))
      assert.isDefined(claimed)

      const rows = yield* sql.unsafe<{ name: string; phase: string; target_name: string; duration_seconds: string | null; total_tokens: string | null }>(
        `SELECT name, phase, target_name, duration_seconds::text AS duration_seconds, total_tokens::text AS total_tokens FROM ark_queries ORDER BY name`
      )
      assert.deepStrictEqual(rows.map((r) => [r.name, r.phase, r.target_name, r.duration_seconds, r.total_tokens]), [
        ["q1", "done", "helper", "1.5", "15"],
        ["q2", "pending", "helper", null, null]
      ])
      const depth = yield* sql.unsafe<{ namespace: string; queued: string; leased: string }>(
        `SELECT namespace, queued::text AS queued, leased::text AS leased FROM ark_query_queue_depth ORDER BY namespace`
      )
      assert.deepStrictEqual(depth.map((d) => [d.namespace, d.queued]), [["team-a", "2"], ["team-b", "1"]])
      assert.strictEqual(depth.reduce((n, d) => n + Number(d.leased), 0), 1)
      const counts = yield* sql.unsafe<{ objects: string }>(`SELECT objects::text AS objects FROM ark_object_counts WHERE resource = 'ark.mckinsey.com/queries'`)
      assert.strictEqual(counts[0]!.objects, "2")
      const history = yield* sql.unsafe<{ replaced_versions: string; tombstones: string; purge_floor: string }>(
        `SELECT replaced_versions::text AS replaced_versions, tombstones::text AS tombstones, purge_floor::text AS purge_floor FROM ark_history WHERE resource = 'ark.mckinsey.com/queries'`
      )
      assert.deepStrictEqual(history[0], { replaced_versions: "2", tombstones: "1", purge_floor: "0" })
      const leases = yield* sql.unsafe<{ namespace: string; name: string; attempts: number; expired: boolean; running: boolean }>(
        `SELECT namespace, name, attempts, expired, lease_expires_at > now() + interval '50 seconds' AS running FROM ark_query_leases`
      )
      assert.deepStrictEqual(leases.map((l) => [l.namespace, l.name, l.attempts, l.expired, l.running]), [
        [claimed!.namespace, claimed!.name, 1, false, true]
      ])
      // A lease that ran out shows as expired until another worker claims the item again.
      yield* sql.unsafe(`UPDATE ark_query_queue SET visible_at = now() - interval '1 second' WHERE lease_token IS NOT NULL`)
      const lapsed = yield* sql.unsafe<{ expired: boolean }>(`SELECT expired FROM ark_query_leases`)
      assert.deepStrictEqual(lapsed.map((l) => l.expired), [true])
    }))

  it.effect("show statuses other tools wrote: Go durations, and NULL for what they cannot read", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const sql = yield* SqlClient.SqlClient
      const make = (name: string) =>
        storage.create(queries, {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "Query",
          metadata: { name, namespace: "team-c" },
          spec: { input: "hi", target: { type: "agent", name: "helper" } }
        })
      const finished = (name: string, status: Record<string, unknown>) =>
        storage.guaranteedUpdate(queries, "team-c", name, (q) => Effect.succeed({ ...q, status }), { subresource: "status" })
      for (const name of ["go-duration", "millis", "unreadable"]) yield* make(name)
      yield* finished("go-duration", { phase: "done", duration: "1m15.1s", tokenUsage: { totalTokens: 7 } })
      yield* finished("millis", { phase: "done", duration: "1h2m3.5ms" })
      yield* finished("unreadable", {
        phase: "error",
        duration: "about a minute",
        tokenUsage: { totalTokens: "many" },
        conditions: [{ type: "Completed", status: "False", lastTransitionTime: "not a time" }]
      })
      const other = yield* sql.unsafe<{ name: string; duration_seconds: string | null; total_tokens: string | null; finished_at: string | null }>(
        `SELECT name, duration_seconds::text AS duration_seconds, total_tokens::text AS total_tokens, finished_at::text AS finished_at
         FROM ark_queries WHERE namespace = 'team-c' ORDER BY name`
      )
      assert.deepStrictEqual(other.map((r) => [r.name, r.duration_seconds === null ? null : Number(r.duration_seconds), r.total_tokens, r.finished_at]), [
        ["go-duration", 75.1, "7", null],
        ["millis", 3720.0035, null, null],
        ["unreadable", null, null, null]
      ])
    }))
})
