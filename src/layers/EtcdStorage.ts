/**
 * Storage on etcd, with kube-apiserver's key layout: `/registry/<group>/<plural>/<namespace>/<name>`
 * (cluster-scoped: `/registry/<group>/<plural>/<name>`), the object's JSON as the value and the
 * key's `mod_revision` as its resourceVersion. The same lifecycle rules as PostgreSQL
 * (src/domain/lifecycle.ts) decide what a write stores; etcd transactions make it atomic:
 * create on `create_revision == 0`, update and delete on `mod_revision == rv`.
 *
 * Change feed. etcd keeps every revision until compaction, and its watch replays them, but a
 * watch never says "nothing more up to revision R" (etcd 3.4's progress requests are not reliable
 * for that). So each write also touches a small per-resource marker key,
 * `/ark-effect/changed/<group>/<plural>`, in the same transaction: the marker's mod_revision at
 * revision R is the resource's newest change at or below R, and `changes(after, upTo)` knows
 * exactly which revision its events end at. Recent changes come from one long-lived watch on
 * `/registry/<group>/` per process (kube's watch cache); older ones from a watch started at
 * `after + 1`. The long-lived watch also tells this replica about other replicas' commits.
 *
 * Values are stored with `"resourceVersion":""` (the rv is unknown until commit) and the
 * key's mod_revision is spliced into the text on every read, so LIST returns the stored text
 * without parsing it. LIST reads every page at the first page's revision and returns objects in
 * key order, as kube-apiserver on etcd does; label and field selectors are applied in memory.
 *
 * A finalized object (deletionTimestamp set, last finalizer removed by an update) is deleted in
 * one transaction, so its DELETED change carries the last stored state, as kube's does (the
 * PostgreSQL layer's tombstone holds the update's result instead).
 *
 * Compaction is etcd's own and global (every resource at once), as kube-apiserver compacts.
 */
import { Context, Effect, Layer, PubSub, Schedule, Stream } from "effect"
import type { Etcd3, IKeyValue, IRequestOp, IWatchCreateRequest, IWatchResponse, Watcher } from "etcd3"
import { isResourceVersion, maxObjectBytes, splitAtResourceVersion, withResourceVersion } from "../domain/lifecycle.ts"
import type { KubeObject } from "../domain/object.ts"
import { group as arkGroup } from "../domain/registry.ts"
import { matchesFields, matchesLabels } from "../domain/selectors.ts"
import { Commits, RemoteCommits } from "../services/Commits.ts"
import type { StorageError } from "../services/errors.ts"
import { AlreadyExists, BadRequest, Expired, NotFound, TooLarge, TooNewResourceVersion, Unavailable } from "../services/errors.ts"
import type { Change, ListOptions, StoredResource } from "../services/Storage.ts"
import { Storage } from "../services/Storage.ts"
import { decodeContinue, encodeContinue, invalidContinue } from "./continueToken.ts"
import { EtcdClient } from "./EtcdClient.ts"
import { checkSize, ident, namespaceOf, objectSemantics, revisionAtLeast } from "./objectSemantics.ts"

/** How long a request for a future resourceVersion waits for it before failing (kube: 3 s). */

/** Recent changes kept in memory per resource for the watch hub's rounds. */
const feedCapacity = 10_000

/** How long `changes` waits for the long-lived watch before reading history instead. */
const feedWait = "2 seconds"

const expiredContinue =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."

/** Where a resource's objects live: kube-apiserver's layout for custom resources. */
export const objectPrefix = (r: { readonly group: string; readonly plural: string }) => `/registry/${r.group}/${r.plural}/`

const objectKey = (r: StoredResource, namespace: string, name: string) =>
  r.namespaced ? `${objectPrefix(r)}${namespace}/${name}` : `${objectPrefix(r)}${name}`

