/**
 * Where each Query's completions call goes, kept in memory from watches of Agents and
 * ExecutionEngines (as controllers read through informers): resolving an engine costs no read
 * of the store, and a change to an Agent or engine applies to Queries claimed after it arrives.
 * An Agent or engine not seen yet (created a moment before its Query) is read from the store.
 *
 * An Agent's `spec.executionEngine` names the engine (its namespace defaults to the Agent's);
 * the engine's address is `status.lastResolvedAddress`, else `spec.address.value`. A target
 * whose Agent names no engine resolves to the default engine (`--completions-url`); one whose
 * Agent names an engine that does not exist (or has no address) resolves to none.
 */
import { Deferred, Effect, Stream } from "effect"
import type { KubeObject } from "../domain/object.ts"
import { findKind } from "../domain/registry.ts"
import type { StoredResource } from "../services/Storage.ts"
import { Storage, storedResource } from "../services/Storage.ts"
import { WatchHub } from "../services/WatchHub.ts"
import { ObjectIndex } from "./objectIndex.ts"

const agents = storedResource(findKind("Agent")!)
const engines = storedResource(findKind("ExecutionEngine")!)

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`

/** What the directory keeps of an object (undefined: nothing worth keeping). */
type Extract = (o: KubeObject) => string | undefined

const engineOfAgent: Extract = (agent) => {
  const ref = (agent.spec as { executionEngine?: { name?: string; namespace?: string } } | undefined)?.executionEngine
  return ref?.name === undefined ? undefined : keyOf(ref.namespace ?? agent.metadata.namespace ?? "", ref.name)
}

const addressOfEngine: Extract = (engine) =>
  (engine.status as { lastResolvedAddress?: string } | undefined)?.lastResolvedAddress ??
    (engine.spec as { address?: { value?: string } } | undefined)?.address?.value

/**
 * One resource followed into an index of what `extract` keeps of each object. Each (re)start
 * builds a fresh map from the initial state and swaps it in at the end of that state, so a
 * lookup never sees a half-loaded map; `synced` resolves after the first swap.
 */
const follow = (resource: StoredResource, extract: Extract) =>
  Effect.gen(function*() {
    const hub = yield* WatchHub
    const synced = yield* Deferred.make<void>()
    let current = new ObjectIndex<string>()
    const once = Effect.suspend(() => {
      let loading: ObjectIndex<string> | undefined = new ObjectIndex()
      return hub.watch(resource, { sendInitialEvents: true, allowBookmarks: true }).pipe(
        Stream.runForEach((e) =>
          Effect.suspend(() => {
            if (e.type === "BOOKMARK") {
              if (!e.initialEventsEnd || loading === undefined) return Effect.void
              current = loading
              loading = undefined
              return Deferred.succeed(synced, undefined)
            }
            const o = JSON.parse(e.object) as KubeObject
            const [namespace, name] = [o.metadata.namespace ?? "", o.metadata.name ?? ""]
            const into = loading ?? current
            // Every object is kept ("" when it holds nothing to extract): absent means not seen.
            if (e.type === "DELETED") into.delete(namespace, name)
            else into.set(namespace, name, extract(o) ?? "")
            return Effect.void
          })
        )
      )
    })
    yield* Effect.forkScoped(once.pipe(
      Effect.catchCause((cause) => Effect.logWarning(`following ${resource.plural} again`, cause)),
      Effect.andThen(Effect.sleep("200 millis")),
      Effect.forever
    ))
    return { lookup: (namespace: string, name: string) => Deferred.await(synced).pipe(Effect.map(() => current.get(namespace, name))) }
  })

/**
 * What `extract` keeps of an object: from the followed map, or for an object not seen there
 * (created a moment before the Query that names it) from the store; undefined when it does not exist.
 */
const resolve = (
  storage: Storage["Service"],
  followed: { readonly lookup: (namespace: string, name: string) => Effect.Effect<string | undefined> },
  resource: StoredResource,
  extract: Extract
) =>
  (namespace: string, name: string) =>
    followed.lookup(namespace, name).pipe(
      Effect.flatMap((kept) =>
        kept !== undefined
          ? Effect.succeed<string | undefined>(kept)
          : storage.get(resource, namespace, name).pipe(
            Effect.map((o) => extract(o) ?? ""),
            Effect.catchTag("NotFound", () => Effect.succeed(undefined))
          )
      )
    )

/** Resolves a Query target to an engine URL; needs a Scope for its watches. */
export const make = (defaultEngineUrl: string | undefined) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const engineOf = resolve(storage, yield* follow(agents, engineOfAgent), agents, engineOfAgent)
    const addressOf = resolve(storage, yield* follow(engines, addressOfEngine), engines, addressOfEngine)
    return (namespace: string, target: { readonly type: string; readonly name: string }) =>
      Effect.gen(function*() {
        if (target.type !== "agent") return defaultEngineUrl
        const engine = yield* engineOf(namespace, target.name)
        if (engine === undefined || engine === "") return defaultEngineUrl
        // An Agent that names a missing engine (or one without an address) has none: its Queries must not go elsewhere.
        const [engineNamespace, engineName] = engine.split("/") as [string, string]
        const address = yield* addressOf(engineNamespace, engineName)
        return address === undefined || address === "" ? undefined : address
      })
  })
