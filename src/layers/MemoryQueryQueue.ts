/**
 * The query queue in process memory, for configurations whose store has no queue table (etcd):
 * Queries enter it from the WatchHub (every existing unfinished Query at start, then every new
 * one), with the same claims, leases and fairness as the PostgreSQL queue. One process owns the
 * queue: with leader election, `ark serve` builds it (and the workers) on the leader only.
 */
import { Duration, Effect, Layer, Stream } from "effect"
import { randomUUID } from "node:crypto"
import type { KubeObject } from "../domain/object.ts"
import { isSettledQuery } from "../domain/kinds/query.ts"
import { findKind } from "../domain/registry.ts"
import type { StorageError } from "../services/errors.ts"
import type { QueueItem } from "../services/QueryQueue.ts"
import { QueryQueue } from "../services/QueryQueue.ts"
import { Storage, storedResource } from "../services/Storage.ts"
import { WatchHub } from "../services/WatchHub.ts"

const queries = storedResource(findKind("Query")!)

interface Entry {
  readonly id: string
  readonly namespace: string
  readonly name: string
  readonly uid: string
  /** The Query's JSON text as it was enqueued. */
  readonly object: string
  attempts: number
  visibleAt: number
  leaseToken: string | undefined
}

export const make = Effect.gen(function*() {
  const storage = yield* Storage
  const hub = yield* WatchHub
  let next = 0
  /** Items in arrival order per namespace; the namespaces in the order they are served. */
  const byNamespace = new Map<string, Array<Entry>>()
  const byUid = new Map<string, Entry>()

  const enqueue = (text: string) => {
    const q = JSON.parse(text) as KubeObject
    const uid = q.metadata.uid!
    if (byUid.has(uid) || isSettledQuery(q)) return
    const entry: Entry = {
      id: String(++next),
      namespace: q.metadata.namespace ?? "",
      name: q.metadata.name!,
      uid,
      object: text,
      attempts: 0,
      visibleAt: 0,
      leaseToken: undefined
    }
    byUid.set(uid, entry)
    const list = byNamespace.get(entry.namespace) ?? []
    list.push(entry)
    byNamespace.set(entry.namespace, list)
  }

  const remove = (entry: Entry) => {
    byUid.delete(entry.uid)
    const list = byNamespace.get(entry.namespace)
    if (list === undefined) return
    const at = list.indexOf(entry)
    if (at >= 0) list.splice(at, 1)
    if (list.length === 0) byNamespace.delete(entry.namespace)
  }

  // Every unfinished Query now, then every Query created from here on.
  const listed = yield* storage.list(queries)
  for (const text of listed.items) enqueue(text)
  yield* Effect.forkScoped(
    hub.watch(queries, { resourceVersion: listed.resourceVersion }).pipe(
      Stream.runForEach((e) =>
        Effect.sync(() => {
          if (e.type === "ADDED") enqueue(e.object)
        })
      ),
      Effect.catchCause((cause) => Effect.logError("the in-memory query queue lost its watch", cause))
    )
  )

  const item = (e: Entry): QueueItem => ({
    id: e.id,
    namespace: e.namespace,
    name: e.name,
    uid: e.uid,
    attempts: e.attempts,
    leaseToken: e.leaseToken!,
    object: e.object
  })

  const holder = (i: QueueItem) => {
    const e = byUid.get(i.uid)
    return e !== undefined && e.id === i.id && e.leaseToken === i.leaseToken ? e : undefined
  }

  /** Round-robin over namespaces: each one's oldest ready item before anyone's second. */
  const claim = (max: number, lease: Duration.Duration) =>
    Effect.sync(() => {
      const now = Date.now()
      const ready = [...byNamespace.values()].map((list) => list.filter((e) => e.visibleAt <= now))
      const out: Array<QueueItem> = []
      for (let rank = 0; out.length < max; rank++) {
        let any = false
        for (const list of ready) {
          const e = list[rank]
          if (e === undefined) continue
          any = true
          if (out.length >= max) break
          e.attempts++
          e.visibleAt = now + Duration.toMillis(lease)
          e.leaseToken = randomUUID()
          out.push(item(e))
        }
        if (!any) break
      }
      return out as ReadonlyArray<QueueItem>
    })

  const renew = (i: QueueItem, lease: Duration.Duration) =>
    Effect.sync(() => {
      const e = holder(i)
      if (e === undefined) return false
      e.visibleAt = Date.now() + Duration.toMillis(lease)
      return true
    })

  const release = (i: QueueItem, delay: Duration.Duration) =>
    Effect.sync(() => {
      const e = holder(i)
      if (e === undefined) return
      e.visibleAt = Date.now() + Duration.toMillis(delay)
      e.leaseToken = undefined
    })

  const complete = (i: QueueItem) =>
    Effect.sync(() => {
      const e = holder(i)
      if (e !== undefined) remove(e)
    })

  return QueryQueue.of({ claim, renew, release, complete, depth: Effect.sync(() => byUid.size) })
})

export const layer: Layer.Layer<QueryQueue, StorageError, Storage | WatchHub> = Layer.effect(QueryQueue, make)
