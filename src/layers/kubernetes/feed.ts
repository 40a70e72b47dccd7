/**
 * The change feed of the Kubernetes storage layer: one watch per kind per process (an informer's
 * reflector without its store), so the watch hub, the controller and the workers never ask
 * kube-apiserver once per object.
 *
 * Each kind is listed once, then watched from the list's resourceVersion with bookmarks; a watch
 * that ends is resumed from the last version it delivered (event or bookmark), and a 410 means a
 * relist: what came between is unknown, so the kind's coverage starts again at the new list
 * (readers from before it get their history from kube, or Expired). The last version a kind's
 * watch delivered is its frontier: nothing of that kind at or below it can still arrive.
 *
 * History older than the feed's memory is read from kube itself: the labels at the start (a LIST
 * at that exact version, for `previousLabels`), then a watch from it until an event or bookmark
 * at or past the end. kube sends such a watch a bookmark shortly before its timeout, once its
 * watch cache has reached the end (a consistent LIST first makes it catch up).
 */
import { Deferred, Effect } from "effect"
import type { KubeObject } from "../../domain/object.ts"
import type { StorageError } from "../../services/errors.ts"
import { Expired, Unavailable } from "../../services/errors.ts"
import type { Change, StoredResource } from "../../services/Storage.ts"
import { tooOldResourceVersion } from "../storage/errors.ts"
import { fromStatus } from "./errors.ts"
import type { KubeClient } from "./KubeClient.ts"

/** Recent changes kept in memory per kind for the hub's rounds. */
const feedCapacity = 10_000

/** How long `changes` waits for a kind's watch to reach its end before reading history instead. */
const feedWaitMillis = 500

/** A history read that has not reached its end in this long fails (the store is not answering). */
const historyDeadlineMillis = 30_000

type Labels = Readonly<Record<string, string>>

interface KindFeed {
  readonly resource: StoredResource
  /** Every change with resourceVersion > start is in `events` (or was trimmed); undefined before the first list. */
  start: bigint | undefined
  /** The last version the kind's watch delivered (the frontier). */
  last: bigint
  /** Changes with resourceVersion <= trimmed were dropped from memory. */
  trimmed: bigint
  /** Compacted through: reads from at or below it are Expired. */
  floor: bigint
  events: Array<Change>
  /** Each object's labels, for the next change's previousLabels. */
  labels: Map<string, Labels>
  readonly waiters: Set<() => void>
  readonly deletions: Set<(c: Change) => void>
  /** Counted towards `listed` (listed once, or found not served). */
  counted: boolean
}

