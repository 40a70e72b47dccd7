/**
 * The watch stress checker: concurrent writers on two replicas, many watchers with mixed
 * selectors and start points, the store's notification path cut (PostgreSQL: the LISTEN
 * connections killed; etcd: the etcd member restarted; kube-apiserver serving Ark's CRDs: every
 * connection of the replicas to it cut) and one replica restarted mid-run.
 * Every watcher must have seen every committed version of every object it selects exactly
 * once, in resourceVersion order, as the store's own history says (no event lost,
 * duplicated or reordered), resuming like a reflector whenever its connection ends. The same
 * run is made against each storage layer.
 *
 * Size: ARK_STRESS_SCALE (default 1; the benchmark runs it at 10).
 */
import { findKind } from "../../src/domain/registry.ts"
import { Effect, ManagedRuntime } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { afterAll, describe, expect, it } from "vitest"
import type { Selection } from "../../src/domain/watch.ts"
import { eventType } from "../../src/domain/watch.ts"
import type { Change } from "../../src/services/Storage.ts"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import { startCluster } from "../support/cluster.ts"
import { startEtcd, withEtcdStorage } from "../support/etcd.ts"
import { applyCrds, kubeStorageLayer } from "../support/kubeStorage.ts"
import { cuttableProxy } from "../support/pipes.ts"
import type { RunningServer, ServerOptions } from "../support/server.ts"
import { freePort } from "../support/net.ts"
import { withStorage } from "../support/pg.ts"
import { startServer } from "../support/server.ts"
import { openWatch } from "../support/watch.ts"

const scale = Number(process.env["ARK_STRESS_SCALE"] ?? "1")
const objects = 30 * scale
const opsPerWriter = 60 * scale
const watcherCount = 50
const namespace = "stress"
const path = `/apis/ark.mckinsey.com/v1alpha1/namespaces/${namespace}/queries`
const resource = storedResource(findKind("Query")!)
const env = { ARK_WATCH_BOOKMARK_INTERVAL: "300 millis" }

const servers: Array<RunningServer> = []
const dirs: Array<string> = []
const cleanups: Array<() => Promise<void>> = []
/** Every run's watchers' stop flag: a failed run's watchers would otherwise resume forever and hold the test process. */
const stops: Array<{ stopped: boolean }> = []
afterAll(async () => {
  for (const s of stops) s.stopped = true
  for (const s of servers) await s.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  for (const c of cleanups) await c()
})

/** One storage configuration under test: how replicas reach it, how to fault it, and its own history. */
interface Store {
  readonly name: string
  /** Starts the store (if it is not a replica's own) and the first replica. */
  readonly start: (options: ServerOptions) => Promise<{
    readonly a: RunningServer
    /** What further replicas of the same store are started with. */
    readonly replica: ServerOptions
    /** Cuts every replica's notification path to the store while writers and watchers keep going. */
    readonly fault: () => Promise<void>
    /**
     * The resourceVersion of the resource's newest committed change; at least `seen`, a change a
     * watcher has already been sent (a reference that follows the store may not have it yet).
     */
    readonly lastChange: (seen?: string) => Promise<string>
    /** Runs an effect on a Storage of its own over the same store. */
    readonly withStorage: <A, E>(effect: Effect.Effect<A, E, Storage>) => Promise<A>
    readonly diagnose: () => Promise<string>
  }>
}

