/**
 * Read replicas on a real streaming standby (test/support/replica.ts): reads that allow an older
 * state go to it, consistent reads never do, a replica that lags beyond the bound or is down
 * serves nothing, and every read still succeeds from the primary.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Metric } from "effect"
import { findKind } from "../../src/domain/registry.ts"
import type { KubeObject } from "../../src/domain/object.ts"
import * as PgDatabase from "../../src/layers/postgres/PgDatabase.ts"
import * as PgReadReplicas from "../../src/layers/postgres/PgReadReplicas.ts"
import * as PostgresStorage from "../../src/layers/postgres/PostgresStorage.ts"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import type { ReplicatedPostgres } from "../support/replica.ts"
import { replicatedPostgres } from "../support/replica.ts"

const agents = storedResource(findKind("Agent")!)
const ns = "team"

class Servers extends Context.Service<Servers, ReplicatedPostgres>()("test/ReplicatedPostgres") {}

/** Storage on the primary with the standby as its read replica, lagging at most `maxLag` (fresh: not shared by memoization). */
const storageWithReplica = (replicaUrl: string, maxLag: Duration.Duration) =>
  Layer.fresh(PostgresStorage.layer).pipe(Layer.provideMerge(PgReadReplicas.layer({ urls: [replicaUrl], poolSize: 4, maxLag })))

const env = Layer.unwrap(Effect.map(replicatedPostgres, (servers) =>
  storageWithReplica(servers.replicaUrl, Duration.minutes(1)).pipe(
    Layer.provideMerge(PgDatabase.layer({ url: servers.primaryUrl, poolSize: 8 })),
    Layer.provideMerge(Layer.succeed(Servers, servers))
  )))

