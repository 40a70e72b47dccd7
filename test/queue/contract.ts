/**
 * The QueryQueue contract, run against every queue layer (PostgreSQL, in-memory): creating a
 * Query enqueues it once; claims are exclusive, fair across namespaces and leased; an expired
 * lease makes the item claimable again and only the lease holder can renew, release or complete it.
 */
import { findKind } from "../../src/domain/registry.ts"
import { assert, layer } from "@effect/vitest"
import { Duration, Effect } from "effect"
import type { Layer } from "effect"
import { QueryQueue } from "../../src/services/QueryQueue.ts"
import { Storage, storedResource } from "../../src/services/Storage.ts"

const queries = storedResource(findKind("Query")!)
const agents = storedResource(findKind("Agent")!)

const query = (namespace: string, name: string) => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Query",
  metadata: { name, namespace },
  spec: { input: "hi", target: { type: "agent", name: "a" } }
})

const long = Duration.seconds(60)

/** A queue fed from storage asynchronously (the in-memory one) sees new Queries a moment later. */
const settle = Effect.sleep("300 millis")

export const queueContract = (name: string, queueLayer: Layer.Layer<QueryQueue | Storage>) =>
  layer(queueLayer, { excludeTestServices: true })(`QueryQueue contract: ${name}`, (it) => {
  /** Empties the queue between tests: every claimable item claimed and completed. */
  const drain = Effect.gen(function*() {
    const queue = yield* QueryQueue
    while (true) {
      const items = yield* queue.claim(1000, long)
      if (items.length === 0) return
      yield* Effect.forEach(items, queue.complete)
    }
  })

  it.effect("creating a Query enqueues it once; other kinds and dry runs enqueue nothing", () =>
    Effect.gen(function*() {
      yield* drain
      const storage = yield* Storage
      const queue = yield* QueryQueue
      const created = yield* storage.create(queries, query("q1", "one"))
      yield* storage.create(queries, query("q1", "dry"), { dryRun: true })
      yield* storage.create(agents, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "a", namespace: "q1" }, spec: {} })
      yield* storage.guaranteedUpdate(queries, "q1", "one", (q) => Effect.succeed({ ...q, spec: { input: "changed" } }))
      yield* settle
      const items = yield* queue.claim(10, long)
      assert.deepStrictEqual(items.map((i) => [i.namespace, i.name, i.uid, i.attempts]), [["q1", "one", created.metadata.uid, 1]])
      // The claim carries the Query as stored (perhaps an older version), so a worker need not read it.
      const carried = JSON.parse(items[0]!.object!)
      assert.deepStrictEqual([carried.metadata.uid, carried.metadata.name], [created.metadata.uid, "one"])
      assert.deepStrictEqual(yield* queue.claim(10, long), [])
      yield* queue.complete(items[0]!)
    }))

  it.effect("concurrent claimers never get the same item", () =>
    Effect.gen(function*() {
      yield* drain
      const storage = yield* Storage
      const queue = yield* QueryQueue
      yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => storage.create(queries, query("q2", `c-${i}`)), { concurrency: 10 })
      yield* settle
      const batches = yield* Effect.forEach(Array.from({ length: 8 }), () => queue.claim(40, long), { concurrency: "unbounded" })
      const claimed = batches.flat().map((i) => i.name)
      assert.strictEqual(claimed.length, 200)
      assert.strictEqual(new Set(claimed).size, 200)
      yield* Effect.forEach(batches.flat(), queue.complete)
    }))

  it.effect("one namespace's backlog does not delay another namespace's Query beyond one claim round", () =>
    Effect.gen(function*() {
      yield* drain
      const storage = yield* Storage
      const queue = yield* QueryQueue
      // The figure: 10,000 queued in one namespace.
      yield* Effect.forEach(Array.from({ length: 10_000 }, (_, i) => i), (i) => storage.create(queries, query("busy", `b-${i}`)), { concurrency: 20 })
      yield* storage.create(queries, query("quiet", "single"))
      yield* storage.create(queries, query("other", "also"))
      yield* settle
      const first = yield* queue.claim(5, long)
      assert.includeMembers(first.map((i) => `${i.namespace}/${i.name}`), ["quiet/single", "other/also"])
      assert.strictEqual(first.filter((i) => i.namespace === "busy").length, 3)
      yield* Effect.forEach(first, queue.complete)
    }))

  it.effect("an expired lease makes the item claimable again; the old holder can no longer touch it", () =>
    Effect.gen(function*() {
      yield* drain
      const storage = yield* Storage
      const queue = yield* QueryQueue
      yield* storage.create(queries, query("q3", "leased"))
      yield* settle
      const [first] = yield* queue.claim(1, Duration.millis(300))
      assert.isTrue(yield* queue.renew(first!, Duration.millis(300)))
      assert.deepStrictEqual(yield* queue.claim(1, long), [])
      yield* Effect.sleep("500 millis")
      const [second] = yield* queue.claim(1, long)
      assert.strictEqual(second!.name, "leased")
      assert.strictEqual(second!.attempts, 2)
      assert.isFalse(yield* queue.renew(first!, long))
      yield* queue.complete(first!)
      assert.isTrue(yield* queue.renew(second!, long))
      yield* queue.complete(second!)
      assert.deepStrictEqual(yield* queue.claim(1, long), [])
    }))

  it.effect("a released item comes back after its delay", () =>
    Effect.gen(function*() {
      yield* drain
      const storage = yield* Storage
      const queue = yield* QueryQueue
      yield* storage.create(queries, query("q4", "later"))
      yield* settle
      const [item] = yield* queue.claim(1, long)
      yield* queue.release(item!, Duration.millis(400))
      assert.deepStrictEqual(yield* queue.claim(1, long), [])
      yield* Effect.sleep("600 millis")
      const [again] = yield* queue.claim(1, long)
      assert.strictEqual(again!.name, "later")
      yield* queue.complete(again!)
    }))

  it.effect("a finished Query set back to queued (resumed after an approval) is enqueued again, once", () =>
    Effect.gen(function*() {
      yield* drain
      const storage = yield* Storage
      const queue = yield* QueryQueue
      const created = yield* storage.create(queries, query("q5", "paused"))
      yield* settle
      const [item] = yield* queue.claim(1, long)
      const setPhase = (phase: string) =>
        storage.guaranteedUpdate(queries, "q5", "paused", (q) => Effect.succeed({ ...q, status: { phase } }), { subresource: "status" })
      yield* setPhase("input-required")
      yield* queue.complete(item!)
      yield* setPhase("queued")
      // A second write while it is queued does not enqueue it twice.
      yield* storage.guaranteedUpdate(queries, "q5", "paused", (q) => Effect.succeed({ ...q, metadata: { ...q.metadata, labels: { again: "yes" } } }))
      yield* settle
      const items = yield* queue.claim(10, long)
      assert.deepStrictEqual(items.map((i) => [i.name, i.uid]), [["paused", created.metadata.uid]])
      yield* queue.complete(items[0]!)
    }))
})
