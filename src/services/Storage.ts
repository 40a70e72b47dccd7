/**
 * The Storage contract: Kubernetes object semantics (server-owned metadata, optimistic
 * concurrency, finalizers, snapshot-consistent pagination) over any store. One set of
 * contract tests runs against every layer that implements it (PostgreSQL, etcd).
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { PropagationPolicy } from "../domain/lifecycle.ts"
import type { KubeObject } from "../domain/object.ts"
import type { ResourceInfo } from "../domain/registry.ts"
import { storageKey } from "../domain/registry.ts"
import type { FieldRequirement, LabelRequirement } from "../domain/selectors.ts"
import type { StorageError } from "./errors.ts"

/** What storage needs to know about a resource: where it lives and how to name it in errors. */
export interface StoredResource {
  /** Storage key shared by every served version, e.g. `ark.mckinsey.com/queries`. */
  readonly key: string
  readonly group: string
  readonly plural: string
  readonly kind: string
  readonly namespaced: boolean
  /** The status a created object starts with; without it a create stores no status. */
  readonly initialStatus?: Record<string, unknown>
}

export type { StorageError } from "./errors.ts"

export interface WriteOptions {
  /** Run every check but persist nothing (`dryRun=All`). */
  readonly dryRun?: boolean
}

/** Options of update and guaranteedUpdate. */
export interface UpdateOptions extends WriteOptions {
  readonly subresource?: Subresource
  /**
   * A version the caller has just read or written (kube's cachedExistingObject): the first
   * attempt starts from it instead of reading the store; when it is stale, the write's version
   * check fails and the attempt is made again from the stored version.
   */
  readonly cached?: KubeObject
}

export interface DeleteOptions extends WriteOptions {
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string }
  /**
   * What the garbage collector does with dependents: Orphan and Foreground leave the object
   * with kube's `orphan` / `foregroundDeletion` finalizer (and a deletionTimestamp) for it.
   */
  readonly propagationPolicy?: PropagationPolicy
}

/** Which state a GET may answer from, as kube's `resourceVersion` parameter of a GET. */
export interface GetOptions {
  /** "" (the newest), "0" (any), or a decimal rv that the answer must not be older than. */
  readonly resourceVersion?: string
}

export interface ListOptions {
  readonly namespace?: string
  readonly labelSelector?: ReadonlyArray<LabelRequirement>
  readonly fieldSelector?: ReadonlyArray<FieldRequirement>
  readonly limit?: number
  readonly continue?: string
  /** "" (consistent, newest), "0" (any), or a decimal rv. */
  readonly resourceVersion?: string
  readonly resourceVersionMatch?: "NotOlderThan" | "Exact"
}

export interface ListResult {
  readonly resourceVersion: string
  /** Each object's stored JSON text, in (namespace, name) order, never re-serialized. */
  readonly items: ReadonlyArray<string>
  readonly continue?: string
}

export interface DeleteResult {
  readonly object: KubeObject
  /** false while finalizers remain: the object was only marked with a deletionTimestamp. */
  readonly deleted: boolean
}

/** What storage needs of a served kind (every caller derives it here, so none forgets a field). */
export const storedResource = (info: ResourceInfo): StoredResource => ({
  key: storageKey(info),
  group: info.group,
  plural: info.plural,
  kind: info.kind,
  namespaced: info.namespaced,
  ...(info.initialStatus !== undefined ? { initialStatus: info.initialStatus } : {})
})

/** One committed version in a resource's change feed. */
export interface Change {
  readonly type: "ADDED" | "MODIFIED" | "DELETED"
  readonly resourceVersion: string
  readonly namespace: string
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** Labels of the version this one replaced (MODIFIED only), to tell when an object enters or leaves a selector. */
  readonly previousLabels?: Readonly<Record<string, string>>
  /** The stored JSON text of this version (for DELETED: the last state, with the deletion's resourceVersion). */
  readonly object: string
}

/** Which part of an object an update may change, as kube's main resource and `/status`. */
export type Subresource = "main" | "status"

export class Storage extends Context.Service<Storage, {
  readonly create: (
    resource: StoredResource,
    object: KubeObject,
    options?: WriteOptions
  ) => Effect.Effect<KubeObject, StorageError>
  /** The newest version; with a resourceVersion the store may answer from a replica that has it. */
  readonly get: (
    resource: StoredResource,
    namespace: string,
    name: string,
    options?: GetOptions
  ) => Effect.Effect<KubeObject, StorageError>
  /**
   * Replaces the object. `metadata.resourceVersion` is required and must match the stored one.
   * With subresource "status" only `status` changes; otherwise `status` is kept.
   */
  readonly update: (
    resource: StoredResource,
    object: KubeObject,
    options?: UpdateOptions
  ) => Effect.Effect<KubeObject, StorageError>
  /**
   * Read-modify-write that retries on concurrent changes (kube's GuaranteedUpdate): `mutate`
   * sees the current object and returns the desired one; a resourceVersion it sets is a
   * precondition, otherwise the newest version is used.
   */
  readonly guaranteedUpdate: <E>(
    resource: StoredResource,
    namespace: string,
    name: string,
    mutate: (current: KubeObject) => Effect.Effect<KubeObject, E>,
    options?: UpdateOptions
  ) => Effect.Effect<KubeObject, StorageError | E>
  readonly delete: (
    resource: StoredResource,
    namespace: string,
    name: string,
    options?: DeleteOptions
  ) => Effect.Effect<DeleteResult, StorageError>
  readonly list: (resource: StoredResource, options?: ListOptions) => Effect.Effect<ListResult, StorageError>
  /**
   * The newest resourceVersion at or below which every change has committed: nothing with a
   * smaller resourceVersion can appear later, so a reader that has seen everything up to it
   * never misses an event.
   */
  readonly currentRevision: Effect.Effect<string, StorageError>
  /**
   * Per resource, the resourceVersion up to which its changes are known now, so that
   * `changes(r, after, frontier(r))` answers at once (the watch hub's rounds read it). A store
   * with one order for every resource (PostgreSQL, etcd) gives currentRevision for each; one fed
   * by a watch per kind (kube-apiserver) gives the last version that kind's watch delivered.
   */
  readonly frontiers: Effect.Effect<(resource: StoredResource) => string, StorageError>
  /**
   * Every committed change of a resource with `after < resourceVersion <= upTo`, in
   * resourceVersion order (`upTo` must not exceed currentRevision). Expired when `after` is
   * below the resource's purge floor.
   */
  readonly changes: (
    resource: StoredResource,
    after: string,
    upTo: string
  ) => Effect.Effect<ReadonlyArray<Change>, StorageError>
  /**
   * Forgets history (superseded versions, tombstones) at or below `revision` for a resource;
   * lists and watches from before it then answer Expired.
   */
  readonly compact: (resource: StoredResource, revision: string) => Effect.Effect<number, StorageError>
}>()("ark-effect/services/Storage") {}
