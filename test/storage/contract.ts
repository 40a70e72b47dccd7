/**
 * The Storage contract, written once and run against every storage layer (PostgreSQL now,
 * etcd later): what kube clients rely on from the store, checked through the service only.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import type { KubeObject } from "../../src/domain/object.ts"
import type { Change, StoredResource } from "../../src/services/Storage.ts"
import { Storage } from "../../src/services/Storage.ts"

const queries: StoredResource = {
  key: "ark.mckinsey.com/queries",
  group: "ark.mckinsey.com",
  plural: "queries",
  kind: "Query",
  namespaced: true
}
const clusterWide: StoredResource = {
  key: "ark.mckinsey.com/arkconfigs",
  group: "ark.mckinsey.com",
  plural: "arkconfigs",
  kind: "ArkConfig",
  namespaced: false
}

const query = (name: string, extra: Partial<KubeObject> & { labels?: Record<string, string>; namespace?: string } = {}): KubeObject => {
  const { labels, namespace, ...rest } = extra
  return {
    apiVersion: "ark.mckinsey.com/v1alpha1",
    kind: "Query",
    metadata: { name, namespace: namespace ?? "default", ...(labels ? { labels } : {}) },
    spec: { input: `hello ${name}`, target: { type: "agent", name: "helper" } },
    ...rest
  }
}

const failureTag = <A, E extends { _tag: string }>(exit: Exit.Exit<A, E>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const e = exit.cause.reasons.find((r) => r._tag === "Fail")
  return e?._tag === "Fail" ? (e.error as { _tag: string })._tag : "Die"
}

/** Every item of a (possibly paginated) list, as parsed objects. */
const listAll = (resource: StoredResource, options: { namespace?: string; limit?: number } = {}) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const out: Array<KubeObject> = []
    let token: string | undefined
    do {
      const page = yield* storage.list(resource, { ...options, ...(token ? { continue: token } : {}) })
      out.push(...page.items.map((t) => JSON.parse(t) as KubeObject))
      token = page.continue
    } while (token !== undefined)
    return out
  })

const names = (objs: ReadonlyArray<KubeObject>) => objs.map((o) => o.metadata.name!)