/** Polls `check` until it holds (at most 20 s). */
const eventually = <E, R>(what: string, check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 20_000
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting until ${what}`))
      yield* Effect.sleep("100 millis")
    }
  })

const agent = (name: string): KubeObject => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Agent",
  metadata: { name, namespace: ns, labels: { app: "replicas" } },
  spec: { prompt: `I am ${name}` }
})

const names = (texts: ReadonlyArray<string>) => texts.map((t) => (JSON.parse(t) as KubeObject).metadata.name)

/** Table scans and index scans of ark_objects that the standby itself ran (its own statistics). */
const replicaScans = Effect.gen(function*() {
  const servers = yield* Servers
  const rows = yield* Effect.promise(() =>
    servers.onReplica<{ n: string | null }>(
      `SELECT (coalesce(seq_scan, 0) + coalesce(idx_scan, 0))::text AS n FROM pg_stat_user_tables WHERE relname = 'ark_objects'`
    )
  )
  return BigInt(rows[0]?.n ?? "0")
})

const caughtUp = (rv: string) =>
  Effect.gen(function*() {
    const [s] = yield* (yield* PgReadReplicas.PgReadReplicas).status
    return s !== undefined && s.up && s.replayedRv >= BigInt(rv)
  })

layer(env, { excludeTestServices: true, timeout: 120_000 })("read replicas", (it) => {
  it.effect("serve GET and LIST that allow an older state", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      for (let i = 0; i < 5; i++) yield* storage.create(agents, agent(`a-${i}`))
      const rv = yield* storage.currentRevision
      yield* eventually("the replica has replayed the creates", caughtUp(rv))
      const before = yield* replicaScans

      const first = yield* storage.list(agents, { namespace: ns, resourceVersion: "0", limit: 3 })
      assert.deepStrictEqual(names(first.items), ["a-0", "a-1", "a-2"])
      const rest = yield* storage.list(agents, { namespace: ns, continue: first.continue! })
      assert.deepStrictEqual(names(rest.items), ["a-3", "a-4"])
      const notOlder = yield* storage.list(agents, { namespace: ns, resourceVersion: rv, resourceVersionMatch: "NotOlderThan" })
      assert.strictEqual(notOlder.items.length, 5)
      assert.isTrue(BigInt(notOlder.resourceVersion) >= BigInt(rv))
      const exact = yield* storage.list(agents, { namespace: ns, resourceVersion: rv, resourceVersionMatch: "Exact" })
      assert.strictEqual(exact.resourceVersion, rv)
      const got = yield* storage.get(agents, ns, "a-0", { resourceVersion: "0" })
      assert.strictEqual(got.metadata.name, "a-0")

      // The standby counts the scans it ran itself: these reads reached it.
      yield* eventually("the replica's statistics show the reads", Effect.map(replicaScans, (n) => n > before))
    }))

  it.effect("with replay paused, consistent reads see the newest writes and rv 0 reads may not", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const servers = yield* Servers
      yield* Effect.promise(() => servers.onReplica(`SELECT pg_wal_replay_pause()`))
      yield* eventually(
        "replay is paused",
        Effect.map(
          Effect.promise(() => servers.onReplica<{ state: string }>(`SELECT pg_get_wal_replay_pause_state() AS state`)),
          (rows) => rows[0]?.state === "paused"
        )
      )
      const created = yield* storage.create(agents, agent("after-pause"))
      const createdRv = created.metadata.resourceVersion!

      // resourceVersion "": always the primary.
      const newest = yield* storage.get(agents, ns, "after-pause")
      assert.strictEqual(newest.metadata.uid, created.metadata.uid)
      const consistent = yield* storage.list(agents, { namespace: ns, limit: 100 })
      assert.include(names(consistent.items), "after-pause")

      // resourceVersion "0": the paused replica's older state.
      const stale = yield* storage.list(agents, { namespace: ns, resourceVersion: "0", limit: 100 })
      assert.notInclude(names(stale.items), "after-pause")
      assert.isTrue(BigInt(stale.resourceVersion) < BigInt(createdRv))
      const missing = yield* Effect.flip(storage.get(agents, ns, "after-pause", { resourceVersion: "0" }))
      assert.strictEqual(missing._tag, "NotFound")

      // Not older than the create: the replica has not replayed it, so the primary answers.
      const notOlder = yield* storage.list(agents, { namespace: ns, resourceVersion: createdRv, limit: 100 })
      assert.include(names(notOlder.items), "after-pause")
      const fresh = yield* storage.get(agents, ns, "after-pause", { resourceVersion: createdRv })
      assert.strictEqual(fresh.metadata.uid, created.metadata.uid)

      // With a tighter bound the paused replica falls out of use, and its lag shows in the metric.
      yield* Effect.gen(function*() {
        const strict = yield* Storage
        const replicas = yield* PgReadReplicas.PgReadReplicas
        // Replay stays paused, so the lag only grows: both the status and the probed metric pass 500 ms.
        const lagMetric = Effect.flatMap(replicas.status, ([s]) =>
          Metric.value(Metric.withAttributes(PgReadReplicas.lagSeconds, { replica: s!.name })))
        yield* eventually(
          "the replica lags beyond 500 ms",
          Effect.gen(function*() {
            const [s] = yield* replicas.status
            return s?.lag !== undefined && Duration.toMillis(s.lag) > 500 && (yield* lagMetric).value > 0.5
          })
        )
        const served = yield* strict.list(agents, { namespace: ns, resourceVersion: "0", limit: 100 })
        assert.include(names(served.items), "after-pause")
        const got = yield* strict.get(agents, ns, "after-pause", { resourceVersion: "0" })
        assert.strictEqual(got.metadata.uid, created.metadata.uid)
      }).pipe(Effect.provide(storageWithReplica(servers.replicaUrl, Duration.millis(500))))

      yield* Effect.promise(() => servers.onReplica(`SELECT pg_wal_replay_resume()`))
      yield* eventually("the replica has replayed the create", caughtUp(createdRv))
      const replayed = yield* storage.list(agents, { namespace: ns, resourceVersion: "0", limit: 100 })
      assert.include(names(replayed.items), "after-pause")
    }))

  it.effect("with the replica stopped, every read succeeds from the primary", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const servers = yield* Servers
      yield* Effect.promise(() => servers.stopReplica())
      const created = yield* storage.create(agents, agent("after-stop"))
      const rv = created.metadata.resourceVersion!
      const got = yield* storage.get(agents, ns, "after-stop", { resourceVersion: "0" })
      assert.strictEqual(got.metadata.uid, created.metadata.uid)
      assert.strictEqual((yield* storage.get(agents, ns, "after-stop", { resourceVersion: rv })).metadata.uid, created.metadata.uid)
      const first = yield* storage.list(agents, { namespace: ns, resourceVersion: "0", limit: 4 })
      const rest = yield* storage.list(agents, { namespace: ns, continue: first.continue! })
      assert.include(names([...first.items, ...rest.items]), "after-stop")
      const notOlder = yield* storage.list(agents, { namespace: ns, resourceVersion: rv, resourceVersionMatch: "NotOlderThan" })
      assert.include(names(notOlder.items), "after-stop")
      const exact = yield* storage.list(agents, { namespace: ns, resourceVersion: rv, resourceVersionMatch: "Exact" })
      assert.include(names(exact.items), "after-stop")
      const replicas = yield* PgReadReplicas.PgReadReplicas
      yield* eventually("the replica shows as down", Effect.map(replicas.status, ([s]) => s?.up === false))
    }))
})