interface Frame {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR"
  readonly object: KubeObject & { code?: number; message?: string }
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`

const wake = (f: KindFeed) => {
  const waiters = [...f.waiters]
  f.waiters.clear()
  for (const w of waiters) w()
}

/** A watch event as a Change, with the labels the object had before it. */
const toChange = (type: "ADDED" | "MODIFIED" | "DELETED", object: KubeObject, previous: Labels | undefined): Change => {
  const meta = object.metadata
  return {
    type,
    resourceVersion: meta.resourceVersion!,
    namespace: meta.namespace ?? "",
    name: meta.name!,
    labels: meta.labels ?? {},
    ...(type === "MODIFIED" && previous !== undefined ? { previousLabels: previous } : {}),
    object: JSON.stringify(object)
  }
}

export interface FeedOptions {
  readonly client: KubeClient["Service"]
  readonly collection: (r: StoredResource, namespace: string) => string
  readonly kinds: ReadonlyArray<StoredResource>
  /** Called with the kind's storage key whenever its watch delivers a change. */
  readonly onChange: (key: string) => void
}

export const makeFeeds = (options: FeedOptions) =>
  Effect.gen(function*() {
    const { client, collection } = options
    const feeds = new Map<string, KindFeed>()
    /** Done once every kind has been listed: before, no frontier means anything. */
    const listed = yield* Deferred.make<void>()
    let unlisted = options.kinds.length

    const unavailable = (message: string) => new Unavailable({ message: `storage unavailable: ${message}` })
    const request = (r: StoredResource, path: string) =>
      client.request("GET", path).pipe(
        Effect.mapError((e) => unavailable(e.message)),
        Effect.flatMap((answer) => answer.status === 200 ? Effect.succeed(answer.body) : Effect.fail(fromStatus(r, "", answer)))
      )

    /** Every object of a kind at `at` ("" the newest), a page at a time: their labels, and the list's version. */
    const labelsAt = (r: StoredResource, at: string) =>
      Effect.gen(function*() {
        const labels = new Map<string, Labels>()
        let token = ""
        let rv = at
        do {
          const params = new URLSearchParams({ limit: "500" })
          if (token !== "") params.set("continue", token)
          else if (at !== "") {
            params.set("resourceVersion", at)
            params.set("resourceVersionMatch", "Exact")
          }
          const page = JSON.parse(yield* request(r, `${collection(r, "")}?${params}`)) as {
            metadata: { resourceVersion: string; continue?: string }
            items: Array<KubeObject>
          }
          if (token === "") rv = page.metadata.resourceVersion
          for (const item of page.items) labels.set(keyOf(item.metadata.namespace ?? "", item.metadata.name!), item.metadata.labels ?? {})
          token = page.metadata.continue ?? ""
        } while (token !== "")
        return { labels, rv }
      })

    const watchPath = (r: StoredResource, from: string, timeoutSeconds: number) =>
      `${collection(r, "")}?watch=1&allowWatchBookmarks=true&resourceVersion=${from}&timeoutSeconds=${timeoutSeconds}`

    /** Applies one frame to `labels`; the change it is (undefined for a bookmark), or "expired" for a 410. */
    const frameOf = (line: string, labels: Map<string, Labels>): { change?: Change; rv?: string; expired?: boolean; error?: string } => {
      const frame = JSON.parse(line) as Frame
      if (frame.type === "ERROR") {
        return frame.object.code === 410 ? { expired: true } : { error: frame.object.message ?? line.slice(0, 300) }
      }
      const rv = frame.object.metadata.resourceVersion!
      if (frame.type === "BOOKMARK") return { rv }
      const key = keyOf(frame.object.metadata.namespace ?? "", frame.object.metadata.name!)
      const change = toChange(frame.type, frame.object, labels.get(key))
      if (frame.type === "DELETED") labels.delete(key)
      else labels.set(key, change.labels)
      return { change, rv }
    }

    /** Follows one kind for as long as the layer lives: list, watch, resume, relist on 410. */
    const follow = (f: KindFeed) =>
      Effect.gen(function*() {
        if (f.start === undefined) {
          const { labels, rv } = yield* labelsAt(f.resource, "")
          f.labels = labels
          f.events = []
          const first = !f.counted
          f.start = f.last = f.trimmed = BigInt(rv)
          f.counted = true
          if (first && --unlisted === 0) yield* Deferred.succeed(listed, undefined)
          wake(f)
          // Whatever a reader held from before is now to be read from kube (or is Expired).
          options.onChange(f.resource.key)
        }
        let expired = false
        let failure: string | undefined
        // Like a reflector, a random timeout spreads the replicas' resumes.
        const timeout = 240 + Math.floor(Math.random() * 120)
        // kube ends the watch at its timeout: a connection silent well past it is dead.
        const answer = yield* client.stream(watchPath(f.resource, String(f.last), timeout), (line) => {
          const got = frameOf(line, f.labels)
          if (got.expired) expired = true
          if (got.error !== undefined) failure = got.error
          if (got.rv === undefined) return
          const rv = BigInt(got.rv)
          if (rv <= f.last) return
          f.last = rv
          if (got.change !== undefined) {
            f.events.push(got.change)
            if (f.events.length > feedCapacity) {
              const dropped = f.events.splice(0, feedCapacity / 2)
              f.trimmed = BigInt(dropped[dropped.length - 1]!.resourceVersion)
            }
            if (got.change.type === "DELETED") for (const d of [...f.deletions]) d(got.change)
            options.onChange(f.resource.key)
          }
          wake(f)
        }, (timeout + 30) * 1000).pipe(Effect.mapError((e) => unavailable(e.message)))
        if (answer.status === 410 || expired) {
          f.start = undefined
          return
        }
        if (answer.status !== 200) return yield* fromStatus(f.resource, "", answer)
        if (failure !== undefined) return yield* unavailable(failure)
      })

    for (const resource of options.kinds) {
      const f: KindFeed = {
        resource,
        start: undefined,
        last: 0n,
        trimmed: 0n,
        floor: 0n,
        events: [],
        labels: new Map(),
        waiters: new Set(),
        deletions: new Set(),
        counted: false
      }
      feeds.set(resource.key, f)
      let unserved = false
      yield* Effect.forkScoped(follow(f).pipe(
        Effect.catch((e) =>
          e._tag === "NotFound"
            // kube does not serve this kind (its CRD is not installed): nothing to follow until it is,
            // and the other kinds' frontiers need not wait for it.
            ? Effect.gen(function*() {
              if (!unserved) {
                unserved = true
                yield* Effect.logWarning(`kube-apiserver does not serve ${resource.plural}.${resource.group}: apply Ark's CRDs (ark crds)`)
                if (!f.counted) {
                  f.counted = true
                  if (--unlisted === 0) yield* Deferred.succeed(listed, undefined)
                }
              }
              yield* Effect.sleep("10 seconds")
            })
            // A dropped connection is routine (the watch resumes where it was): one line, no stack.
            : Effect.logInfo(`watch of ${resource.plural} ended (${e._tag}: ${e.message}); resuming`).pipe(Effect.andThen(Effect.sleep("500 millis")))
        ),
        Effect.catchCause((cause) => Effect.logWarning(`watch of ${resource.plural} failed; resuming`, cause).pipe(Effect.andThen(Effect.sleep("500 millis")))),
        Effect.forever
      ))
    }

    const feedOf = (r: StoredResource) => {
      const f = feeds.get(r.key)
      if (f === undefined) throw new Error(`no change feed for ${r.key}: the Kubernetes storage serves Ark's kinds only`)
      return f
    }

    /** Waits (briefly) until the kind's watch has delivered `upTo`; whether it has. */
    const reached = (f: KindFeed, upTo: bigint) =>
      Effect.callback<boolean>((resume) => {
        const attempt = () => {
          if (f.start !== undefined && f.last >= upTo) return resume(Effect.succeed(true))
          f.waiters.add(attempt)
        }
        attempt()
        return Effect.sync(() => f.waiters.delete(attempt))
      }).pipe(Effect.timeoutOrElse({ duration: feedWaitMillis, orElse: () => Effect.succeed(false) }))

    const fromMemory = (f: KindFeed, after: bigint, upTo: bigint) => {
      let lo = 0
      let hi = f.events.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (BigInt(f.events[mid]!.resourceVersion) <= after) lo = mid + 1
        else hi = mid
      }
      const out: Array<Change> = []
      for (let i = lo; i < f.events.length && BigInt(f.events[i]!.resourceVersion) <= upTo; i++) out.push(f.events[i]!)
      return out
    }

    /** Changes of `r` in (after, upTo] from kube: a watch from `after` until it passes `upTo`. */
    const fromHistory = (r: StoredResource, after: bigint, upTo: bigint) =>
      Effect.gen(function*() {
        const { labels } = yield* labelsAt(r, String(after))
        // A consistent read makes kube's watch cache catch up, so its bookmark reaches `upTo`.
        yield* request(r, `${collection(r, "")}?limit=1`)
        const out: Array<Change> = []
        let from = after
        let done = false
        const deadline = Date.now() + historyDeadlineMillis
        while (!done) {
          if (Date.now() > deadline) return yield* unavailable(`the watch of ${r.plural} did not reach ${upTo}`)
          let expired = false
          const answer = yield* client.stream(watchPath(r, String(from), 3), (line) => {
            if (done) return "stop"
            const got = frameOf(line, labels)
            if (got.expired) expired = true
            if (got.rv === undefined) return
            const rv = BigInt(got.rv)
            if (rv > upTo) {
              done = true
              return "stop"
            }
            if (rv > from) from = rv
            if (got.change !== undefined) out.push(got.change)
            if (rv === upTo) {
              done = true
              return "stop"
            }
          }, 30_000).pipe(Effect.mapError((e) => unavailable(e.message)))
          if (answer.status === 410 || expired) return yield* new Expired({ message: tooOldResourceVersion(after) })
          if (answer.status !== 200) return yield* fromStatus(r, "", answer)
        }
        return out
      })

    const changes = (r: StoredResource, after: string, upTo: string): Effect.Effect<ReadonlyArray<Change>, StorageError> =>
      Effect.gen(function*() {
        const f = feedOf(r)
        const a = BigInt(after)
        const u = BigInt(upTo)
        if (u <= a) return []
        if (a < f.floor) return yield* new Expired({ message: tooOldResourceVersion(after) })
        const covered = f.start !== undefined && a >= f.trimmed
        if (covered && (yield* reached(f, u)) && a >= f.trimmed) return fromMemory(f, a, u)
        return yield* fromHistory(r, a, u)
      })

    /** Forgets the kind's history at or below `revision` (kube compacts its own etcd; other kinds have none here). */
    const compact = (r: StoredResource, revision: string) => {
      const f = feeds.get(r.key)
      if (f === undefined) return 0
      const rev = BigInt(revision)
      if (rev > f.floor) f.floor = rev
      const keep = f.events.findIndex((c) => BigInt(c.resourceVersion) > rev)
      const dropped = keep < 0 ? f.events.length : keep
      if (dropped > 0) {
        f.trimmed = BigInt(f.events[dropped - 1]!.resourceVersion)
        f.events.splice(0, dropped)
      }
      return 0
    }

    /**
     * From now on, the DELETED change of `namespace/name` (the one with `uid`, when given): the
     * object's last state at the deletion's version, as the watch delivered it.
     */
    const awaitDeletion = (r: StoredResource, namespace: string, name: string) =>
      Effect.gen(function*() {
        const f = feedOf(r)
        const seen: Array<Change> = []
        const wakeUps = new Set<() => void>()
        const listener = (c: Change) => {
          if (c.namespace !== (r.namespaced ? namespace : "") || c.name !== name) return
          seen.push(c)
          for (const w of wakeUps) w()
        }
        yield* Effect.acquireRelease(Effect.sync(() => f.deletions.add(listener)), () => Effect.sync(() => f.deletions.delete(listener)))
        return (uid: string | undefined) =>
          Effect.callback<KubeObject, Unavailable>((resume) => {
            const check = () => {
              for (const c of seen) {
                const object = JSON.parse(c.object) as KubeObject
                if (uid === undefined || object.metadata.uid === uid) return resume(Effect.succeed(object))
              }
            }
            wakeUps.add(check)
            check()
            return Effect.sync(() => wakeUps.delete(check))
          }).pipe(Effect.timeoutOrElse({
            duration: "10 seconds",
            orElse: () => Effect.fail(unavailable(`the watch of ${r.plural} did not deliver the deletion of ${name}`))
          }))
      })

    return {
      /** Per kind, the last version its watch delivered (once every kind has been listed). */
      frontiers: Effect.as(Deferred.await(listed), (r: StoredResource) => String(feedOf(r).last)),
      changes,
      compact,
      /** The version the kind was compacted through here. */
      floor: (r: StoredResource) => feedOf(r).floor,
      awaitDeletion
    }
  })
