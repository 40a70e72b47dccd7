/**
 * Server-owned metadata rules shared by every storage layer (kube's "strategy"): what a create,
 * an update, a status update and a delete may change, and when generation moves.
 */
import type { KubeObject, ObjectMeta, StatusCause } from "./object.ts"
import { isRecord } from "./object.ts"

/** Structural equality of JSON values, so generation moves only when spec really changes. */
export const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined)
    const kb = Object.keys(b).filter((k) => b[k] !== undefined)
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]))
  }
  return false
}

/** RFC 3339 at second precision, as kube writes timestamps. */
export const timestamp = (millis: number): string => {
  const iso = new Date(millis).toISOString()
  // Years 0-9999 (every clock reading) have the fixed-width form; others keep their own width.
  return iso.length === 24 ? `${iso.slice(0, 19)}Z` : iso.replace(/\.\d{3}Z$/, "Z")
}

const metaOrder = [
  "name",
  "generateName",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields"
] as const

const topOrder = ["apiVersion", "kind", "metadata", "spec", "status"] as const

const ordered = <T extends Record<string, unknown>>(obj: T, order: ReadonlyArray<string>): T => {
  const out: Record<string, unknown> = {}
  for (const k of order) if (obj[k] !== undefined) out[k] = obj[k]
  for (const k of Object.keys(obj)) if (!(k in out) && obj[k] !== undefined) out[k] = obj[k]
  return out as T
}

/** Kube's field order, so stored text reads like kube's and resourceVersion comes first in it. */
export const canonical = (obj: KubeObject): KubeObject =>
  ordered({ ...obj, metadata: ordered(obj.metadata, metaOrder) }, topOrder)

/**
 * The object's JSON text split around its resourceVersion value, so a store can splice in the
 * version it assigns at commit without serializing again. resourceVersion is the first string
 * in the text that can hold the marker: only name/generateName/namespace/uid come before it.
 */
export const splitAtResourceVersion = (obj: KubeObject): { readonly prefix: string; readonly suffix: string } => {
  const marker = "\u0000rv\u0000"
  const text = JSON.stringify(canonical({ ...obj, metadata: { ...obj.metadata, resourceVersion: marker } }))
  const escaped = JSON.stringify(marker).slice(1, -1)
  const at = text.indexOf(escaped)
  return { prefix: text.slice(0, at), suffix: text.slice(at + escaped.length) }
}

export const withResourceVersion = (obj: KubeObject, rv: string): KubeObject =>
  canonical({ ...obj, metadata: { ...obj.metadata, resourceVersion: rv } })

/** Metadata with the given field ownership; none is stored as no managedFields at all, as kube does. */
const withManagedFields = (metadata: ObjectMeta, managedFields: Array<unknown> | undefined): ObjectMeta => {
  const { managedFields: _mf, ...rest } = metadata
  return managedFields === undefined || managedFields.length === 0 ? rest : { ...rest, managedFields }
}

/** A new object: server fields set, client-supplied ones it may not choose dropped. */
export const prepareCreate = (
  obj: KubeObject,
  server: {
    readonly uid: string
    readonly now: number
    readonly name: string
    readonly namespace: string | undefined
    readonly initialStatus?: Record<string, unknown>
  }
): KubeObject => {
  const {
    creationTimestamp: _ct,
    deletionGracePeriodSeconds: _dg,
    deletionTimestamp: _dt,
    generation: _g,
    resourceVersion: _rv,
    uid: _uid,
    ...meta
  } = obj.metadata
  const { status: _status, ...rest } = obj
  const metadata: ObjectMeta = {
    ...meta,
    name: server.name,
    uid: server.uid,
    generation: 1,
    creationTimestamp: timestamp(server.now)
  }
  if (server.namespace === undefined) delete metadata.namespace
  else metadata.namespace = server.namespace
  return canonical({ ...rest, metadata: withManagedFields(metadata, meta.managedFields), ...(server.initialStatus !== undefined ? { status: server.initialStatus } : {}) })
}

export type UpdateRejection =
  | { readonly _tag: "Conflict"; readonly message: string }
  | { readonly _tag: "Invalid"; readonly causes: ReadonlyArray<StatusCause> }

/**
 * The object an update stores, or why it may not. Identity and server-owned fields come from
 * `current`; a "status" update changes only status; a main update keeps status (when the
 * resource has a status subresource) and bumps generation only when spec changes.
 */
