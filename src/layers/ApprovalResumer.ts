/**
 * Resumes Queries that waited for a human: once a ToolApprovalRequest is decided (its status
 * patched to approved or rejected, as upstream's CLI and dashboard do), the Query that names it
 * in status.approvalRef goes from approval-required back to "queued" (keeping the approvalRef, which
 * tells the engine to resume; the workers' terminal write drops it), and the queue takes it again
 * (the PostgreSQL queue by trigger, the in-memory one from its watch); the engine then resumes
 * from the request. Every replica with workers runs this: the write is a compare-and-swap that
 * only one of them makes. Queries are watched too, for a decision made before the Query showed
 * that it waits. A request nobody answers within its spec.timeout (5m) is set to "expired"
 * (again a compare-and-swap, by whichever replica's timer fires first; timers are set again
 * from the store after a restart), which the engine reads as its spec.onTimeout says.
 */
import { Duration, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { parseGoDuration } from "../domain/duration.ts"
import { timestamp } from "../domain/lifecycle.ts"
import { approvalRequiredPhase, releasedApprovalPhase } from "../domain/kinds/query.ts"
import { isRecord } from "../domain/object.ts"
import type { KubeObject } from "../domain/object.ts"
import { findKind } from "../domain/registry.ts"
import { Storage, storedResource } from "../services/Storage.ts"
import type { StoredResource } from "../services/Storage.ts"
import { WatchHub } from "../services/WatchHub.ts"
import { trackStatusWrite } from "./http/fieldmanager.ts"

const queries = storedResource(findKind("Query")!)
const approvals = storedResource(findKind("ToolApprovalRequest")!)
const tracked = trackStatusWrite(findKind("Query")!, "ark-approval-resumer")

class NotWaiting extends Schema.TaggedError<NotWaiting>()("NotWaiting", {}) {}

const statusOf = (o: KubeObject) => (isRecord(o.status) ? o.status : {}) as Record<string, unknown>

const isDecided = (tar: KubeObject) => {
  const status = statusOf(tar)
  const action = (status["decision"] as { action?: unknown } | undefined)?.action ?? status["phase"]
  return action === "approved" || action === "rejected" || action === "expired"
}

/** When a pending request expires: its request time (else creation) plus its timeout. */
const deadlineOf = (tar: KubeObject) => {
  const since = Date.parse(String(statusOf(tar)["requestedAt"] ?? tar.metadata.creationTimestamp ?? ""))
  const timeout = parseGoDuration((tar.spec as { timeout?: string } | undefined)?.timeout ?? "5m") ?? 300_000
  return (Number.isNaN(since) ? Date.now() : since) + timeout
}

const waitsOn = (query: KubeObject) => {
  const status = statusOf(query)
  return status["phase"] === approvalRequiredPhase || status["phase"] === releasedApprovalPhase ? (status["approvalRef"] as { name?: string } | undefined)?.name : undefined
}

export const make = Effect.gen(function*() {
  const storage = yield* Storage
  const hub = yield* WatchHub
  const scope = yield* Effect.scope

  /** Sets the Query back to "queued" if it still waits on `tar` and `tar` is decided. */
  const resume = (namespace: string, query: string, tar: string) =>
    Effect.gen(function*() {
      const request = yield* storage.get(approvals, namespace, tar)
      if (!isDecided(request)) return
      yield* storage.guaranteedUpdate(queries, namespace, query, (current) => {
        if (waitsOn(current) !== tar) return Effect.fail(new NotWaiting())
        return tracked(current, { ...current, metadata: { ...current.metadata, resourceVersion: undefined }, status: { ...statusOf(current), phase: "queued" } })
      }, { subresource: "status" })
      yield* Effect.logInfo(`query ${namespace}/${query} resumes after toolapprovalrequest ${tar} was decided`)
    }).pipe(Effect.catchTags({ NotWaiting: () => Effect.void, NotFound: () => Effect.void }))

  /** Sets a request that is still pending to "expired" (nobody answered in time). */
  const expire = (namespace: string, name: string) =>
    storage.guaranteedUpdate(approvals, namespace, name, (current) =>
      isDecided(current)
        ? Effect.fail(new NotWaiting())
        : Effect.succeed({ ...current, metadata: { ...current.metadata, resourceVersion: undefined }, status: { ...statusOf(current), phase: "expired", conditions: [{ type: "Expired", status: "True", reason: "Timeout", message: "no decision within the request's timeout", lastTransitionTime: timestamp(Date.now()) }] } }), { subresource: "status" }).pipe(
      Effect.catchTags({ NotWaiting: () => Effect.void, NotFound: () => Effect.void })
    )

  /** One timer per pending request (by uid), until it expires or is decided. */
  const timers = new Map<string, Fiber.Fiber<unknown, unknown>>()
  const watchTimeout = (tar: KubeObject) =>
    Effect.gen(function*() {
      const uid = tar.metadata.uid ?? ""
      if (isDecided(tar)) {
        const timer = timers.get(uid)
        timers.delete(uid)
        if (timer !== undefined) yield* Fiber.interrupt(timer)
        return
      }
      if (timers.has(uid)) return
      const fiber = yield* Effect.forkIn(
        Effect.sleep(Duration.millis(Math.max(0, deadlineOf(tar) - Date.now()))).pipe(
          Effect.andThen(expire(tar.metadata.namespace ?? "", tar.metadata.name!)),
          Effect.ensuring(Effect.sync(() => timers.delete(uid))),
          Effect.catchCause((cause) => Effect.logWarning(`toolapprovalrequest ${tar.metadata.namespace}/${tar.metadata.name}: could not expire it`, cause))
        ),
        scope
      )
      timers.set(uid, fiber)
    })

  /** Every current object of `resource` and every change, whose text has `hint`, handed to `onObject`; restarted on errors. */
  const follow = (resource: StoredResource, hint: string, onObject: (o: KubeObject) => Effect.Effect<void, unknown>) =>
    Effect.gen(function*() {
      const listed = yield* storage.list(resource)
      // Only objects whose text has the hint are parsed: a restart with 100k Queries parses few.
      for (const text of listed.items) if (text.includes(hint)) yield* onObject(JSON.parse(text) as KubeObject)
      yield* hub.watch(resource, { resourceVersion: listed.resourceVersion }).pipe(
        Stream.runForEach((e) => (e.type === "ADDED" || e.type === "MODIFIED") && e.object.includes(hint) ? onObject(JSON.parse(e.object) as KubeObject) : Effect.void)
      )
    }).pipe(
      Effect.catchCause((cause) => Effect.logWarning(`approval resumer: the ${resource.key} watch restarts`, cause)),
      Effect.andThen(Effect.sleep("500 millis")),
      Effect.forever
    )

  yield* Effect.forkScoped(follow(approvals, '"queryRef"', (tar) => {
    const ref = (tar.spec as { queryRef?: { name?: string } } | undefined)?.queryRef
    return Effect.andThen(
      watchTimeout(tar),
      isDecided(tar) && ref?.name !== undefined ? resume(tar.metadata.namespace ?? "", ref.name, tar.metadata.name!) : Effect.void
    )
  }))
  // Both names of the pause have "approvalRef" in the Query's text.
  yield* Effect.forkScoped(follow(queries, '"approvalRef"', (query) => {
    const tar = waitsOn(query)
    return tar !== undefined ? resume(query.metadata.namespace ?? "", query.metadata.name!, tar) : Effect.void
  }))
})

export const layer: Layer.Layer<never, never, Storage | WatchHub> = Layer.effectDiscard(make)
