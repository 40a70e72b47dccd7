/**
 * The watch hub: one change reader per resource per process, fanned out in memory.
 *
 * Ordering: a catch-up round first asks storage for each resource's frontier F (every rv <= F has committed
 * or rolled back, so nothing below F can still appear), then reads the resource's changes in
 * (position, F] in rv order and hands each to every watcher's queue, then sets position = F. A
 * change with rv <= position was delivered by an earlier round; one with rv > F is left for a
 * later round. Rounds of one resource never overlap (a per-resource lock), so every committed
 * version reaches every watcher once, in order, with no look-back window.
 *
 * Rounds are triggered by commits in this process, by other replicas' notifications, and by a
 * periodic sweep; triggers that arrive during a round coalesce into the next one. Each watcher
 * has a queue bounded in events and in bytes, and all queues together in bytes: one that falls
 * behind is ended (its events dropped, its connection closed, its client relists) and no other
 * watcher or writer waits for it.
 */
import { Array as Arr, Cause, Channel, Config, Duration, Effect, Exit, Layer, Queue, Schedule, Scope, Semaphore, Stream } from "effect"
import type { Selection } from "../domain/watch.ts"
import { eventType } from "../domain/watch.ts"
import type { Commit } from "../services/Commits.ts"
import { Commits, RemoteCommits } from "../services/Commits.ts"
import type { StorageError } from "../services/errors.ts"
import { Expired } from "../services/errors.ts"
import * as Metrics from "../services/Metrics.ts"
import { Shutdown } from "../services/Shutdown.ts"
import type { Change, ListOptions, StoredResource } from "../services/Storage.ts"
import { Storage } from "../services/Storage.ts"
import type { EncodedList, WatchEvent, WatchOptions } from "../services/WatchHub.ts"
import { WatchHub } from "../services/WatchHub.ts"
import { revisionAtLeast } from "./storage/objectSemantics.ts"

export interface WatchHubOptions {
  /** Events a watcher may have queued before it is ended as too slow. */
  readonly bufferSize: number
  /** Bytes (of object JSON) a watcher may have queued before it is ended as too slow. */
  readonly bufferBytes: number
  /**
   * Bytes queued for all watchers together (an event queued for several counts once); beyond
   * it, the watchers furthest behind are ended until the rest fits.
   */
  readonly totalBufferBytes: number
  /** Safety-net catch-up for every watched resource, whatever the notifications said. */
  readonly sweepInterval: Duration.Duration
  /** How often a watcher that asked for bookmarks gets one. */
  readonly bookmarkInterval: Duration.Duration
}

type WatcherQueue = Queue.Queue<WatchEvent, StorageError | Cause.Done>

interface Watcher {
  readonly selection: Selection
  readonly queue: WatcherQueue
  /** Gets a last bookmark when the replica stops. */
  readonly bookmarks: boolean
  /** Bytes of the events in its queue. */
  queued: number
  /** Called when it is ended as too slow, so the transport drops what it holds. */
  readonly onTooSlow: (() => void) | undefined
  /**
   * Set while its stream waits for live events with an empty queue (WatchOptions.direct): events
   * go to it at once. Cleared as soon as an event is queued, so none can overtake a queued one.
   */
  direct: ((event: WatchEvent) => boolean) | undefined
}

/** What an event costs while queued: its object's JSON (a bookmark, a few dozen bytes). */
const sizeOf = (e: WatchEvent) => e.type === "BOOKMARK" ? 64 : e.object.length

interface CachedObject {
  readonly namespace: string
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** The stored JSON, UTF-8 encoded (LISTs are sent as these bytes). */
  readonly bytes: Uint8Array
}

/**
 * The resource's objects as of `position` (kube's watch cache), kept by the same rounds that
 * feed watchers, so consistent LISTs are served from memory.
 */
interface ObjectCache {
  readonly objects: Map<string, CachedObject>
  /** Keys in (namespace, name) byte order; rebuilt when objects come or go. */
  sorted: Array<string> | undefined
}

interface ResourceState {
  readonly resource: StoredResource
  /** Every change with rv <= position has been handed to every watcher (and applied to the cache). */
  position: bigint
  readonly watchers: Set<Watcher>
  readonly lock: Semaphore.Semaphore
  cache: ObjectCache | undefined
}

