/**
 * The etcd store's change feed. etcd keeps every revision until compaction, and its watch
 * replays them, but a watch never says "nothing more up to revision R" (etcd 3.4's progress
 * requests are not reliable for that). So each write also touches a small per-resource marker key,
 * `/ark-effect/changed/<group>/<plural>`, in the same transaction: the marker's mod_revision at
 * revision R is the resource's newest change at or below R, and `changes(after, upTo)` knows
 * exactly which revision its events end at. Recent changes come from one long-lived watch on
 * `/registry/<group>/` per process (kube's watch cache); older ones from a watch started at
 * `after + 1`. The long-lived watch also tells this replica about other replicas' commits.
 */
import { Effect, PubSub, Schedule, Stream } from "effect"
import type { Etcd3, IKeyValue, IWatchCreateRequest, IWatchResponse, Watcher } from "etcd3"
import { group as arkGroup } from "../../domain/registry.ts"
import type { StorageError } from "../../services/errors.ts"
import { Expired } from "../../services/errors.ts"
import type { Change, StoredResource } from "../../services/Storage.ts"
import { tooOldResourceVersion } from "../storage/errors.ts"
import { EtcdClient } from "./EtcdClient.ts"
import { call, fromEtcd } from "./errors.ts"
import { labelsOf, markerKey, objectPrefix, revisionOf, spliceRv } from "./layout.ts"

/** Recent changes kept in memory per resource for the watch hub's rounds. */
const feedCapacity = 10_000

/** How long `changes` waits for the long-lived watch before reading history instead. */
const feedWait = "2 seconds"

/** One event of the long-lived watch, turned into a Change only when a reader asks for it. */
interface FeedEvent {
  readonly rev: bigint
  /** The key after the resource prefix: `<namespace>/<name>` or `<name>`. */
  readonly rest: string
  readonly kv: IKeyValue
  readonly prev: IKeyValue | undefined
  readonly deleted: boolean
  change?: Change
}

const toChange = (r: StoredResource, rest: string, kv: IKeyValue, prev: IKeyValue | undefined, deleted: boolean): Change => {
  const slash = r.namespaced ? rest.indexOf("/") : -1
  const namespace = slash < 0 ? "" : rest.slice(0, slash)
  const name = slash < 0 ? rest : rest.slice(slash + 1)
  const rv = kv.mod_revision
  if (deleted) {
    // The last stored state with the deletion's revision (kube's DELETED event). Without the
    // previous value (compacted away) only the object's identity is known.
    const object = prev !== undefined && prev.value.length > 0
      ? spliceRv(prev.value.toString("utf8"), rv)
      : JSON.stringify({ kind: r.kind, metadata: { name, ...(r.namespaced ? { namespace } : {}), resourceVersion: rv } })
    return { type: "DELETED", resourceVersion: rv, namespace, name, labels: labelsOf(object), object }
  }
  const object = spliceRv(kv.value.toString("utf8"), rv)
  const added = kv.create_revision === kv.mod_revision
  return {
    type: added ? "ADDED" : "MODIFIED",
    resourceVersion: rv,
    namespace,
    name,
    labels: labelsOf(object),
    ...(!added && prev !== undefined ? { previousLabels: labelsOf(prev.value.toString("utf8")) } : {}),
    object
  }
}

const pluralOf = (key: string, groupPrefix: string): { plural: string; rest: string } | undefined => {
  if (!key.startsWith(groupPrefix)) return undefined
  const slash = key.indexOf("/", groupPrefix.length)
  return slash < 0 ? undefined : { plural: key.slice(groupPrefix.length, slash), rest: key.slice(slash + 1) }
}

/**
 * Recent changes of every resource of the group, from one long-lived watch per process. Every
 * event with revision >= `start` has been received in revision order up to `seen`; a reconnect
 * starts a new coverage window (the client resumes past what it had received, and a resume
 * across a compaction is refused), so history before it is read from etcd instead.
 */
interface Feed {
  live: boolean
  start: bigint
  seen: bigint
  readonly events: Map<string, Array<FeedEvent>>
  /** Per plural: events at or below this revision were dropped from memory. */
  readonly trimmed: Map<string, bigint>
  readonly waiters: Set<() => void>
}

