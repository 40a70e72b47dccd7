/**
 * PostgreSQL storage publishes each committed version with its commit, and the watch hub delivers
 * that version without reading it back: it must be exactly what the change feed holds at its rv.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import * as PostgresStorage from "../../src/layers/postgres/PostgresStorage.ts"
import { Commits } from "../../src/services/Commits.ts"
import type { StoredResource } from "../../src/services/Storage.ts"
import { Storage } from "../../src/services/Storage.ts"
import { testDatabase } from "../support/pg.ts"

const queries: StoredResource = { key: "ark.mckinsey.com/queries", group: "ark.mckinsey.com", plural: "queries", kind: "Query", namespaced: true }

layer(PostgresStorage.layer.pipe(Layer.provideMerge(testDatabase("commits")), Layer.orDie), { timeout: 60_000, excludeTestServices: true })("PostgreSQL commits", (it) => {
  it.effect("the version published with each write is the change feed's at its rv (ADDED, MODIFIED with the labels before, DELETED)", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const commits = yield* Commits
      const published = yield* Effect.forkChild(Stream.runCollect(Stream.take(commits.subscribe, 4)))
      // The collector subscribes when it first runs.
      yield* Effect.yieldNow
      const created = yield* storage.create(queries, {
        apiVersion: "ark.mckinsey.com/v1alpha1",
        kind: "Query",
        metadata: { name: "q", namespace: "default", labels: { group: "g1", tier: "a" } },
        spec: { input: "hello", target: { type: "agent", name: "helper" } }
      })
      const relabelled = yield* storage.guaranteedUpdate(queries, "default", "q", (o) => Effect.succeed({ ...o, metadata: { ...o.metadata, labels: { group: "g2" } } }))
      yield* storage.update(queries, { ...relabelled, spec: { input: "again", target: { type: "agent", name: "helper" } } })
      yield* storage.delete(queries, "default", "q")
      const commitsSeen = yield* Fiber.join(published)
      assert.deepStrictEqual(commitsSeen.map((c) => c.change?.type), ["ADDED", "MODIFIED", "MODIFIED", "DELETED"])
      assert.strictEqual(commitsSeen[0]!.change!.resourceVersion, created.metadata.resourceVersion)
      for (const c of commitsSeen) {
        assert.strictEqual(c.key, queries.key)
        const rv = BigInt(c.change!.resourceVersion)
        const feed = yield* storage.changes(queries, (rv - 1n).toString(), rv.toString())
        assert.deepStrictEqual(c.change, feed[0])
      }
      assert.deepStrictEqual(commitsSeen[1]!.change!.previousLabels, { group: "g1", tier: "a" })
    }))
})
