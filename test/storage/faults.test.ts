/** Storage under database faults: lost connections are retried; an unreachable database is Unavailable, fast. */
import { assert, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Exit, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as PostgresStorage from "../../src/layers/PostgresStorage.ts"
import type { StoredResource } from "../../src/services/Storage.ts"
import { Storage } from "../../src/services/Storage.ts"
import { freePort } from "../support/net.ts"
import { testDatabase } from "../support/pg.ts"

const agents: StoredResource = {
  key: "ark.mckinsey.com/agents",
  group: "ark.mckinsey.com",
  plural: "agents",
  kind: "Agent",
  namespaced: true
}

const agent = (name: string) => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Agent",
  metadata: { name, namespace: "default" },
  spec: { prompt: "be helpful" }
})

layer(
  Layer.provideMerge(PostgresStorage.layer, testDatabase("faults")).pipe(Layer.orDie),
  { excludeTestServices: true }
)("Storage on PostgreSQL under faults", (it) => {
  it.effect("connections killed by the server are replaced and the request still succeeds", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const sql = yield* SqlClient.SqlClient
      yield* storage.create(agents, agent("survivor"))
      const getAll = Effect.forEach(
        Array.from({ length: 10 }),
        () => storage.get(agents, "default", "survivor"),
        { concurrency: 10 }
      )
      yield* getAll
      // Terminate every other backend of this database: the pool's idle connections die.
      const killer = yield* sql.unsafe<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()`
      )
      assert.isAtLeast(killer[0]!.n, 1)
      const results = yield* getAll
      assert.isTrue(results.every((o) => o.metadata.name === "survivor"))
    }))
})


layer(
  Layer.unwrap(Effect.promise(async () => {
    // A port that was just released refuses connections.
    const port = await freePort()
    return PostgresStorage.layer.pipe(
      Layer.provide(PgClient.layer({
        url: Redacted.make(`postgres://postgres:x@127.0.0.1:${port}/none`),
        connectTimeout: Duration.seconds(2)
      }))
    )
  })).pipe(Layer.orDie),
  { excludeTestServices: true }
)("Storage on an unreachable PostgreSQL", (it) => {
  it.effect("answers Unavailable within seconds instead of hanging", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const started = Date.now()
      const exit = yield* Effect.exit(storage.get(agents, "default", "any").pipe(Effect.timeout("20 seconds")))
      assert.isTrue(Exit.isFailure(exit))
      const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.strictEqual(failure?._tag === "Fail" ? (failure.error as { _tag: string })._tag : "none", "Unavailable")
      assert.isBelow(Date.now() - started, 15_000)
    }))
})