const wake = (feed: Feed) => {
  const waiters = [...feed.waiters]
  feed.waiters.clear()
  for (const w of waiters) w()
}

const trim = (feed: Feed, plural: string, upTo: bigint) => {
  const list = feed.events.get(plural)
  if (list === undefined) return
  let n = 0
  while (n < list.length && list[n]!.rev <= upTo) n++
  if (n === 0) return
  feed.trimmed.set(plural, list[n - 1]!.rev)
  list.splice(0, n)
}

/** The feed of this process: `changes` of the Storage contract, and other replicas' commits (`remote`). */
export const make = Effect.gen(function*() {
  const client: Etcd3 = yield* EtcdClient
  const kv = client.kv
  const groupPrefix = `/registry/${arkGroup}/`
  const remote = yield* PubSub.sliding<string>(4096)
  const revisionNow = revisionOf(kv)

  const feed: Feed = { live: false, start: 0n, seen: 0n, events: new Map(), trimmed: new Map(), waiters: new Set() }

  const onFeedData = (res: IWatchResponse) => {
    const touched = new Set<string>()
    for (const ev of res.events) {
      const at = pluralOf(ev.kv.key.toString("utf8"), groupPrefix)
      const rev = BigInt(ev.kv.mod_revision)
      if (rev > feed.seen) feed.seen = rev
      if (at === undefined) continue
      let list = feed.events.get(at.plural)
      if (list === undefined) {
        list = []
        feed.events.set(at.plural, list)
      }
      list.push({ rev, rest: at.rest, kv: ev.kv, prev: ev.prev_kv ?? undefined, deleted: ev.type === "Delete" })
      if (list.length > feedCapacity) trim(feed, at.plural, list[list.length - feedCapacity / 2]!.rev)
      touched.add(`${arkGroup}/${at.plural}`)
    }
    if (res.events.length > 0) wake(feed)
    for (const key of touched) PubSub.publishUnsafe(remote, key)
  }

  /**
   * Runs the long-lived watch until it fails (a resume across a compaction is refused); the
   * caller restarts it from the then current revision.
   */
  const runFeed = Effect.gen(function*() {
    const start = (yield* revisionNow) + 1n
    yield* Effect.callback<never, StorageError>((resume) => {
      let failed = false
      const watcher: Watcher = client.watch().prefix(groupPrefix).startRevision(start.toString()).withPreviousKV().watcher()
      // etcd3 passes the create request itself (typed as the wrapping WatchRequest).
      watcher.on("connecting", (req) => {
        // Each (re)connection starts a new coverage window at the revision it asks for.
        feed.live = false
        feed.events.clear()
        feed.trimmed.clear()
        feed.start = BigInt(String((req as IWatchCreateRequest).start_revision ?? start))
        feed.seen = feed.start - 1n
        wake(feed)
      })
      watcher.on("connected", () => {
        feed.live = true
        wake(feed)
        // Commits may have been missed while the watch was down: every watched resource catches up.
        PubSub.publishUnsafe(remote, "*")
      })
      watcher.on("data", onFeedData)
      watcher.on("disconnected", () => {
        feed.live = false
        wake(feed)
      })
      watcher.on("error", (e) => {
        failed = true
        feed.live = false
        wake(feed)
        resume(Effect.fail(fromEtcd(e)))
      })
      return Effect.suspend(() => failed ? Effect.void : cancelWatcher(watcher))
    })
  })

  yield* Effect.forkScoped(runFeed.pipe(
    Effect.tapCause((cause) => Effect.logWarning("etcd change feed ended; restarting", cause)),
    Effect.retry(Schedule.spaced("500 millis"))
  ))

  /** Cancels a watch and waits (briefly) for etcd to confirm, so the client holds no stray watcher. */
  const cancelWatcher = (watcher: Watcher) =>
    Effect.promise(() => watcher.cancel().catch(() => undefined)).pipe(Effect.timeout("2 seconds"), Effect.ignore)

  /** Changes of `r` in (after, last] from memory, once the feed has reached `last`; undefined when it does not cover them. */
  const fromFeed = (r: StoredResource, after: bigint, last: bigint) => {
    // The feed follows Ark's group only (a kube cluster's etcd holds much more under /registry/):
    // another group's changes (standalone Leases) are never covered and come from history at once.
    const covered = () =>
      r.group === arkGroup && feed.live && after >= feed.start - 1n && after >= (feed.trimmed.get(r.plural) ?? 0n)
    const collect = (): ReadonlyArray<Change> => {
      const list = feed.events.get(r.plural) ?? []
      let lo = 0
      let hi = list.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (list[mid]!.rev <= after) lo = mid + 1
        else hi = mid
      }
      const out: Array<Change> = []
      for (let i = lo; i < list.length && list[i]!.rev <= last; i++) {
        const e = list[i]!
        e.change ??= toChange(r, e.rest, e.kv, e.prev, e.deleted)
        out.push(e.change)
      }
      return out
    }
    const check = Effect.callback<ReadonlyArray<Change> | undefined>((resume) => {
      const attempt = () => {
        if (!covered()) return resume(Effect.undefined)
        if (feed.seen >= last) return resume(Effect.sync(collect))
        feed.waiters.add(attempt)
      }
      attempt()
      return Effect.sync(() => feed.waiters.delete(attempt))
    })
    return check.pipe(Effect.timeoutOrElse({ duration: feedWait, orElse: () => Effect.undefined }))
  }

  /** Changes of `r` in (after, last] from etcd's history: a watch from `after + 1` up to the event at `last`. */
  const fromHistory = (r: StoredResource, after: bigint, last: bigint) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const watcher = client.watch().prefix(objectPrefix(r)).startRevision((after + 1n).toString()).withPreviousKV().watcher()
        const state = { failed: false, error: undefined as unknown, events: [] as Array<Change>, done: false, notify: () => {} }
        watcher.on("data", (res) => {
          for (const ev of res.events) {
            const rev = BigInt(ev.kv.mod_revision)
            if (rev > last) continue
            const at = ev.kv.key.toString("utf8").slice(objectPrefix(r).length)
            state.events.push(toChange(r, at, ev.kv, ev.prev_kv ?? undefined, ev.type === "Delete"))
            if (rev === last) state.done = true
          }
          if (state.done) state.notify()
        })
        watcher.on("disconnected", (e) => {
          state.error ??= e
          state.notify()
        })
        watcher.on("error", (e) => {
          state.failed = true
          state.error ??= e
          state.notify()
        })
        return { watcher, state }
      }),
      ({ state }) =>
        Effect.callback<ReadonlyArray<Change>, StorageError>((resume) => {
          const settle = () => {
            if (state.done) resume(Effect.succeed(state.events))
            else if (state.error !== undefined) resume(Effect.fail(fromEtcd(state.error)))
          }
          state.notify = settle
          settle()
        }),
      ({ watcher, state }) => state.failed ? Effect.void : cancelWatcher(watcher)
    )

  const changes = (r: StoredResource, after: string, upTo: string) =>
    Effect.gen(function*() {
      const a = BigInt(after)
      const u = BigInt(upTo)
      if (u <= a) return []
      // One read: the resource's newest change at or below `upTo` (its marker), and a probe that
      // fails when history at `after` has been compacted.
      const marker = Buffer.from(markerKey(r))
      const res = yield* call(() =>
        kv.txn({
          compare: [],
          success: [
            { request_range: { key: marker, revision: upTo } },
            { request_range: { key: marker, revision: (a > 0n ? a : 1n).toString(), count_only: true } }
          ],
          failure: []
        })
      ).pipe(Effect.catchTag("Expired", () => Effect.fail(new Expired({ message: tooOldResourceVersion(after) }))))
      const last = BigInt(res.responses[0]?.response_range.kvs[0]?.mod_revision ?? "0")
      if (last <= a) return []
      const recent = yield* fromFeed(r, a, last)
      return recent ?? (yield* fromHistory(r, a, last))
    })

  return {
    changes,
    /** Forgets what a compaction through `rev` made history. */
    trimThrough: (rev: bigint) => {
      for (const plural of feed.events.keys()) trim(feed, plural, rev)
    },
    remote: Stream.fromPubSub(remote)
  }
})