/** Each cached object gets its own buffer: a slice of Node's shared pool would keep the whole slab alive. */
const encoder = new TextEncoder()
const encode = (text: string) => encoder.encode(text)

const cacheKey = (namespace: string, name: string) => `${namespace}\u0000${name}`

/** Whether rounds must keep this resource current: it has watchers or a cache. */
const followed = (s: ResourceState) => s.watchers.size > 0 || s.cache !== undefined

/** Events of one change, shared by every watcher that gets the same type (so their encoding can be too). */
const eventsOf = (c: Change) => {
  const cache = new Map<string, WatchEvent>()
  return (w: Watcher): WatchEvent | undefined => {
    const type = eventType(w.selection, c)
    if (type === undefined) return undefined
    let event = cache.get(type)
    if (event === undefined) {
      event = { type, resourceVersion: c.resourceVersion, object: c.object }
      cache.set(type, event)
    }
    return event
  }
}

/** Events per pull while replaying, so a large initial state goes out in bounded writes. */
const replayBatch = 1024

/** A pull that returns the events of `first` (in batches), then what `rest` returns. */
const startingWith = <E>(first: ReadonlyArray<WatchEvent>, rest: Effect.Effect<Arr.NonEmptyReadonlyArray<WatchEvent>, E>) => {
  // Released once sent: a watch lasts long, its initial state need not.
  let pending: ReadonlyArray<WatchEvent> | undefined = first
  let at = 0
  return Effect.suspend(() => {
    if (pending === undefined || at >= pending.length) {
      pending = undefined
      return rest
    }
    const batch = pending.slice(at, at + replayBatch) as unknown as Arr.NonEmptyReadonlyArray<WatchEvent>
    at += replayBatch
    return Effect.succeed(batch)
  })
}

const tooSlow = () => new Expired({ message: "the watcher fell behind and was ended; list again and resume" })

