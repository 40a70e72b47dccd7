/**
 * Kubernetes object semantics over any store, as k8s.io/apiserver's generic registry Store sits
 * over storage.Interface: metadata validation, generated names, read-modify-write with
 * preconditions, finalizers and dry runs are written once here; a store (PostgreSQL, etcd)
 * supplies reads and conditional writes only.
 */
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { deletionFinalizers, isFinalized, markDeleted, maxObjectBytes, missingResourceVersion, prepareCreate, prepareUpdate, splitAtResourceVersion, withResourceVersion } from "../../domain/lifecycle.ts"
import type { KubeObject } from "../../domain/object.ts"
import { generateObjectName, validateObjectMeta } from "../../domain/validation.ts"
import type { StorageError } from "../../services/errors.ts"
import { AlreadyExists, Conflict, Invalid, TooLarge, TooNewResourceVersion } from "../../services/errors.ts"
import type { DeleteOptions, DeleteResult, StoredResource, UpdateOptions, WriteOptions } from "../../services/Storage.ts"

/** The identifying fields every per-object error carries. */
export const ident = (r: StoredResource, name: string) => ({ group: r.group, resource: r.plural, name })

export const modifiedMessage = "the object has been modified; please apply your changes to the latest version and try again"

export const invalid = (r: StoredResource, name: string, causes: ReadonlyArray<{ reason: string; message: string; field: string }>) =>
  new Invalid({ kind: r.kind, group: r.group, name, causes: [...causes] })

/** Refuses stored text (of `bytes` characters) beyond kube's object size limit. */
export const checkSize = (r: StoredResource, name: string, bytes: number) =>
  bytes > maxObjectBytes
    ? Effect.fail(new TooLarge({ message: `${r.plural}.${r.group} "${name}": object exceeds the maximum size of ${maxObjectBytes} bytes` }))
    : Effect.void

/**
 * Waits (up to 3 s, as kube's watch cache does) until the store's revision, read by `current`,
 * reaches `rv`; then a read or watch at `rv` is answered. Past the wait: 504 "Too large resource
 * version", as kube answers a resourceVersion from the future.
 */
export const revisionAtLeast = <E>(current: Effect.Effect<bigint, E>, rv: bigint) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 3_000
    while (true) {
      const now = yield* current
      if (now >= rv) return now
      if (Date.now() > deadline) return yield* new TooNewResourceVersion({ message: `Too large resource version: ${rv}, current: ${now}` })
      yield* Effect.sleep("50 millis")
    }
  })

const storedBytes = (obj: KubeObject) => {
  const { prefix, suffix } = splitAtResourceVersion(obj)
  return prefix.length + suffix.length
}

export const namespaceOf = (r: StoredResource, obj: KubeObject) => r.namespaced ? obj.metadata.namespace ?? "" : ""

/** What a store supplies. */
export interface StorePrimitives {
  /** The current version (NotFound when there is none). */
  readonly readCurrent: (r: StoredResource, namespace: string, name: string) => Effect.Effect<KubeObject, StorageError>
  /** Whether an object of this name exists now (for dry-run creates). */
  readonly exists: (r: StoredResource, namespace: string, name: string) => Effect.Effect<boolean, StorageError>
  /** Stores a new object, with its resourceVersion; AlreadyExists when the name is taken. */
  readonly insert: (r: StoredResource, obj: KubeObject) => Effect.Effect<KubeObject, StorageError>
  /**
   * Replaces version `expectedRv` with `obj`, or removes the object (`removal`: its last
   * finalizer is gone or it had none): the new resourceVersion, or undefined when another
   * writer got there first.
   */
  readonly replace: (r: StoredResource, obj: KubeObject, expectedRv: string, removal: boolean) => Effect.Effect<string | undefined, StorageError>
}

