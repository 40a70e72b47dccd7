/**
 * The generic shape of a stored Kubernetes object. Storage and the API work on this shape;
 * per-kind Schemas (kinds.ts) validate spec/status on top of it.
 */
export interface OwnerReference {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly uid: string
  readonly controller?: boolean
  readonly blockOwnerDeletion?: boolean
}

export interface ObjectMeta {
  name?: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  finalizers?: Array<string>
  ownerReferences?: Array<OwnerReference>
  managedFields?: Array<unknown>
  [extra: string]: unknown
}

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec?: unknown
  status?: unknown
  [extra: string]: unknown
}

/** One field-level reason of an Invalid/BadRequest Status, as kube's `StatusCause`. */
export interface StatusCause {
  readonly reason: string
  readonly message: string
  readonly field: string
}

export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** An object's stored JSON text from its UTF-8 bytes (as the watch hub keeps them). */
export const textOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