const postgres: Store = {
  name: "PostgreSQL",
  start: async (options) => {
    const a = await startServer(options)
    const db = new pg.Pool({ connectionString: a.databaseUrl!, max: 2 })
    cleanups.push(() => db.end())
    return {
      a,
      replica: { databaseUrl: a.databaseUrl! },
      fault: async () => {
        // Cut every LISTEN connection: replicas must reconnect and catch up.
        const killed = await db.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()`)
        expect(killed.rows[0].n).toBeGreaterThanOrEqual(2)
      },
      // rvs drawn by writes that lost a race commit nothing: the newest row is the reference.
      lastChange: async () => String((await db.query(`SELECT max(rv)::text AS rv FROM ark_objects WHERE resource = $1`, [resource.key])).rows[0].rv),
      withStorage: (effect) => withStorage(a.databaseUrl!, effect),
      diagnose: async () => {
        const activity = await db.query(`SELECT pid, application_name, state, wait_event_type, wait_event, left(query, 80) AS q, now() - xact_start AS age FROM pg_stat_activity WHERE datname = current_database()`)
        return JSON.stringify(activity.rows, null, 1)
      }
    }
  }
}

const etcd: Store = {
  name: "etcd",
  start: async (options) => {
    const member = await startEtcd()
    cleanups.push(() => member.stop())
    const replica = { etcdEndpoint: member.endpoint }
    const a = await startServer({ ...options, ...replica })
    const storageOf = <A, E>(effect: Effect.Effect<A, E, Storage>) => withEtcdStorage(member.endpoint, effect)
    return {
      a,
      replica,
      fault: async () => {
        // Kill the etcd member and start it again: every replica's connections and watches drop
        // (writes in between fail) and must resume without losing a change.
        const before = member.pid()
        await member.restart()
        expect(member.pid()).not.toBe(before)
      },
      // Every etcd revision is a committed write, and only this test writes to this member.
      lastChange: () => storageOf(Effect.gen(function*() { return yield* (yield* Storage).currentRevision })),
      withStorage: storageOf,
      diagnose: async () => `etcd member pid ${member.pid()}`
    }
  }
}

const kube: Store = {
  name: "kube-apiserver with Ark's CRDs",
  start: async (options) => {
    const cluster = await startCluster()
    cleanups.push(() => cluster.stop())
    await applyCrds(cluster)
    await cluster.ok(["create", "namespace", namespace])
    // The replicas reach kube-apiserver through a proxy the fault cuts.
    const proxy = await cuttableProxy("127.0.0.1", Number(new URL(cluster.url).port))
    cleanups.push(async () => proxy.close())
    const kubeconfig = await cluster.kubeconfig("ark", { cn: "ark", groups: ["system:masters"] }, {
      server: `https://127.0.0.1:${proxy.port}`,
      caPem: cluster.ca.certPem,
      serverName: "kubernetes"
    })
    // The reference: the kind's history as a Storage of the test's own (straight to kube-apiserver,
    // which the fault does not cut) delivers it, recorded from before the first write. Read only
    // at the end, it would come from kube's watch cache, which a 10x run outgrows (410).
    const reference = ManagedRuntime.make(kubeStorageLayer(cluster.admin))
    const run = <A, E>(effect: Effect.Effect<A, E, Storage>) => reference.runPromise(Effect.scoped(effect).pipe(Effect.orDie))
    const since = await run(Effect.gen(function*() { return (yield* (yield* Storage).frontiers)(resource) }))
    const history: Array<Change> = []
    let recorded = since
    const pull = () => run(Effect.gen(function*() {
      const storage = yield* Storage
      const upTo = (yield* storage.frontiers)(resource)
      history.push(...(yield* storage.changes(resource, recorded, upTo)))
      recorded = upTo
    }))
    // One pull at a time, each from where the last ended (a failed one is retried by the next).
    let pulled = Promise.resolve()
    const record = () => (pulled = pulled.then(pull, pull))
    let recording = true
    const recorder = (async () => {
      while (recording) {
        await record().catch(() => undefined)
        await sleep(200)
      }
    })()
    // Before the cluster stops.
    cleanups.unshift(async () => {
      recording = false
      await recorder
      await reference.dispose()
    })
    const replica = { kubeconfig }
    const a = await startServer({ ...options, ...replica })
    return {
      a,
      replica,
      fault: async () => {
        // Every connection of every replica to kube-apiserver drops (the feeds' watches with them)
        // and must resume without losing a change.
        expect(proxy.cut()).toBeGreaterThan(0)
      },
      // Other kinds (kube's own Leases) move kube's revision too: the reference is the kind's history.
      lastChange: async (seen) => {
        const deadline = Date.now() + 30_000
        await record()
        while (seen !== undefined && BigInt(recorded) < BigInt(seen) && Date.now() < deadline) {
          await sleep(100)
          await record()
        }
        return history[history.length - 1]?.resourceVersion ?? since
      },
      withStorage: async (effect) => {
        await record()
        const upTo = BigInt(recorded)
        return run(Effect.gen(function*() {
          const inner = yield* Storage
          const changes: typeof inner.changes = (r, after, to) =>
            r.key !== resource.key || BigInt(to) > upTo
              ? inner.changes(r, after, to)
              : Effect.succeed(history.filter((c) => BigInt(c.resourceVersion) > BigInt(after) && BigInt(c.resourceVersion) <= BigInt(to)))
          return yield* effect.pipe(Effect.provideService(Storage, Storage.of({ ...inner, changes })))
        }))
      },
      diagnose: async () => cluster.apiserverLog().slice(-3000)
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A seeded pseudo-random sequence, so a failing run can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}

interface Seen {
  readonly type: string
  readonly name: string
  readonly rv: string
}

interface WatcherSpec {
  readonly id: number
  readonly replica: () => RunningServer
  readonly query: string
  readonly selection: Selection
  readonly startRv: string | undefined
}

interface WatcherResult {
  readonly spec: WatcherSpec
  /** resourceVersion of the initial state (sendInitialEvents), and that state. */
  initialRv: string | undefined
  readonly initial: Array<Seen>
  readonly events: Array<Seen>
  lastRv: string
  resumes: number
  /** Connections ended by a 503 ERROR while the store was unreachable. */
  unavailable: number
  /** Where the current connection is: for diagnosing a watcher that stalls. */
  stage: string
}

/** Watches like a reflector: on any end of the connection it resumes from the last resourceVersion it saw. */
const runWatcher = (spec: WatcherSpec, stop: { stopped: boolean }): { result: WatcherResult; done: Promise<void> } => {
  const result: WatcherResult = { spec, initialRv: undefined, initial: [], events: [], lastRv: spec.startRv ?? "0", resumes: 0, unavailable: 0, stage: "new" }
  const done = (async () => {
    let first = true
    while (!stop.stopped) {
      // A connection that ended before the initial state was complete starts over, as a reflector relists.
      if (spec.startRv === undefined && result.initialRv === undefined) {
        first = true
        result.initial.length = 0
      }
      const query = first && spec.startRv === undefined
        ? `${spec.query}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`
        : `${spec.query}&resourceVersion=${result.lastRv}`
      let w
      try {
        result.stage = `opening ${spec.replica().url}`
        w = await openWatch(spec.replica().url, `${path}?watch=true&allowWatchBookmarks=true&${query}`)
        result.stage = `open ${w.status}`
      } catch {
        result.stage = "open failed"
        await sleep(100)
        continue
      }
      const inInitial = first && spec.startRv === undefined
      first = false
      let consumed = 0
      let initialDone = !inInitial
      let unavailable = false
      const drain = () => {
        for (; consumed < w.frames.length && !unavailable; consumed++) {
          const f = w.frames[consumed]!
          if (f.type === "ERROR") {
            // The store itself was down (a fault of the run): a reflector retries from where it was.
            if (f.object?.code === 503) {
              unavailable = true
              result.unavailable++
              continue
            }
            throw new Error(`watcher ${spec.id} got ERROR ${JSON.stringify(f.object)}`)
          }
          const rv = f.object.metadata.resourceVersion as string
          if (f.type === "BOOKMARK") {
            if (!initialDone && f.object.metadata.annotations?.["k8s.io/initial-events-end"] === "true") {
              initialDone = true
              result.initialRv = rv
            }
            if (initialDone) result.lastRv = rv
            continue
          }
          const seen = { type: f.type, name: f.object.metadata.name as string, rv }
          if (!initialDone) result.initial.push(seen)
          else {
            result.events.push(seen)
            result.lastRv = rv
          }
        }
      }
      while (!stop.stopped && !unavailable) {
        drain()
        const ended = await Promise.race([w.ended.then(() => true), sleep(50).then(() => false)])
        if (ended) break
      }
      drain()
      w.close()
      if (!stop.stopped) result.resumes++
    }
  })()
  return { result, done }
}

describe.each([postgres, etcd, kube])("watch stress on $name", (store) => {
  it("delivers every committed version exactly once, in order, to every watcher, through faults", async () => {
    const rand = random(42)
    const portB = await freePort()
    const dirB = mkdtempSync(join(tmpdir(), "ark-stress-"))
    dirs.push(dirB)
    const { a, replica, fault, lastChange, withStorage: withStoreStorage, diagnose } = await store.start({ insecureHttp: true, env })
    servers.push(a)
    let b = await startServer({ insecureHttp: true, ...replica, port: portB, dataDir: dirB, env })
    servers.push(b)
    const replicas = [() => a, () => b]

    const send = async (via: RunningServer, method: string, p: string, body?: unknown, type = "application/json") => {
      try {
        const res = await fetch(`${via.url}${p}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": type } }) })
        await res.arrayBuffer()
        return res.status
      } catch {
        return 0 // replica down: the write did not happen through it
      }
    }
    const name = () => `o-${Math.floor(rand() * objects)}`
    const group = () => `g${Math.floor(rand() * 4)}`
    const writer = async (w: number) => {
      const via = replicas[w % 2]!
      for (let i = 0; i < opsPerWriter; i++) {
        const n = name()
        const op = rand()
        const target = `${path}/${n}`
        if (op < 0.3) {
          await send(via(), "POST", path, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Query", metadata: { name: n, labels: { group: group() } }, spec: { input: "x", target: { type: "agent", name: "a" } } })
        } else if (op < 0.45) {
          await send(via(), "PATCH", target, { spec: { input: `w${w}-${i}` } }, "application/merge-patch+json")
        } else if (op < 0.6) {
          await send(via(), "PATCH", target, { metadata: { labels: { group: group() } } }, "application/merge-patch+json")
        } else if (op < 0.7) {
          await send(via(), "PATCH", `${target}/status`, { status: { phase: "running" } }, "application/merge-patch+json")
        } else if (op < 0.8) {
          await send(via(), "PATCH", target, { metadata: { finalizers: ["ark.mckinsey.com/hold"] } }, "application/merge-patch+json")
        } else if (op < 0.9) {
          await send(via(), "DELETE", target)
        } else {
          await send(via(), "PATCH", target, { metadata: { finalizers: null } }, "application/merge-patch+json")
        }
      }
    }

    // Some history before the first watchers, so rv-N starts have something to skip.
    await Promise.all([0, 1, 2, 3].map((w) => writer(w)))
    const stop = { stopped: false }
    stops.push(stop)
    const selections: ReadonlyArray<{ query: string; selection: Selection }> = [
      { query: "", selection: { labels: [], fields: [] } },
      { query: "labelSelector=group%3Dg1", selection: { labels: [{ key: "group", operator: "=", values: ["g1"] }], fields: [] } },
      { query: "labelSelector=group%20in%20(g2%2Cg3)", selection: { labels: [{ key: "group", operator: "in", values: ["g2", "g3"] }], fields: [] } },
      { query: "labelSelector=group%21%3Dg0", selection: { labels: [{ key: "group", operator: "!=", values: ["g0"] }], fields: [] } },
      { query: "fieldSelector=metadata.name%3Do-1", selection: { labels: [], fields: [{ field: "metadata.name", operator: "=", value: "o-1" }] } }
    ]
    const startRv = async () => ((await (await fetch(`${a.url}${path}`)).json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion
    const watchers: Array<{ result: WatcherResult; done: Promise<void> }> = []
    const writing = Promise.all([0, 1, 2, 3].map((w) => writer(w)))
    for (let i = 0; i < watcherCount; i++) {
      const sel = selections[i % selections.length]!
      const fromList = i % 2 === 0
      watchers.push(runWatcher({
        id: i,
        replica: replicas[i % 2]!,
        query: sel.query,
        selection: sel.selection,
        startRv: fromList ? await startRv() : undefined
      }, stop))
      if (i === 20) await fault()
      if (i === 35) {
        // Restart replica B on the same address while writers and watchers keep going.
        await b.stop()
        servers.splice(servers.indexOf(b), 1)
        b = await startServer({ insecureHttp: true, ...replica, port: portB, dataDir: dirB, env })
        servers.push(b)
      }
      await sleep(10)
    }
    await writing
    await Promise.all([0, 1, 2, 3].map((w) => writer(w + 4)))

    // Everything is written: wait until every watcher has caught up with the last committed change
    // (bookmarks carry each replica's position).
    // The reference may learn of the last writes after a watcher has been sent them: then the
    // newest change is the newest any watcher saw, and every watcher must catch up with it too.
    const newestSent = () =>
      watchers.map((w) => w.result.events.at(-1)?.rv ?? "0").reduce((a, b) => (BigInt(b) > BigInt(a) ? b : a), "0")
    let final = await lastChange()
    const deadline = Date.now() + 60_000
    for (;;) {
      while (watchers.some((w) => BigInt(w.result.lastRv) < BigInt(final))) {
        if (Date.now() > deadline) {
          const behind = watchers.filter((w) => BigInt(w.result.lastRv) < BigInt(final)).map((w) => `${w.result.spec.id}:${w.result.lastRv}:r${w.result.resumes}:${w.result.stage}`)
          console.log(await diagnose())
          throw new Error(`watchers did not catch up to ${final}: ${behind.join(" ")}`)
        }
        await sleep(100)
      }
      const sent = newestSent()
      if (BigInt(sent) <= BigInt(final)) break
      final = await lastChange(sent)
      // A reference that never learns of it: the check below reports the event it lacks.
      if (BigInt(final) < BigInt(sent)) break
    }
    stop.stopped = true
    await Promise.all(watchers.map((w) => w.done))

    // The store's own history is the reference.
    const check = Effect.gen(function*() {
      const storage = yield* Storage
      let total = 0
      for (const { result } of watchers) {
        const { spec } = result
        const from = spec.startRv ?? result.initialRv!
        expect(from, `watcher ${spec.id} never started`).toBeDefined()
        if (spec.startRv === undefined) {
          const state = yield* storage.list(resource, { namespace, labelSelector: spec.selection.labels, fieldSelector: spec.selection.fields, resourceVersion: from, resourceVersionMatch: "Exact" })
          const expectedInitial = state.items.map((t) => JSON.parse(t)).map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort()
          expect(result.initial.map((s) => `${s.name}@${s.rv}`).sort(), `watcher ${spec.id} initial state`).toEqual(expectedInitial)
        }
        const changes = yield* storage.changes(resource, from, final)
        const expected = changes.flatMap((c) => {
          const type = eventType({ ...spec.selection, namespace }, c)
          return type === undefined ? [] : [`${type} ${c.name}@${c.resourceVersion}`]
        })
        expect(result.events.map((s) => `${s.type} ${s.name}@${s.rv}`), `watcher ${spec.id} (${spec.query || "all"}) events`).toEqual(expected)
        total += expected.length
      }
      return total
    })
    const total = await withStoreStorage(check)
    expect(total).toBeGreaterThan(watcherCount * 10)
    expect(watchers.filter((w) => w.result.resumes > 0).length).toBeGreaterThan(0)
  }, 240_000)
})