/** The per-resource change marker (see the module comment), outside `/registry/` so kube never sees it. */
export const markerKey = (r: { readonly key: string }) => `/ark-effect/changed/${r.key}`

/** The first key after every key that starts with `prefix`. */
const prefixEnd = (prefix: string): Buffer => {
  const b = Buffer.from(prefix)
  let i = b.length - 1
  while (i >= 0 && b[i] === 0xff) i--
  if (i < 0) return Buffer.from([0])
  const end = Buffer.from(b.subarray(0, i + 1))
  end[i]! += 1
  return end
}

const rvField = "\"resourceVersion\":\""

/** The stored text with its resourceVersion: canonical order puts the metadata's first in the text. */
const spliceRv = (stored: string, rv: string): string => {
  const at = stored.indexOf(rvField) + rvField.length
  return stored.slice(0, at) + rv + stored.slice(at)
}

const storedText = (obj: KubeObject) => {
  const { prefix, suffix } = splitAtResourceVersion(obj)
  return prefix + suffix
}

const labelsOf = (text: string): Record<string, string> =>
  (JSON.parse(text) as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {}

/** Keyset position of a paginated LIST (the key after the resource prefix), pinned to the first page's revision. */
const continueVersion = "ark-etcd/1"

/** A key after the prefix: no path segment may climb out of the resource's prefix (kube refuses "..", too). */
const keyOf = (t: Record<string, unknown>) => {
  const k = t["k"]
  return typeof k === "string" && !k.split("/").some((segment) => segment === "." || segment === "..") ? k : undefined
}

const messageOf = (e: unknown) => e instanceof Error ? e.message : String(e)

/** etcd's failures as the store's typed errors; anything unexpected is the cluster being unavailable. */
const fromEtcd = (e: unknown): StorageError => {
  const message = messageOf(e)
  if (message.includes("required revision has been compacted")) return new Expired({ message: "too old resource version" })
  if (message.includes("required revision is a future revision")) {
    return new TooNewResourceVersion({ message: "Too large resource version" })
  }
  if (message.includes("request is too large")) {
    return new TooLarge({ message: `object exceeds the maximum size of ${maxObjectBytes} bytes` })
  }
  return new Unavailable({ message: `storage unavailable: ${message}` })
}

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

export const makeEtcdStorage = Effect.gen(function*() {
  const client: Etcd3 = yield* EtcdClient
  const commits = yield* Commits
  const kv = client.kv
  const groupPrefix = `/registry/${arkGroup}/`
  const remote = yield* PubSub.sliding<string>(4096)

  /** A call to etcd with its failure typed. */
  const call = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: fromEtcd })

  const revisionNow = call(() => kv.range({ key: Buffer.from(markerKey({ key: "" })), limit: 1, keys_only: true })).pipe(
    Effect.map((res) => BigInt(res.header.revision))
  )

  const readCurrent = (r: StoredResource, namespace: string, name: string) =>
    call(() => kv.range({ key: Buffer.from(objectKey(r, namespace, name)) })).pipe(
      Effect.flatMap((res) => {
        const found = res.kvs[0]
        return found === undefined
          ? Effect.fail(new NotFound(ident(r, name)))
          : Effect.succeed(JSON.parse(spliceRv(found.value.toString("utf8"), found.mod_revision)) as KubeObject)
      })
    )

  const touchMarker = (r: StoredResource): IRequestOp => ({
    request_put: { key: Buffer.from(markerKey(r)), value: Buffer.alloc(0) }
  })

  /** Runs a write transaction; the new revision when the comparison held, undefined otherwise. */
  const write = (r: StoredResource, compare: Parameters<typeof kv.txn>[0]["compare"], op: IRequestOp) =>
    call(() => kv.txn({ compare, success: [op, touchMarker(r)], failure: [] })).pipe(
      Effect.flatMap((res) =>
        res.succeeded ? Effect.as(commits.publish(r.key), res.header.revision) : Effect.succeed(undefined)
      )
    )

  const insertObject = (r: StoredResource, obj: KubeObject) => {
    const name = obj.metadata.name!
    const text = storedText(obj)
    const key = Buffer.from(objectKey(r, namespaceOf(r, obj), name))
    return checkSize(r, name, text.length).pipe(
      Effect.andThen(write(r, [{ key, target: "Create", result: "Equal", create_revision: 0 }], {
        request_put: { key, value: Buffer.from(text) }
      })),
      Effect.flatMap((rv) =>
        rv === undefined ? Effect.fail(new AlreadyExists(ident(r, name))) : Effect.succeed(withResourceVersion(obj, rv))
      )
    )
  }

  /** Replaces version `expectedRv` with `obj`, or deletes it; the new revision, if this writer won. */
  const replace = (r: StoredResource, obj: KubeObject, expectedRv: string, remove: boolean) => {
    const name = obj.metadata.name!
    const key = Buffer.from(objectKey(r, namespaceOf(r, obj), name))
    const compare = [{ key, target: "Mod" as const, result: "Equal" as const, mod_revision: expectedRv }]
    if (remove) return write(r, compare, { request_delete_range: { key } })
    const text = storedText(obj)
    return checkSize(r, name, text.length).pipe(
      Effect.andThen(write(r, compare, { request_put: { key, value: Buffer.from(text) } }))
    )
  }

  const { create, guaranteedUpdate, update, delete: del } = objectSemantics({
    readCurrent,
    exists: (r, namespace, name) =>
      call(() => kv.range({ key: Buffer.from(objectKey(r, namespace, name)), count_only: true })).pipe(
        Effect.map((res) => res.count !== "0")
      ),
    insert: insertObject,
    // A removal leaves etcd: its DELETED event carries the last stored state, as kube's does.
    replace
  })

  /** Waits (briefly) until etcd has reached revision `rv`. */
  const atRevision = (rv: bigint) => revisionAtLeast(revisionNow, rv)

  const list = (r: StoredResource, opts: ListOptions = {}) =>
    Effect.gen(function*() {
      const inNamespace = r.namespaced && opts.namespace !== undefined && opts.namespace !== ""
      const base = objectPrefix(r) + (inNamespace ? `${opts.namespace}/` : "")
      const end = prefixEnd(base)
      let from = Buffer.from(base)
      /** The revision every chunk is read at; 0 until the first read pins the newest. */
      let revision = 0n
      let expiredMessage = (rv: bigint) => `too old resource version: ${rv}`
      const continued = opts.continue !== undefined && opts.continue !== ""
      if (continued) {
        const token = decodeContinue(opts.continue, continueVersion, keyOf)
        if (token === undefined) return yield* invalidContinue()
        revision = token.rv
        const after = Buffer.from(objectPrefix(r) + token.position + "\u0000")
        if (Buffer.compare(after, from) > 0) from = after
        expiredMessage = () => expiredContinue
      } else {
        const rv = opts.resourceVersion ?? ""
        if (rv !== "" && !isResourceVersion(rv)) return yield* new BadRequest({ message: `invalid resource version "${rv}"` })
        if (opts.resourceVersionMatch === "Exact") {
          if (rv === "" || rv === "0") {
            return yield* new BadRequest({
              message: "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"\" or \"0\""
            })
          }
          revision = BigInt(rv)
          yield* atRevision(revision)
        } else if (rv !== "" && rv !== "0") {
          yield* atRevision(BigInt(rv))
        }
      }
      const labels = opts.labelSelector ?? []
      const fields = opts.fieldSelector ?? []
      const filtering = labels.length > 0 || fields.length > 0
      const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined
      const items: Array<{ readonly rest: string; readonly text: string }> = []
      const prefixLength = Buffer.byteLength(objectPrefix(r))
      while (true) {
        const wanted = limit === undefined ? 0 : filtering ? Math.max(limit + 1, 500) : limit + 1 - items.length
        const at = revision
        const res = yield* call(() => kv.range({ key: from, range_end: end, revision: at.toString(), limit: wanted })).pipe(
          Effect.catchTag("Expired", () => Effect.fail(new Expired({ message: expiredMessage(at) }))),
          // A continue token's revision was one etcd had reached: a future one was forged.
          Effect.catchTag("TooNewResourceVersion", (e): Effect.Effect<never, BadRequest | TooNewResourceVersion> => Effect.fail(continued ? invalidContinue() : e))
        )
        if (revision === 0n) revision = BigInt(res.header.revision)
        for (const item of res.kvs) {
          const rest = item.key.subarray(prefixLength).toString("utf8")
          const text = spliceRv(item.value.toString("utf8"), item.mod_revision)
          if (filtering) {
            const slash = r.namespaced ? rest.indexOf("/") : -1
            const metadata = { name: slash < 0 ? rest : rest.slice(slash + 1), namespace: slash < 0 ? "" : rest.slice(0, slash) }
            if (!matchesFields(fields, { metadata }) || !matchesLabels(labels, labelsOf(text))) continue
          }
          items.push({ rest, text })
          if (limit !== undefined && items.length > limit) break
        }
        const last = res.kvs[res.kvs.length - 1]
        if (!res.more || last === undefined || (limit !== undefined && items.length > limit)) break
        from = Buffer.concat([last.key, Buffer.from([0])])
      }
      const more = limit !== undefined && items.length > limit
      const page = more ? items.slice(0, limit) : items
      const lastItem = page[page.length - 1]
      return {
        resourceVersion: revision.toString(),
        items: page.map((i) => i.text),
        ...(more && lastItem !== undefined ? { continue: encodeContinue(continueVersion, revision, { k: lastItem.rest }) } : {})
      }
    })

  // ---- the change feed ----

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
      ).pipe(Effect.catchTag("Expired", () => Effect.fail(new Expired({ message: `too old resource version: ${after}` }))))
      const last = BigInt(res.responses[0]?.response_range.kvs[0]?.mod_revision ?? "0")
      if (last <= a) return []
      const recent = yield* fromFeed(r, a, last)
      return recent ?? (yield* fromHistory(r, a, last))
    })

  let compactedThrough = 0n

  const compact = (_r: StoredResource, revision: string) =>
    Effect.gen(function*() {
      const rev = BigInt(revision)
      if (rev <= compactedThrough) return 0
      yield* call(() => kv.compact({ revision })).pipe(
        // Another replica (or an earlier call) compacted at or past it already.
        Effect.catchTag("Expired", () => Effect.void)
      )
      compactedThrough = rev
      for (const plural of feed.events.keys()) trim(feed, plural, rev)
      // etcd does not report how many versions it dropped.
      return 0
    })

  const storage = Storage.of({
    create,
    get: (r, namespace, name) => readCurrent(r, r.namespaced ? namespace : "", name),
    update,
    guaranteedUpdate,
    delete: del,
    list,
    currentRevision: Effect.map(revisionNow, (rv) => rv.toString()),
    frontiers: Effect.map(revisionNow, (rv) => () => rv.toString()),
    changes,
    compact
  })
  const remoteCommits = RemoteCommits.of({ changes: Stream.fromPubSub(remote) })
  return { storage, remoteCommits }
})

/**
 * Storage on the etcd client in context, with the in-process Commits signal it publishes to and
 * the RemoteCommits of other replicas (its long-lived watch sees every replica's writes).
 */
export const layer: Layer.Layer<Storage | Commits | RemoteCommits, never, EtcdClient> = Layer.effectContext(
  Effect.map(makeEtcdStorage, ({ remoteCommits, storage }) =>
    Context.make(Storage, storage).pipe(Context.add(RemoteCommits, remoteCommits)))
).pipe(Layer.provideMerge(Commits.layer))