/** create, guaranteedUpdate, update and delete of the Storage contract over a store's primitives. */
export const objectSemantics = (p: StorePrimitives) => {
  const create = (r: StoredResource, object: KubeObject, opts: WriteOptions = {}) =>
    Effect.gen(function*() {
      const meta = object.metadata ?? {}
      const generated = meta.name === undefined || meta.name === ""
      const causes = validateObjectMeta(meta, { namespaced: r.namespaced, requireName: false })
      if (causes.length > 0) return yield* invalid(r, meta.name ?? meta.generateName ?? "", causes)
      if (generated && !meta.generateName) {
        return yield* invalid(r, "", [{
          reason: "FieldValueRequired",
          field: "metadata.name",
          message: "Required value: name or generateName is required"
        }])
      }
      const attempt = Effect.suspend(() => {
        const name = generated ? generateObjectName(meta.generateName!) : meta.name!
        const prepared = prepareCreate(object, {
          uid: randomUUID(),
          now: Date.now(),
          name,
          namespace: r.namespaced ? meta.namespace : undefined,
          ...(r.initialStatus !== undefined ? { initialStatus: r.initialStatus } : {})
        })
        if (!opts.dryRun) return p.insert(r, prepared)
        return checkSize(r, name, storedBytes(prepared)).pipe(
          Effect.andThen(p.exists(r, namespaceOf(r, prepared), name)),
          Effect.flatMap((taken) => taken ? Effect.fail(new AlreadyExists(ident(r, name))) : Effect.succeed(prepared))
        )
      })
      // A generated name that collides is drawn again, as kube-apiserver does.
      return yield* generated
        ? attempt.pipe(Effect.retry({ times: 3, while: (e) => e._tag === "AlreadyExists" }))
        : attempt
    })

  const guaranteedUpdate = <E>(
    r: StoredResource,
    namespace: string,
    name: string,
    mutate: (current: KubeObject) => Effect.Effect<KubeObject, E>,
    opts: UpdateOptions = {}
  ) =>
    Effect.gen(function*() {
      const ns = r.namespaced ? namespace : ""
      /** One attempt on `current`: the object written, or "lost" when another writer got there first. */
      const attempt = (current: KubeObject) =>
        Effect.gen(function*() {
          const currentRv = current.metadata.resourceVersion!
          const desired = yield* mutate(current)
          const wantRv = desired.metadata?.resourceVersion
          if (wantRv !== undefined && wantRv !== "" && wantRv !== currentRv) {
            return yield* new Conflict({ ...ident(r, name), detail: modifiedMessage })
          }
          if (opts.subresource !== "status") {
            const causes = validateObjectMeta(
              { ...desired.metadata, name, namespace: current.metadata.namespace },
              { namespaced: r.namespaced, requireName: true }
            )
            if (causes.length > 0) return yield* invalid(r, name, causes)
          }
          const decision = prepareUpdate(current, desired, opts.subresource ?? "main")
          if (decision._tag === "Conflict") {
            return yield* new Conflict({ ...ident(r, name), detail: decision.message })
          }
          if (decision._tag === "Invalid") return yield* invalid(r, name, decision.causes)
          const next = decision.object
          if (opts.dryRun) {
            yield* checkSize(r, name, storedBytes(next))
            return withResourceVersion(next, currentRv)
          }
          const rv = yield* p.replace(r, next, currentRv, isFinalized(next))
          return rv === undefined ? "lost" as const : withResourceVersion(next, rv)
        })
      // A dry run checks against the stored version: with nothing written, a stale one would go unnoticed.
      let cached = opts.dryRun ? undefined : opts.cached
      while (true) {
        const fromCache = cached !== undefined
        const current = cached ?? (yield* p.readCurrent(r, ns, name))
        cached = undefined
        // A failure decided on the cached version stands only if that version is still the stored one.
        const result = fromCache
          ? yield* attempt(current).pipe(Effect.catch((e) =>
            Effect.flatMap(p.readCurrent(r, ns, name), (stored) =>
              stored.metadata.resourceVersion === current.metadata.resourceVersion ? Effect.fail(e) : Effect.succeed("lost" as const))
          ))
          : yield* attempt(current)
        if (result !== "lost") return result
        // Lost the race: read again and mutate the newer version. A client's own resourceVersion
        // (an update's, or one a patch sets) is then stale and fails the check in `attempt`, as in
        // kube; a patch that carries the version it read applies again, so it never answers 409 for it.
      }
    })

  const update = (r: StoredResource, object: KubeObject, opts: UpdateOptions = {}) => {
    const name = object.metadata?.name ?? ""
    const rv = object.metadata?.resourceVersion
    if (rv === undefined || rv === "") {
      return Effect.fail(invalid(r, name, [missingResourceVersion]))
    }
    return guaranteedUpdate(r, object.metadata.namespace ?? "", name, () => Effect.succeed(object), opts)
  }

  const del = (r: StoredResource, namespace: string, name: string, opts: DeleteOptions = {}): Effect.Effect<DeleteResult, StorageError> =>
    Effect.gen(function*() {
      const ns = r.namespaced ? namespace : ""
      while (true) {
        const current = yield* p.readCurrent(r, ns, name)
        const meta = current.metadata
        const pre = opts.preconditions ?? {}
        if (pre.uid !== undefined && pre.uid !== meta.uid) {
          return yield* new Conflict({
            ...ident(r, name),
            detail: `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`
          })
        }
        if (pre.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
          return yield* new Conflict({
            ...ident(r, name),
            detail:
              `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`
          })
        }
        const own = meta.finalizers ?? []
        // Orphan and Foreground leave the garbage collector's finalizer; any finalizer defers the removal.
        const finalizers = deletionFinalizers(own, opts.propagationPolicy)
        const pending = finalizers.length > 0
        const refinalized = finalizers === own ? current : { ...current, metadata: { ...meta, finalizers: [...finalizers] } }
        const next = pending ? markDeleted(refinalized, Date.now()) : current
        if (opts.dryRun || (pending && next === current)) return { object: next, deleted: !pending }
        const rv = yield* p.replace(r, next, meta.resourceVersion!, !pending)
        if (rv !== undefined) return { object: withResourceVersion(next, rv), deleted: !pending }
      }
    })

  return { create, guaranteedUpdate, update, delete: del }
}
