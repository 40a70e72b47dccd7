/** Storage under database faults: lost connections are retried; an unreachable database is Unavailable, fast. */
import { assert, describe, it, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Exit, Layer, Redacted } from "effect"
import pg from "pg"
import * as PgDatabase from "../../src/layers/postgres/PgDatabase.ts"
import * as PostgresStorage from "../../src/layers/postgres/PostgresStorage.ts"
import type { StoredResource } from "../../src/services/Storage.ts"
import { Storage } from "../../src/services/Storage.ts"
import { freePort } from "../support/net.ts"
import { freshDatabase } from "../support/pg.ts"

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

describe("Storage on PostgreSQL under faults", () => {
  it.live("connections killed by the server are replaced and the request still succeeds", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabase("faults")
      yield* Effect.gen(function*() {
        const storage = yield* Storage
        yield* storage.create(agents, agent("survivor"))
        const getAll = Effect.forEach(
          Array.from({ length: 10 }),
          () => storage.get(agents, "default", "survivor"),
          { concurrency: 10 }
        )
        yield* getAll
        // From outside the pool, terminate every backend it holds.
        const killed = yield* Effect.promise(async () => {
          const admin = new pg.Client({ connectionString: url })
          await admin.connect()
          const r = await admin.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()`)
          await admin.end()
          return r.rows[0].n as number
        })
        assert.isAtLeast(killed, 1)
        const results = yield* getAll
        assert.isTrue(results.every((o) => o.metadata.name === "survivor"))
      }).pipe(Effect.provide(PostgresStorage.layer.pipe(Layer.provide(PgDatabase.layer({ url, poolSize: 10 })))))
    }), { timeout: 60_000 })
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