export const storageContract = (name: string, storageLayer: Layer.Layer<Storage>) =>
  layer(storageLayer, { timeout: 120_000, excludeTestServices: true })(`Storage contract: ${name}`, (it) => {
    const ns = () => `ns-${Math.random().toString(36).slice(2, 10)}`

    it.effect("create sets server-owned metadata and drops status; get returns it", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const created = yield* storage.create(queries, {
          ...query("first", { namespace }),
          metadata: {
            name: "first",
            namespace,
            uid: "client-chosen",
            resourceVersion: "42",
            generation: 7,
            labels: { a: "b" }
          },
          status: { phase: "done" }
        })
        assert.match(created.metadata.uid!, /^[0-9a-f-]{36}$/)
        assert.match(created.metadata.resourceVersion!, /^[1-9]\d*$/)
        assert.notStrictEqual(created.metadata.resourceVersion, "42")
        assert.strictEqual(created.metadata.generation, 1)
        assert.match(created.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
        assert.strictEqual(created.status, undefined)
        const got = yield* storage.get(queries, namespace, "first")
        assert.deepStrictEqual(got, created)
      }))

    it.effect("get of a missing object is NotFound; a second create is AlreadyExists", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        assert.strictEqual(failureTag(yield* Effect.exit(storage.get(queries, namespace, "nope"))), "NotFound")
        yield* storage.create(queries, query("twice", { namespace }))
        assert.strictEqual(
          failureTag(yield* Effect.exit(storage.create(queries, query("twice", { namespace })))),
          "AlreadyExists"
        )
      }))

    it.effect("of concurrent creates of one name exactly one wins; a burst of distinct names is each stored once, as answered", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const exits = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => Effect.exit(storage.create(queries, { ...query("same", { namespace }), spec: { input: `v${i}` } })),
          { concurrency: "unbounded" }
        )
        const won = exits.filter(Exit.isSuccess)
        assert.strictEqual(won.length, 1)
        assert.deepStrictEqual(exits.filter((e) => !Exit.isSuccess(e)).map(failureTag), Array(19).fill("AlreadyExists"))
        assert.deepStrictEqual(yield* storage.get(queries, namespace, "same"), won[0]!.value)

        const burst = yield* Effect.forEach(
          Array.from({ length: 300 }, (_, i) => `b-${String(i).padStart(3, "0")}`),
          (name) => storage.create(queries, query(name, { namespace, labels: { n: name } })),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(new Set(burst.map((o) => o.metadata.resourceVersion)).size, 300)
        const listed = (yield* listAll(queries, { namespace })).filter((o) => o.metadata.name !== "same")
        assert.deepStrictEqual(listed, [...burst].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!)))
      }))

    it.effect("generateName draws a unique name with the prefix", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const objs = yield* Effect.forEach(
          Array.from({ length: 5 }),
          () => storage.create(queries, { ...query(""), metadata: { generateName: "q-", namespace } })
        )
        for (const o of objs) assert.match(o.metadata.name!, /^q-[a-z0-9]{5}$/)
        assert.strictEqual(new Set(names(objs)).size, 5)
      }))

    it.effect("stale update is a Conflict; of 20 concurrent updates from one version exactly one wins", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const created = yield* storage.create(queries, query("race", { namespace }))
        const exits = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => Effect.exit(storage.update(queries, { ...created, spec: { input: `v${i}` } })),
          { concurrency: "unbounded" }
        )
        const won = exits.filter(Exit.isSuccess)
        assert.strictEqual(won.length, 1)
        assert.deepStrictEqual(exits.filter((e) => !Exit.isSuccess(e)).map(failureTag), Array(19).fill("Conflict"))
        const winner = won[0]!.value
        const now = yield* storage.get(queries, namespace, "race")
        assert.deepStrictEqual(now.spec, winner.spec)
        assert.strictEqual(now.metadata.generation, 2)
        assert.strictEqual(failureTag(yield* Effect.exit(storage.update(queries, created))), "Conflict")
      }))

    it.effect("update without a resourceVersion is Invalid", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        yield* storage.create(queries, query("norv", { namespace }))
        const exit = yield* Effect.exit(storage.update(queries, query("norv", { namespace })))
        assert.strictEqual(failureTag(exit), "Invalid")
      }))

    it.effect("generation moves only on spec changes; update keeps status; status update changes only status", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const v1 = yield* storage.create(queries, query("gen", { namespace }))
        const v2 = yield* storage.update(queries, {
          ...v1,
          metadata: { ...v1.metadata, labels: { x: "y" } },
          status: { phase: "ignored" }
        })
        assert.strictEqual(v2.metadata.generation, 1)
        assert.deepStrictEqual(v2.metadata.labels, { x: "y" })
        assert.strictEqual(v2.status, undefined)
        assert.isTrue(BigInt(v2.metadata.resourceVersion!) > BigInt(v1.metadata.resourceVersion!))
        const v3 = yield* storage.update(queries, {
          ...v2,
          spec: { input: "a" },
          status: { phase: "done" }
        }, { subresource: "status" })
        assert.strictEqual(v3.metadata.generation, 1)
        assert.deepStrictEqual(v3.status, { phase: "done" })
        assert.deepStrictEqual(v3.spec, v1.spec)
        const v4 = yield* storage.update(queries, { ...v3, spec: { input: "changed" } })
        assert.strictEqual(v4.metadata.generation, 2)
        assert.deepStrictEqual(v4.status, { phase: "done" })
        assert.strictEqual(v4.metadata.uid, v1.metadata.uid)
        assert.strictEqual(v4.metadata.creationTimestamp, v1.metadata.creationTimestamp)
      }))

    it.effect("guaranteedUpdate applies a mutation to the newest version despite concurrent writers", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        yield* storage.create(queries, query("counter", { namespace, labels: { n: "0" } }))
        // Half the writers keep the resourceVersion they read, as a patch without one does: a
        // lost race is retried on the newer version for them too, never a Conflict.
        yield* Effect.forEach(Array.from({ length: 16 }, (_, i) => i), (i) =>
          storage.guaranteedUpdate(queries, namespace, "counter", (cur) =>
            Effect.succeed({
              ...cur,
              metadata: {
                ...cur.metadata,
                resourceVersion: i % 2 === 0 ? undefined : cur.metadata.resourceVersion,
                labels: { n: String(Number(cur.metadata.labels!.n) + 1) }
              }
            })), { concurrency: "unbounded" })
        const final = yield* storage.get(queries, namespace, "counter")
        assert.strictEqual(final.metadata.labels!.n, "16")
      }))

    it.effect("a cached version saves the read when current, and is checked against the store when stale", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const v1 = yield* storage.create(queries, query("cached", { namespace, labels: { a: "1" } }))
        const v2 = yield* storage.update(queries, { ...v1, metadata: { ...v1.metadata, labels: { a: "2" } } }, { cached: v1 })
        assert.deepStrictEqual(v2.metadata.labels, { a: "2" })
        // Stale: the mutation runs again on the stored version, so a's newer value survives.
        const seen: Array<string> = []
        const v3 = yield* storage.guaranteedUpdate(queries, namespace, "cached", (cur) => {
          seen.push(cur.metadata.resourceVersion!)
          return Effect.succeed({ ...cur, metadata: { ...cur.metadata, resourceVersion: undefined, labels: { ...cur.metadata.labels, b: "x" } } })
        }, { cached: v1 })
        assert.deepStrictEqual(seen, [v1.metadata.resourceVersion, v2.metadata.resourceVersion])
        assert.deepStrictEqual(v3.metadata.labels, { a: "2", b: "x" })
        // An update of a stale version is a Conflict, dry run or not.
        const stale = { ...v1, metadata: { ...v1.metadata, labels: { c: "y" } } }
        assert.strictEqual(failureTag(yield* Effect.exit(storage.update(queries, stale, { cached: v1 }))), "Conflict")
        assert.strictEqual(failureTag(yield* Effect.exit(storage.update(queries, stale, { cached: v1, dryRun: true }))), "Conflict")
        // A mutation that refuses the cached version is tried on the stored one when they differ;
        // refusing the stored version stands.
        class Refused extends Error {}
        const unlessFirst = (cur: KubeObject) =>
          cur.metadata.labels?.["a"] === "1"
            ? Effect.fail(new Refused())
            : Effect.succeed({ ...cur, metadata: { ...cur.metadata, resourceVersion: undefined, labels: { ...cur.metadata.labels, d: "z" } } })
        const v4 = yield* storage.guaranteedUpdate(queries, namespace, "cached", unlessFirst, { cached: v1 })
        assert.deepStrictEqual(v4.metadata.labels, { a: "2", b: "x", d: "z" })
        const refusing = yield* Effect.exit(storage.guaranteedUpdate(queries, namespace, "cached", () => Effect.fail(new Refused()), { cached: v4 }))
        assert.isTrue(Exit.isFailure(refusing))
        assert.deepStrictEqual((yield* storage.get(queries, namespace, "cached")).metadata.labels, { a: "2", b: "x", d: "z" })
      }))

    it.effect("delete with finalizers marks the object once; removing the last finalizer deletes it", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        yield* storage.create(queries, {
          ...query("fin", { namespace }),
          metadata: { name: "fin", namespace, finalizers: ["ark.mckinsey.com/cleanup"] }
        })
        const first = yield* storage.delete(queries, namespace, "fin")
        assert.isFalse(first.deleted)
        assert.isDefined(first.object.metadata.deletionTimestamp)
        assert.strictEqual(first.object.metadata.generation, 2)
        const second = yield* storage.delete(queries, namespace, "fin")
        assert.isFalse(second.deleted)
        assert.strictEqual(second.object.metadata.deletionTimestamp, first.object.metadata.deletionTimestamp)
        assert.strictEqual(second.object.metadata.resourceVersion, first.object.metadata.resourceVersion)
        const adding = yield* Effect.exit(storage.update(queries, {
          ...second.object,
          metadata: { ...second.object.metadata, finalizers: ["ark.mckinsey.com/cleanup", "other.io/x"] }
        }))
        assert.strictEqual(failureTag(adding), "Invalid")
        const cleared = yield* storage.update(queries, {
          ...second.object,
          metadata: { ...second.object.metadata, finalizers: [] }
        })
        assert.deepStrictEqual(cleared.metadata.finalizers, undefined)
        assert.strictEqual(failureTag(yield* Effect.exit(storage.get(queries, namespace, "fin"))), "NotFound")
        assert.deepStrictEqual(names(yield* listAll(queries, { namespace })), [])
      }))

    it.effect("delete preconditions on uid and resourceVersion are enforced", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const obj = yield* storage.create(queries, query("pre", { namespace }))
        const byUid = yield* Effect.exit(storage.delete(queries, namespace, "pre", { preconditions: { uid: "other" } }))
        assert.strictEqual(failureTag(byUid), "Conflict")
        const byRv = yield* Effect.exit(
          storage.delete(queries, namespace, "pre", { preconditions: { resourceVersion: "1" } })
        )
        assert.strictEqual(failureTag(byRv), "Conflict")
        yield* storage.get(queries, namespace, "pre")
        const ok = yield* storage.delete(queries, namespace, "pre", {
          preconditions: { uid: obj.metadata.uid!, resourceVersion: obj.metadata.resourceVersion! }
        })
        assert.isTrue(ok.deleted)
        assert.strictEqual(failureTag(yield* Effect.exit(storage.get(queries, namespace, "pre"))), "NotFound")
        assert.strictEqual(failureTag(yield* Effect.exit(storage.delete(queries, namespace, "pre"))), "NotFound")
      }))

    it.effect("dryRun writes check everything and persist nothing", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const dry = yield* storage.create(queries, query("dry", { namespace }), { dryRun: true })
        assert.strictEqual(dry.metadata.name, "dry")
        assert.strictEqual(failureTag(yield* Effect.exit(storage.get(queries, namespace, "dry"))), "NotFound")
        const real = yield* storage.create(queries, query("dry", { namespace }))
        yield* storage.update(queries, { ...real, spec: { input: "dry change" } }, { dryRun: true })
        const del = yield* storage.delete(queries, namespace, "dry", { dryRun: true })
        assert.isTrue(del.deleted)
        assert.deepStrictEqual(yield* storage.get(queries, namespace, "dry"), real)
      }))

    it.effect("label, field and namespace selectors", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const a = ns()
        const b = ns()
        yield* storage.create(queries, query("q1", { namespace: a, labels: { app: "web", tier: "front" } }))
        yield* storage.create(queries, query("q2", { namespace: a, labels: { app: "db" } }))
        yield* storage.create(queries, query("q3", { namespace: a }))
        yield* storage.create(queries, query("q1", { namespace: b, labels: { app: "web" } }))
        const sel = (labelSelector: ReadonlyArray<{ key: string; operator: any; values: Array<string> }>, namespace = a) =>
          storage.list(queries, { namespace, labelSelector }).pipe(
            Effect.map((r) => r.items.map((t) => (JSON.parse(t) as KubeObject).metadata.name).sort())
          )
        assert.deepStrictEqual(yield* sel([{ key: "app", operator: "=", values: ["web"] }]), ["q1"])
        assert.deepStrictEqual(yield* sel([{ key: "app", operator: "!=", values: ["web"] }]), ["q2", "q3"])
        assert.deepStrictEqual(yield* sel([{ key: "app", operator: "in", values: ["web", "db"] }]), ["q1", "q2"])
        assert.deepStrictEqual(yield* sel([{ key: "app", operator: "notin", values: ["web"] }]), ["q2", "q3"])
        assert.deepStrictEqual(yield* sel([{ key: "tier", operator: "exists", values: [] }]), ["q1"])
        assert.deepStrictEqual(yield* sel([{ key: "app", operator: "!exists", values: [] }]), ["q3"])
        assert.deepStrictEqual(
          yield* sel([{ key: "app", operator: "=", values: ["web"] }, { key: "tier", operator: "!exists", values: [] }]),
          []
        )
        const byName = yield* storage.list(queries, {
          fieldSelector: [{ field: "metadata.name", operator: "=", value: "q1" }],
          labelSelector: [{ key: "app", operator: "=", values: ["web"] }]
        })
        const found = byName.items.map((t) => JSON.parse(t) as KubeObject).filter((o) =>
          o.metadata.namespace === a || o.metadata.namespace === b
        )
        assert.deepStrictEqual(found.map((o) => o.metadata.namespace).sort(), [a, b].sort())
        const notA = yield* storage.list(queries, {
          fieldSelector: [{ field: "metadata.namespace", operator: "!=", value: a }]
        })
        assert.isFalse(notA.items.some((t) => (JSON.parse(t) as KubeObject).metadata.namespace === a))
      }))

    it.effect("pagination of 1,000 objects returns each exactly once, in order", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const all = Array.from({ length: 1000 }, (_, i) => `p-${String(i).padStart(4, "0")}`)
        yield* Effect.forEach(all, (n) => storage.create(queries, query(n, { namespace })), { concurrency: 16 })
        const pages: Array<number> = []
        const seen: Array<string> = []
        let token: string | undefined
        do {
          const page = yield* storage.list(queries, { namespace, limit: 128, ...(token ? { continue: token } : {}) })
          pages.push(page.items.length)
          seen.push(...page.items.map((t) => (JSON.parse(t) as KubeObject).metadata.name!))
          token = page.continue
        } while (token !== undefined)
        assert.deepStrictEqual(seen, all)
        assert.deepStrictEqual(pages, [128, 128, 128, 128, 128, 128, 128, 104])
      }))

    it.effect("every page of a list reflects its first page's point in time despite concurrent writes", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const initial = Array.from({ length: 300 }, (_, i) => `s-${String(i).padStart(3, "0")}`)
        yield* Effect.forEach(initial, (n) => storage.create(queries, query(n, { namespace })), { concurrency: 16 })
        const first = yield* storage.list(queries, { namespace, limit: 50 })
        const seen = first.items.map((t) => JSON.parse(t) as KubeObject)
        // 100 inserts spread through the key space, 100 deletes of objects not yet listed
        // and 50 updates of them, all committed while the list is paged.
        const writes = [
          ...Array.from({ length: 100 }, (_, i) =>
            storage.create(queries, query(`s-${String(i * 3).padStart(3, "0")}a`, { namespace }))),
          ...initial.slice(100, 200).map((n) => storage.delete(queries, namespace, n)),
          ...initial.slice(250, 300).map((n) =>
            storage.guaranteedUpdate(queries, namespace, n, (cur) =>
              Effect.succeed({ ...cur, spec: { input: "late" } })))
        ]
        yield* Effect.all(writes, { concurrency: 20, discard: true })
        let token = first.continue
        while (token !== undefined) {
          const page = yield* storage.list(queries, { namespace, limit: 50, continue: token })
          assert.strictEqual(page.resourceVersion, first.resourceVersion)
          seen.push(...page.items.map((t) => JSON.parse(t) as KubeObject))
          token = page.continue
        }
        assert.deepStrictEqual(names(seen), initial)
        assert.isTrue(seen.every((o) => (o.spec as { input: string }).input.startsWith("hello")))
        assert.isTrue(seen.every((o) => BigInt(o.metadata.resourceVersion!) <= BigInt(first.resourceVersion)))
        const now = yield* listAll(queries, { namespace })
        assert.strictEqual(now.length, 300)
      }))

    it.effect("a continue token from before a compaction is Expired; a bad token is BadRequest", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        yield* Effect.forEach(["c1", "c2", "c3"], (n) => storage.create(queries, query(n, { namespace })))
        const first = yield* storage.list(queries, { namespace, limit: 1 })
        yield* storage.delete(queries, namespace, "c3")
        yield* storage.compact(queries, yield* storage.currentRevision)
        const exit = yield* Effect.exit(storage.list(queries, { namespace, limit: 1, continue: first.continue! }))
        assert.strictEqual(failureTag(exit), "Expired")
        const bad = yield* Effect.exit(storage.list(queries, { namespace, continue: "not-a-token" }))
        assert.strictEqual(failureTag(bad), "BadRequest")
        const exact = yield* Effect.exit(
          storage.list(queries, { namespace, resourceVersion: first.resourceVersion, resourceVersionMatch: "Exact" })
        )
        assert.strictEqual(failureTag(exact), "Expired")
      }))

    it.effect("changes are every committed version in order; DELETED carries the last state at the deletion's version", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const before = yield* storage.currentRevision
        const a = yield* storage.create(queries, query("ch", { namespace, labels: { v: "1" } }))
        const other = yield* storage.create(queries, query("other", { namespace }))
        const b = yield* storage.update(queries, { ...a, metadata: { ...a.metadata, labels: { v: "2" } } })
        const d = yield* storage.delete(queries, namespace, "ch")
        const upTo = yield* storage.currentRevision
        const mine = (cs: ReadonlyArray<Change>) => cs.filter((c) => c.namespace === namespace)
        const all = mine(yield* storage.changes(queries, before, upTo))
        const rv = (o: KubeObject) => o.metadata.resourceVersion!
        assert.deepStrictEqual(all.map((c) => `${c.type} ${c.name}@${c.resourceVersion}`), [
          `ADDED ch@${rv(a)}`,
          `ADDED other@${rv(other)}`,
          `MODIFIED ch@${rv(b)}`,
          `DELETED ch@${rv(d.object)}`
        ])
        assert.deepStrictEqual(all.map((c) => c.labels), [{ v: "1" }, {}, { v: "2" }, { v: "2" }])
        assert.deepStrictEqual(all[2]!.previousLabels, { v: "1" })
        assert.deepStrictEqual(JSON.parse(all[2]!.object), b)
        const gone = JSON.parse(all[3]!.object) as KubeObject
        assert.strictEqual(gone.metadata.resourceVersion, rv(d.object))
        assert.strictEqual(gone.metadata.uid, a.metadata.uid)
        assert.deepStrictEqual(gone.spec, a.spec)
        // A window of the feed: strictly after its start, up to and including its end.
        const window = mine(yield* storage.changes(queries, rv(a), rv(b)))
        assert.deepStrictEqual(window.map((c) => c.resourceVersion), [rv(other), rv(b)])
        assert.deepStrictEqual(mine(yield* storage.changes(queries, upTo, upTo)), [])
        yield* storage.compact(queries, upTo)
        assert.strictEqual(failureTag(yield* Effect.exit(storage.changes(queries, before, upTo))), "Expired")
      }))

    it.effect("a resource's frontier passes every write, and its changes up to the frontier are at hand", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const before = (yield* storage.frontiers)(queries)
        const a = yield* storage.create(queries, query("f1", { namespace }))
        // A store fed by a watch reaches the write when its watch delivers it: soon, not at once.
        let frontier = before
        for (let i = 0; i < 100 && BigInt(frontier) < BigInt(a.metadata.resourceVersion!); i++) {
          yield* Effect.sleep("100 millis")
          frontier = (yield* storage.frontiers)(queries)
        }
        assert.isTrue(BigInt(frontier) >= BigInt(a.metadata.resourceVersion!), `frontier ${frontier} never reached ${a.metadata.resourceVersion}`)
        const seen = (yield* storage.changes(queries, before, frontier)).filter((c) => c.namespace === namespace)
        assert.deepStrictEqual(seen.map((c) => `${c.type} ${c.name}@${c.resourceVersion}`), [`ADDED f1@${a.metadata.resourceVersion}`])
      }))

    it.effect("list at an exact retained resourceVersion shows that point in time", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const a = yield* storage.create(queries, query("e1", { namespace }))
        yield* storage.create(queries, query("e2", { namespace }))
        yield* storage.delete(queries, namespace, "e1")
        const past = yield* storage.list(queries, {
          namespace,
          resourceVersion: a.metadata.resourceVersion!,
          resourceVersionMatch: "Exact"
        })
        assert.deepStrictEqual(past.items.map((t) => (JSON.parse(t) as KubeObject).metadata.name), ["e1"])
        const now = yield* storage.list(queries, { namespace })
        assert.deepStrictEqual(now.items.map((t) => (JSON.parse(t) as KubeObject).metadata.name), ["e2"])
      }))

    it.effect("bad names and oversized objects are rejected and nothing is stored", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        for (const bad of ["Upper", "under_score", "-dash", "a".repeat(254), "dot.", ""]) {
          const exit = yield* Effect.exit(storage.create(queries, query(bad, { namespace })))
          assert.strictEqual(failureTag(exit), "Invalid", bad)
        }
        const badLabel = yield* Effect.exit(
          storage.create(queries, query("badlabel", { namespace, labels: { "bad key!": "v" } }))
        )
        assert.strictEqual(failureTag(badLabel), "Invalid")
        const badNs = yield* Effect.exit(storage.create(queries, query("ok", { namespace: "Not_A_Namespace" })))
        assert.strictEqual(failureTag(badNs), "Invalid")
        const huge = yield* Effect.exit(
          storage.create(queries, { ...query("huge", { namespace }), spec: { input: "x".repeat(2_000_000) } })
        )
        assert.strictEqual(failureTag(huge), "TooLarge")
        assert.deepStrictEqual(yield* listAll(queries, { namespace }), [])
        const ok = yield* storage.create(queries, query("fine", { namespace }))
        const grown = yield* Effect.exit(storage.update(queries, { ...ok, spec: { input: "y".repeat(2_000_000) } }))
        assert.strictEqual(failureTag(grown), "TooLarge")
        assert.deepStrictEqual(yield* storage.get(queries, namespace, "fine"), ok)
      }))

    it.effect("cluster-scoped objects ignore no namespace and refuse one", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const created = yield* storage.create(clusterWide, {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "ArkConfig",
          metadata: { name: `cfg-${Math.random().toString(36).slice(2, 8)}` },
          spec: {}
        })
        assert.strictEqual(created.metadata.namespace, undefined)
        const got = yield* storage.get(clusterWide, "", created.metadata.name!)
        assert.strictEqual(got.metadata.uid, created.metadata.uid)
        const withNs = yield* Effect.exit(storage.create(clusterWide, {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "ArkConfig",
          metadata: { name: "scoped", namespace: "default" },
          spec: {}
        }))
        assert.strictEqual(failureTag(withNs), "Invalid")
      }))

    it.effect("resourceVersions increase with every write and a list is at least as new as its items", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const namespace = ns()
        const before = BigInt(yield* storage.currentRevision)
        const a = yield* storage.create(queries, query("r1", { namespace }))
        const b = yield* storage.update(queries, { ...a, spec: { input: "2" } })
        const rvA = BigInt(a.metadata.resourceVersion!)
        const rvB = BigInt(b.metadata.resourceVersion!)
        assert.isTrue(before < rvA && rvA < rvB)
        const listed = yield* storage.list(queries, { namespace })
        assert.isTrue(BigInt(listed.resourceVersion) >= rvB)
        assert.strictEqual((JSON.parse(listed.items[0]!) as KubeObject).metadata.resourceVersion, String(rvB))
        const future = yield* Effect.exit(storage.list(queries, { namespace, resourceVersion: String(rvB + 1000n) }))
        assert.strictEqual(failureTag(future), "TooNewResourceVersion")
      }))
  })

