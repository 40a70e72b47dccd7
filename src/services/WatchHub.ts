/**
 * The WatchHub contract: watches of a resource as typed streams, served from one change reader
 * per resource per process and fanned out in memory.
 */
import { Context } from "effect"
import type { Duration, Effect, Stream } from "effect"
import type { FieldRequirement, LabelRequirement } from "../domain/selectors.ts"
import type { StorageError } from "./errors.ts"
import type { ListOptions, StoredResource } from "./Storage.ts"

export interface WatchOptions {
  readonly namespace?: string
  readonly labelSelector?: ReadonlyArray<LabelRequirement>
  readonly fieldSelector?: ReadonlyArray<FieldRequirement>
  /** "" or "0": start with the current state as ADDED events; N: every change after N. */
  readonly resourceVersion?: string
  /** WatchList: the current state, then a bookmark marked `k8s.io/initial-events-end`. */
  readonly sendInitialEvents?: boolean
  readonly allowBookmarks?: boolean
  /** When the watch ends by itself (with a last bookmark first, when bookmarks are allowed). */
  readonly timeout?: Duration.Duration
  /**
   * Called when the hub ends this watch for falling behind, so the transport drops what it still
   * holds (the HTTP layer closes the connection: a client that does not read would never see the end).
   */
  readonly onTooSlow?: () => void
  /**
   * A transport that can take an event synchronously (the HTTP layer writes its frame to the
   * response): while the watch's stream is waiting for live events with nothing queued, the hub
   * hands each new event to this instead of queueing it and waking the stream, as a bare fan-out
   * writes to every socket in one loop. It returns false when it cannot take the event now (its
   * previous writes not yet flushed): the event is queued, and the stream carries on in order.
   */
  readonly direct?: (event: WatchEvent) => boolean
}

export type WatchEvent =
  | {
    readonly type: "ADDED" | "MODIFIED" | "DELETED"
    readonly resourceVersion: string
    /** The object's stored JSON text. */
    readonly object: string
  }
  | {
    readonly type: "BOOKMARK"
    readonly resourceVersion: string
    readonly initialEventsEnd: boolean
  }

/**
 * A LIST from memory: each object's stored JSON as UTF-8 bytes, encoded once when the object
 * entered the hub, so serving a LIST copies bytes instead of encoding every object again.
 */
export interface EncodedList {
  readonly resourceVersion: string
  readonly items: ReadonlyArray<Uint8Array>
}

export class WatchHub extends Context.Service<WatchHub, {
  /**
   * Events of one watch, in resourceVersion order, each committed version exactly once. Fails
   * with Expired when the start is older than what is retained or the watcher fell too far behind.
   */
  readonly watch: (resource: StoredResource, options: WatchOptions) => Stream.Stream<WatchEvent, StorageError>
  /**
   * A consistent, unpaginated LIST (the newest committed state) served from the hub's memory;
   * the same objects as Storage.list with resourceVersion "", each already UTF-8 encoded.
   */
  readonly list: (
    resource: StoredResource,
    options: Pick<ListOptions, "namespace" | "labelSelector" | "fieldSelector">
  ) => Effect.Effect<EncodedList, StorageError>
}>()("ark-effect/services/WatchHub") {}