export const prepareUpdate = (
  current: KubeObject,
  desired: KubeObject,
  subresource: "main" | "status"
): { readonly _tag: "Ok"; readonly object: KubeObject } | UpdateRejection => {
  const cur = current.metadata
  const want = desired.metadata
  if (want.uid !== undefined && want.uid !== "" && want.uid !== cur.uid) {
    return {
      _tag: "Conflict",
      message: `Precondition failed: UID in precondition: ${want.uid}, UID in object meta: ${cur.uid}`
    }
  }
  if (subresource === "status") {
    const { status: _s, ...rest } = current
    // Metadata stays as it is, except the field ownership the API computed for this status write.
    const next: KubeObject = { ...rest, metadata: withManagedFields({ ...cur }, want.managedFields ?? cur.managedFields) }
    if (desired.status !== undefined) next.status = desired.status
    return { _tag: "Ok", object: canonical(next) }
  }
  const curFinalizers = cur.finalizers ?? []
  if (cur.deletionTimestamp !== undefined) {
    const added = (want.finalizers ?? []).filter((f) => !curFinalizers.includes(f))
    if (added.length > 0) {
      return {
        _tag: "Invalid",
        causes: [{
          reason: "FieldValueForbidden",
          field: "metadata.finalizers",
          message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${
            JSON.stringify(added)
          }`
        }]
      }
    }
  }
  const specChanged = !jsonEqual(current.spec, desired.spec)
  const { status: _s, ...desiredRest } = desired
  const metadata: ObjectMeta = {
    ...want,
    name: cur.name,
    uid: cur.uid,
    creationTimestamp: cur.creationTimestamp,
    generation: (cur.generation ?? 1) + (specChanged ? 1 : 0)
  }
  if (cur.namespace === undefined) delete metadata.namespace
  else metadata.namespace = cur.namespace
  delete metadata.deletionTimestamp
  delete metadata.deletionGracePeriodSeconds
  if (cur.deletionTimestamp !== undefined) {
    metadata.deletionTimestamp = cur.deletionTimestamp
    metadata.deletionGracePeriodSeconds = cur.deletionGracePeriodSeconds ?? 0
  }
  if (want.finalizers !== undefined && want.finalizers.length === 0) delete metadata.finalizers
  const next: KubeObject = { ...desiredRest, metadata: withManagedFields(metadata, want.managedFields) }
  if (current.status !== undefined) next.status = current.status
  return { _tag: "Ok", object: canonical(next) }
}

/** An object being deleted whose last finalizer is gone leaves storage. */
export const isFinalized = (obj: KubeObject): boolean =>
  obj.metadata.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).length === 0

/**
 * A delete of an object with finalizers only marks it: deletionTimestamp is set once (with
 * a generation bump, as kube does); a second delete leaves it as it is.
 */
export const markDeleted = (obj: KubeObject, now: number): KubeObject =>
  obj.metadata.deletionTimestamp !== undefined ? obj : canonical({
    ...obj,
    metadata: {
      ...obj.metadata,
      deletionTimestamp: timestamp(now),
      deletionGracePeriodSeconds: 0,
      generation: (obj.metadata.generation ?? 1) + 1
    }
  })

/** The largest resourceVersion any store issues (every store's revisions are int64). */
export const maxInt64 = 2n ** 63n - 1n

/** Whether a resourceVersion parameter is a decimal rv a store can hold ("0" included). */
export const isResourceVersion = (rv: string): boolean => /^\d{1,19}$/.test(rv) && BigInt(rv) <= maxInt64

/** How a deletion treats the object's dependents (DeleteOptions.propagationPolicy). */
export type PropagationPolicy = "Orphan" | "Background" | "Foreground"

export const propagationPolicies: ReadonlyArray<PropagationPolicy> = ["Foreground", "Background", "Orphan"]

/**
 * The finalizers a deletion leaves for the garbage collector, as kube's store decides them
 * (deletionFinalizersForGarbageCollection): an explicit policy replaces the object's `orphan` /
 * `foregroundDeletion` finalizer (Orphan adds `orphan`, Foreground `foregroundDeletion`,
 * Background neither); without one the object's own stay. Other finalizers are kept in order.
 */
export const deletionFinalizers = (finalizers: ReadonlyArray<string>, policy: PropagationPolicy | undefined): ReadonlyArray<string> => {
  if (policy === undefined) return finalizers
  const others = finalizers.filter((f) => f !== "orphan" && f !== "foregroundDeletion")
  const next = policy === "Orphan" ? [...others, "orphan"] : policy === "Foreground" ? [...others, "foregroundDeletion"] : others
  // The same list when nothing changes, so a caller can tell by identity that no write is needed.
  return next.length === finalizers.length && next.every((f) => finalizers.includes(f)) ? finalizers : next
}

/** kube's answer to an update without a resourceVersion. */
export const missingResourceVersion = {
  reason: "FieldValueInvalid",
  field: "metadata.resourceVersion",
  message: "Invalid value: 0x0: must be specified for an update"
}

/** Object size limit of the stores (etcd's default request limit; kept equal for PostgreSQL). */
export const maxObjectBytes = 1_572_864