export const make = (options: WatchHubOptions) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const commits = yield* Commits
    const remote = yield* RemoteCommits
    const shutdown = yield* Shutdown
    // Metrics are updated from the synchronous fan-out below, with this context.
    const context = yield* Effect.context<never>()
    const countWatchers = (state: ResourceState) =>
      Metrics.bound(Metrics.watchers, { resource: state.resource.plural }).updateUnsafe(state.watchers.size, context)

    /**
     * Bytes of the distinct events queued for any watcher: an event shared by several queues
     * counts once, as it is held once. `holders` counts the queues holding each event.
     */
    let queuedTotal = 0
    const holders = new WeakMap<WatchEvent, number>()
    const hold = (w: Watcher, e: WatchEvent) => {
      const size = sizeOf(e)
      w.queued += size
      const n = holders.get(e) ?? 0
      holders.set(e, n + 1)
      if (n === 0) queuedTotal += size
    }
    const release = (w: Watcher, e: WatchEvent) => {
      const size = sizeOf(e)
      w.queued -= size
      const n = holders.get(e) ?? 1
      if (n <= 1) {
        holders.delete(e)
        queuedTotal -= size
      } else holders.set(e, n - 1)
    }
    /** What a watcher's queue held, released (its events are dropped with it). */
    const releaseAll = (w: Watcher) => {
      for (let taken = Queue.takeUnsafe(w.queue); taken !== undefined && Exit.isSuccess(taken); taken = Queue.takeUnsafe(w.queue)) {
        release(w, taken.value)
      }
    }
    const states = new Map<string, ResourceState>()
    const frontierOf = (resource: StoredResource) => Effect.map(storage.frontiers, (f) => BigInt(f(resource)))

    /**
     * Ends a watcher that fell behind: its queued events are dropped at once (the memory is
     * freed, not held until a client that does not read reads them), its stream fails with
     * Expired, and its transport is told to close the connection, as kube ends slow watchers;
     * its client relists.
     */
    const endTooSlow = (state: ResourceState, w: Watcher) => {
      state.watchers.delete(w)
      releaseAll(w)
      Queue.failCauseUnsafe(w.queue, Cause.fail(tooSlow()))
      Queue.shutdownUnsafe(w.queue)
      Metrics.bound(Metrics.watchEventsDropped, { resource: state.resource.plural }).updateUnsafe(1, context)
      countWatchers(state)
      w.onTooSlow?.()
    }

    /** The watcher (of any resource) with the most bytes queued. */
    const furthestBehind = () => {
      let worst: { state: ResourceState; w: Watcher } | undefined
      for (const state of states.values()) {
        for (const w of state.watchers) if (worst === undefined || w.queued > worst.w.queued) worst = { state, w }
      }
      return worst
    }

    /**
     * Hands an event to a watcher: straight to its transport when it waits with nothing queued,
     * else to its queue; a full queue (events or bytes) ends the watcher instead of waiting.
     */
    const deliver = (state: ResourceState, w: Watcher, event: WatchEvent) => {
      if (w.direct !== undefined) {
        if (w.direct(event)) return true
        w.direct = undefined
      }
      const size = sizeOf(event)
      // Over the total: the watchers furthest behind go first (this one, if it is among them).
      while (queuedTotal + (holders.has(event) ? 0 : size) > options.totalBufferBytes) {
        const worst = furthestBehind()
        if (worst === undefined || worst.w.queued === 0) break
        endTooSlow(worst.state, worst.w)
        if (worst.w === w) return false
      }
      if (w.queued + size > options.bufferBytes || !Queue.offerUnsafe(w.queue, event)) {
        endTooSlow(state, w)
        return false
      }
      hold(w, event)
      return true
    }

    /** Hands changes (in rv order, all after the state's position) to its cache and its watchers; under its lock. */
    const apply = (state: ResourceState, changes: ReadonlyArray<Change>) => {
      let sent = 0
      for (const change of changes) {
        if (state.cache !== undefined) {
          const key = cacheKey(change.namespace, change.name)
          if (change.type === "DELETED") {
            if (state.cache.objects.delete(key)) state.cache.sorted = undefined
          } else {
            if (!state.cache.objects.has(key)) state.cache.sorted = undefined
            state.cache.objects.set(key, { namespace: change.namespace, name: change.name, labels: change.labels, bytes: encode(change.object) })
          }
        }
        const eventFor = eventsOf(change)
        for (const w of state.watchers) {
          const event = eventFor(w)
          if (event !== undefined && deliver(state, w, event)) sent++
        }
      }
      if (sent > 0) Metrics.bound(Metrics.watchEvents, { resource: state.resource.plural }).updateUnsafe(sent, context)
    }

    const catchUp = (state: ResourceState, frontier: bigint) =>
      state.lock.withPermits(1)(Effect.gen(function*() {
        if (frontier <= state.position || !followed(state)) return
        apply(state, yield* storage.changes(state.resource, state.position.toString(), frontier.toString()))
        state.position = frontier
      })).pipe(
        Effect.catchTag("Expired", (e) => Effect.sync(() => expire(state, e, frontier)))
      )

    /** History purged past this replica's position: its watchers can only relist; the resource restarts at `frontier`. */
    const expire = (state: ResourceState, e: Expired, frontier: bigint) => {
      for (const w of state.watchers) {
        // Nothing queued is of use to a watcher that must relist: dropped now.
        releaseAll(w)
        Queue.failCauseUnsafe(w.queue, Cause.fail(e))
      }
      state.watchers.clear()
      countWatchers(state)
      state.cache = undefined
      state.position = frontier
    }

    /** One round over the given resource keys ("*": every watched resource). */
    const round = (keys: ReadonlySet<string>) =>
      Effect.gen(function*() {
        const watched = [...states.values()].filter((s) => followed(s) && (keys.has("*") || keys.has(s.resource.key)))
        if (watched.length === 0) return
        const frontier = yield* storage.frontiers
        yield* Effect.forEach(watched, (s) => catchUp(s, BigInt(frontier(s.resource))), { discard: true })
      })

    // Triggers coalesce: a round takes every key queued so far.
    const triggers = yield* Queue.unbounded<string>()

    /**
     * A change this replica committed, delivered without reading it back when its rv is the one
     * right after its resource's position: every rv up to the position has committed, and the
     * next one is this change, so nothing can come before it. Any other followed resource at
     * that same position moves past the rv too, as it is not theirs. Otherwise (an rv in between
     * may be another writer's, still in flight) a round reads the resource from the store.
     */
    const committed = (commit: Commit) =>
      Effect.gen(function*() {
        const change = commit.change
        if (change === undefined) return yield* Queue.offer(triggers, commit.key)
        const rv = BigInt(change.resourceVersion)
        const own = states.get(commit.key)
        const next = (state: ResourceState) => followed(state) && state.position === rv - 1n
        if (own !== undefined) {
          const delivered = yield* own.lock.withPermits(1)(Effect.sync(() => {
            if (!followed(own) || own.position >= rv) return true
            if (!next(own)) return false
            apply(own, [change])
            own.position = rv
            return true
          }))
          if (!delivered) yield* Queue.offer(triggers, commit.key)
        }
        // The others only if free now: one whose round is under way reads past this rv anyway.
        for (const state of [...states.values()]) {
          if (state === own || !next(state)) continue
          yield* state.lock.withPermitsIfAvailable(1)(Effect.sync(() => {
            if (next(state)) state.position = rv
          }))
        }
      })
    yield* Effect.forkScoped(Stream.runForEach(commits.subscribe, committed))

    const signals = Stream.merge(remote.changes, Stream.tick(options.sweepInterval).pipe(Stream.as("*")))
    yield* Effect.forkScoped(Stream.runForEach(signals, (key) => Queue.offer(triggers, key)))
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const first = yield* Queue.take(triggers)
      // Whatever else is queued now joins this round (clear does not wait for more).
      const rest = yield* Queue.clear(triggers)
      yield* round(new Set([first, ...rest])).pipe(
        // A failed round (store unavailable) is retried by the next trigger or sweep.
        Effect.catchCause((cause) => Effect.logWarning("watch catch-up failed; retrying", cause).pipe(
          Effect.andThen(Effect.sleep("200 millis")),
          Effect.andThen(Queue.offer(triggers, "*"))
        ))
      )
    })))

    const stateOf = (resource: StoredResource) => {
      let state = states.get(resource.key)
      if (state === undefined) {
        state = { resource, position: -1n, watchers: new Set(), lock: Semaphore.makeUnsafe(1), cache: undefined }
        states.set(resource.key, state)
      }
      return state
    }

    /** Registers a watcher; returns the position from which its queue receives changes. */
    const register = (state: ResourceState, w: Watcher) =>
      state.lock.withPermits(1)(Effect.gen(function*() {
        if (!followed(state)) state.position = yield* frontierOf(state.resource)
        state.watchers.add(w)
        countWatchers(state)
        // A watch that starts while the replica stops ends at once (after its start state).
        if (shutdown.draining()) endWatcher(state, w)
        return state.position
      }))

    /** Ends a watcher normally, with a last bookmark when it takes them, so its client resumes from there. */
    const endWatcher = (state: ResourceState, w: Watcher) => {
      if (w.bookmarks) Queue.offerUnsafe(w.queue, { type: "BOOKMARK", resourceVersion: state.position.toString(), initialEventsEnd: false })
      Queue.endUnsafe(w.queue)
      state.watchers.delete(w)
      countWatchers(state)
    }

    // The replica stops: every watch ends cleanly, so the HTTP server is not held open by them.
    yield* Effect.forkScoped(shutdown.await.pipe(Effect.andThen(Effect.suspend(() => Effect.forEach([...states.values()], (state) =>
      state.lock.withPermits(1)(Effect.sync(() => {
        for (const w of [...state.watchers]) endWatcher(state, w)
      })), { discard: true })))))

    const bookmark = (state: ResourceState, w: Watcher, initialEventsEnd = false) =>
      state.lock.withPermits(1)(Effect.sync(() => {
        if (state.watchers.has(w)) {
          deliver(state, w, { type: "BOOKMARK", resourceVersion: state.position.toString(), initialEventsEnd })
        }
      }))

    /**
     * The state at `at` as ADDED events, read a page at a time as the watcher pulls them (then
     * the initial-events-end bookmark when asked for), then what `rest` returns: a large state
     * is never held whole, however many watches start at once (every controller at a restart).
     */
    const initialState = <E>(
      resource: StoredResource,
      selected: Pick<ListOptions, "namespace" | "labelSelector" | "fieldSelector">,
      at: bigint,
      bookmark: boolean,
      rest: Effect.Effect<Arr.NonEmptyReadonlyArray<WatchEvent>, E>
    ) => {
      let token: string | undefined
      // Nothing has ever been written when the frontier is still 0.
      let phase: "pages" | "bookmark" | "rest" = at === 0n ? "bookmark" : "pages"
      const pull: Effect.Effect<Arr.NonEmptyReadonlyArray<WatchEvent>, E | StorageError> = Effect.suspend(() => {
        if (phase === "rest") return rest
        if (phase === "bookmark") {
          phase = "rest"
          return bookmark ? Effect.succeed([{ type: "BOOKMARK", resourceVersion: at.toString(), initialEventsEnd: true }] as const) : rest
        }
        const page = storage.list(resource, {
          ...selected,
          limit: replayBatch,
          // Every page at the same snapshot: the first names it, the others carry it in their token.
          ...(token === undefined ? { resourceVersion: at.toString(), resourceVersionMatch: "Exact" as const } : { continue: token })
        })
        return Effect.flatMap(page, (p) => {
          token = p.continue
          if (token === undefined) phase = "bookmark"
          const events = p.items.map((object): WatchEvent => ({ type: "ADDED", resourceVersion: at.toString(), object }))
          return Arr.isReadonlyArrayNonEmpty(events) ? Effect.succeed(events) : pull
        })
      })
      return pull
    }

    /**
     * A watch is one stream layer over its queue (a layer per stage costs every event of every
     * watcher CPU and memory): its first pull returns the events before the live ones, every
     * later pull whatever the queue holds, filtered when the client already knows part of it.
     */
    const watch = (resource: StoredResource, o: WatchOptions): Stream.Stream<WatchEvent, StorageError> =>
      Stream.fromChannel(Channel.fromTransform((_upstream, scope) =>
        Effect.gen(function*() {
          const state = stateOf(resource)
          const selection: Selection = {
            ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
            labels: o.labelSelector ?? [],
            fields: o.fieldSelector ?? []
          }
          const rv = o.resourceVersion ?? ""
          const fromState = rv === "" || rv === "0" || o.sendInitialEvents === true
          const numeric = /^\d+$/.test(rv)
          if (!fromState && !numeric) return yield* new Expired({ message: `invalid resource version "${rv}"` })
          const known = numeric && rv !== "0" ? BigInt(rv) : undefined
          // The initial state at least as new as the client's version: one from the future is waited
          // for briefly, then refused, as kube's watch cache does. A plain watch from the future just
          // stays quiet until the store passes it, as kube's does too.
          if (known !== undefined && o.sendInitialEvents === true) yield* revisionAtLeast(frontierOf(resource), known)
          const queue: WatcherQueue = yield* Queue.bounded<WatchEvent, StorageError | Cause.Done>(options.bufferSize)
          const w: Watcher = { selection, queue, bookmarks: o.allowBookmarks === true, queued: 0, onTooSlow: o.onTooSlow, direct: undefined }
          const start = yield* register(state, w)
          yield* Scope.addFinalizer(scope, Effect.sync(() => {
            if (state.watchers.delete(w)) countWatchers(state)
            releaseAll(w)
          }))
          if (o.allowBookmarks) {
            yield* Effect.forkIn(Effect.repeat(bookmark(state, w), Schedule.spaced(options.bookmarkInterval)), scope)
          }
          if (o.timeout !== undefined) {
            yield* Effect.forkIn(
              Effect.sleep(o.timeout).pipe(
                Effect.andThen(o.allowBookmarks ? bookmark(state, w) : Effect.void),
                Effect.andThen(Queue.end(queue))
              ),
              scope
            )
          }
          const take = Effect.map(Queue.takeAll(queue), (events) => {
            for (const e of events) release(w, e)
            return events
          })
          /**
           * The live events. Everything pulled before has been handed to the transport, so when
           * nothing is queued either, new events may go to it directly until one must be queued.
           */
          const direct = o.direct
          const live = direct === undefined ? take : Effect.suspend(() => {
            if (Queue.sizeUnsafe(queue) === 0) w.direct = direct
            return take
          })
          /** The queue's events newer than `version`: the client already knows the ones up to it. */
          const after = (version: bigint) => {
            const newer = (e: WatchEvent) => e.type === "BOOKMARK" ? BigInt(e.resourceVersion) >= version : BigInt(e.resourceVersion) > version
            const filtered: Effect.Effect<Arr.NonEmptyReadonlyArray<WatchEvent>, StorageError | Cause.Done> = Effect.flatMap(take, (events) => {
              const kept = events.filter(newer)
              return Arr.isReadonlyArrayNonEmpty(kept) ? Effect.succeed(kept) : filtered
            })
            return filtered
          }
          if (fromState) {
            // The state at `start` (or at the client's newer version), then everything after it.
            const at = known !== undefined && known > start ? known : start
            const selected = {
              ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
              labelSelector: selection.labels,
              fieldSelector: selection.fields
            }
            return initialState(resource, selected, at, o.sendInitialEvents === true, at > start ? after(at) : live)
          }
          // Nothing to replay when the client is as new as the queue's start.
          if (known !== undefined && known >= start) return after(known)
          const replay = yield* storage.changes(resource, rv, start.toString())
          const replayed = replay.flatMap((c) => {
            const e = eventsOf(c)(w)
            return e === undefined ? [] : [e]
          })
          return startingWith(replayed, live)
        })
      ))

    /**
     * A consistent LIST from memory, as kube's watch cache serves it: the store's frontier F is
     * read, the cache caught up to at least F, and the matching objects returned in key order at
     * that position. The first LIST of a resource loads the cache from the store.
     */
    const list = (resource: StoredResource, o: ListOptions) =>
      Effect.gen(function*() {
        const state = stateOf(resource)
        const frontier = yield* frontierOf(resource)
        return yield* state.lock.withPermits(1)(Effect.gen(function*() {
          if (state.cache === undefined) {
            if (!followed(state)) state.position = frontier
            // Nothing has ever been written while the frontier is still 0.
            const load = (at: bigint): Effect.Effect<{ readonly items: ReadonlyArray<string> }, StorageError> =>
              at === 0n ? Effect.succeed({ items: [] }) : storage.list(resource, { resourceVersion: at.toString(), resourceVersionMatch: "Exact" })
            // A LIST without a resourceVersion is never refused as too old (kube's watch cache
            // neither): a position already compacted past ends its watchers and loads at the frontier.
            const loaded = yield* load(state.position).pipe(
              Effect.catchTag("Expired", (e) => Effect.suspend(() => (expire(state, e, frontier), load(frontier))))
            )
            const objects = new Map<string, CachedObject>()
            for (const text of loaded.items) {
              const meta = (JSON.parse(text) as { metadata: { namespace?: string; name: string; labels?: Record<string, string> } }).metadata
              objects.set(cacheKey(meta.namespace ?? "", meta.name), { namespace: meta.namespace ?? "", name: meta.name, labels: meta.labels ?? {}, bytes: encode(text) })
            }
            state.cache = { objects, sorted: undefined }
          }
          return state.cache
        })).pipe(
          Effect.tap(() => catchUp(state, frontier)),
          Effect.flatMap((cache) =>
            state.lock.withPermits(1)(Effect.sync(() => {
              cache.sorted ??= [...cache.objects.keys()].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
              const selection: Selection = {
                ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
                labels: o.labelSelector ?? [],
                fields: o.fieldSelector ?? []
              }
              const items: Array<Uint8Array> = []
              for (const key of cache.sorted) {
                const obj = cache.objects.get(key)!
                if (eventType(selection, { type: "ADDED", namespace: obj.namespace, name: obj.name, labels: obj.labels }) !== undefined) {
                  items.push(obj.bytes)
                }
              }
              return { resourceVersion: state.position.toString(), items } satisfies EncodedList
            }))
          )
        )
      })

    return WatchHub.of({ watch, list })
  })

export const layer: Layer.Layer<WatchHub, Config.ConfigError, Commits | RemoteCommits | Storage> = Layer.effect(
  WatchHub,
  Effect.gen(function*() {
    const sweep = yield* Config.Duration("ARK_WATCH_SWEEP_INTERVAL").pipe(Config.withDefault(Duration.seconds(30)))
    const buffer = yield* Config.Int("ARK_WATCH_BUFFER").pipe(Config.withDefault(10_000))
    const bufferBytes = yield* Config.Int("ARK_WATCH_BUFFER_BYTES").pipe(Config.withDefault(16 * 1024 * 1024))
    const totalBufferBytes = yield* Config.Int("ARK_WATCH_BUFFER_TOTAL_BYTES").pipe(Config.withDefault(128 * 1024 * 1024))
    const bookmarks = yield* Config.Duration("ARK_WATCH_BOOKMARK_INTERVAL").pipe(Config.withDefault(Duration.seconds(10)))
    return yield* make({ bufferSize: buffer, bufferBytes, totalBufferBytes, sweepInterval: sweep, bookmarkInterval: bookmarks })
  })
)
