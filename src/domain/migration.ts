/**
 * What `ark migrate-resources` writes for each object it copies, and when a copy is already up
 * to date: the user's part of the object (names, labels, annotations, finalizers, owner
 * references, spec and other top-level fields) and, separately, its status, which only the
 * `/status` subresource takes. Server-owned metadata is dropped on create, as kube ignores it.
 */
import type { KubeObject } from "./object.ts"

/** Metadata the destination server assigns itself. */
const serverOwned = [
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "managedFields",
  "generation",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds"
] as const

/** The object to create or update on the destination: no server-owned metadata, no status. */
export const desiredObject = (source: KubeObject): KubeObject => {
  const { status: _status, ...rest } = source as KubeObject & { status?: unknown }
  const metadata: Record<string, unknown> = { ...source.metadata }
  for (const key of serverOwned) delete metadata[key]
  return { ...rest, metadata } as KubeObject
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

const emptyToUndefined = (v: unknown) =>
  v === undefined || v === null || (typeof v === "object" && Object.keys(v as object).length === 0) ? undefined : v

/** The fields an update would change: everything of `desiredObject` except apiVersion and kind. */
const userPart = (o: KubeObject) => {
  const { apiVersion: _v, kind: _k, ...rest } = desiredObject(o) as KubeObject & Record<string, unknown>
  const meta = rest.metadata as Record<string, unknown>
  const { generateName: _g, ...metadata } = meta
  for (const key of ["labels", "annotations", "finalizers", "ownerReferences"]) {
    if (emptyToUndefined(metadata[key]) === undefined) delete metadata[key]
  }
  return { ...rest, metadata }
}

/** Whether the destination's object differs from the source in anything but status and server-owned fields. */
export const needsUpdate = (source: KubeObject, destination: KubeObject): boolean =>
  canonicalJson(userPart(source)) !== canonicalJson(userPart(destination))

/** Whether the destination's status differs from the source's (an empty status equals none). */
export const needsStatus = (source: KubeObject, destination: KubeObject): boolean => {
  const s = emptyToUndefined((source as { status?: unknown }).status)
  const d = emptyToUndefined((destination as { status?: unknown }).status)
  return canonicalJson(s ?? null) !== canonicalJson(d ?? null)
}

/** The destination object with the source's user part, at the destination's resourceVersion (a PUT body). */
export const updatedObject = (source: KubeObject, destination: KubeObject): KubeObject => {
  const desired = desiredObject(source)
  return {
    ...desired,
    metadata: { ...desired.metadata, resourceVersion: destination.metadata.resourceVersion }
  } as KubeObject
}

/** The destination object carrying the source's status (a `/status` PUT body). */
export const withSourceStatus = (source: KubeObject, destination: KubeObject): KubeObject =>
  ({ ...destination, status: (source as { status?: unknown }).status ?? {} }) as KubeObject

/** The uids of the objects `o` names as owners. */
export const ownerUids = (o: KubeObject): ReadonlyArray<string> => (o.metadata.ownerReferences ?? []).map((r) => r.uid)

/**
 * Owner references to copied objects name the copies: uids differ between servers, and kube's
 * garbage collector deletes a dependent whose owner uid does not exist.
 */
export const remapOwners = (o: KubeObject, uids: ReadonlyMap<string, string>): KubeObject => {
  const refs = o.metadata.ownerReferences
  if (refs === undefined || !refs.some((r) => uids.has(r.uid))) return o
  return { ...o, metadata: { ...o.metadata, ownerReferences: refs.map((r) => ({ ...r, uid: uids.get(r.uid) ?? r.uid })) } }
}
