/**
 * The controller's shared informers (client-go's SharedInformerFactory): one watch per kind for
 * every reconciler, each event parsed once and handed in order to each handler, and the kind's
 * objects kept once, as a reconciler's referents need them (present, and whether Available).
 * At a restart with 100k Agents that is one list and one parse of them, where a watch per
 * reconciler took three, each with its own copy of the keys.
 *
 * The kinds start one after another, each once the ones before it have synced (sent their
 * initial state): a restart lists one kind at a time, and a kind's handlers find the kinds
 * before it already known.
 */
import { Deferred, Effect, Schema, Stream } from "effect"
import type { KubeObject } from "../domain/object.ts"
import { isRecord } from "../domain/object.ts"
import type { StoredResource } from "../services/Storage.ts"
import { WatchHub } from "../services/WatchHub.ts"
import { ObjectIndex } from "./objectIndex.ts"

export interface InformerEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED"
  readonly namespace: string
  readonly name: string
  readonly object: KubeObject
  /** Part of the kind's initial state (before its sync). */
  readonly initial: boolean
}

export type Handler = (event: InformerEvent) => Effect.Effect<void>

export interface Informer {
  readonly resource: StoredResource
  /** The kind's objects as the watch last showed them, each as `summary` of it (updated before the handlers run). */
  readonly index: ObjectIndex<KubeObject>
  /** Resolves once the initial state has been handed to every handler. */
  readonly synced: Deferred.Deferred<void>
  /** Adds a handler; handlers added before `run` see every event. */
  readonly handle: (handler: Handler) => void
}

/**
 * What is kept of an object: whether it is Available (a Team's member Agents need that, nothing
 * else). Two shared objects stand for every object, so 100k Agents keep no copies of them.
 */
const presentObject: KubeObject = { apiVersion: "", kind: "", metadata: {} }
const availableObject: KubeObject = {
  apiVersion: "",
  kind: "",
  metadata: {},
  status: { conditions: [{ type: "Available", status: "True", reason: "", message: "" }] }
}
const summary = (obj: KubeObject) => {
  const conditions = isRecord(obj.status) ? obj.status["conditions"] : undefined
  return Array.isArray(conditions) && conditions.some((c) => c?.type === "Available" && c?.status === "True")
    ? availableObject
    : presentObject
}

/** A watch of the controller ended; its work restarts from a fresh list. */
export class WatchEnded extends Schema.TaggedError<WatchEnded>()("WatchEnded", { kind: Schema.String }) {}

/** An informer with its handlers, as `run` drives it. */
interface Shared extends Informer {
  readonly handlers: ReadonlyArray<Handler>
}

/** An informer per resource, in the order given (the order they sync in). */
export const make = (resources: ReadonlyArray<StoredResource>): Effect.Effect<ReadonlyArray<Informer>> =>
  Effect.forEach(resources, (resource) =>
    Effect.map(Deferred.make<void>(), (synced): Shared => {
      const handlers: Array<Handler> = []
      return { resource, index: new ObjectIndex(), synced, handlers, handle: (h) => void handlers.push(h) }
    }))

/** One informer's watch, until it ends. */
const watch = (informer: Shared) =>
  Effect.gen(function*() {
    const hub = yield* WatchHub
    yield* hub.watch(informer.resource, { resourceVersion: "", sendInitialEvents: true, allowBookmarks: true }).pipe(
      Stream.runForEach((e) => {
        if (e.type === "BOOKMARK") return e.initialEventsEnd ? Deferred.succeed(informer.synced, undefined) : Effect.void
        const object = JSON.parse(e.object) as KubeObject
        const [namespace, name] = [object.metadata.namespace ?? "", object.metadata.name ?? ""]
        if (e.type === "DELETED") informer.index.delete(namespace, name)
        else informer.index.set(namespace, name, summary(object))
        const event: InformerEvent = { type: e.type, namespace, name, object, initial: !Deferred.isDoneUnsafe(informer.synced) }
        return Effect.forEach(informer.handlers, (h) => h(event), { discard: true })
      })
    )
    return yield* new WatchEnded({ kind: informer.resource.kind })
  })

/**
 * Runs the informers' watches, each after the ones before it synced, until one ends (a 410
 * after falling behind): then it fails with WatchEnded, and the controller starts over.
 */
export const run = (informers: ReadonlyArray<Informer>) =>
  Effect.raceAllFirst(informers.map((informer, i) =>
    Effect.andThen(
      Effect.forEach(informers.slice(0, i), (before) => Deferred.await(before.synced), { discard: true }),
      watch(informer as Shared)
    )
  ))
