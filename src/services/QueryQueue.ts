/**
 * The query queue contract: Queries waiting for a worker, claimed in batches under a lease
 * (visibility timeout) that a worker renews while it runs the Query. An item whose lease runs
 * out becomes claimable again, so a crashed worker's Queries are taken over: the engine may be
 * called more than once for a Query (at-least-once), and the first terminal status wins.
 */
import { Context, Schema } from "effect"
import type { Duration, Effect } from "effect"

export interface QueueItem {
  readonly id: string
  readonly namespace: string
  readonly name: string
  /** The Query this item is for: a later Query with the same name is another item. */
  readonly uid: string
  /** Claims of this item so far, this one included. */
  readonly attempts: number
  /** Proves the lease: only its holder may renew, release or complete the item. */
  readonly leaseToken: string
  /**
   * The Query's stored JSON text when the claim could read it in the same statement: saves the
   * worker a read. It may be outdated by the time it is used, so writes based on it must be
   * compare-and-swap.
   */
  readonly object?: string
}

export class QueueUnavailable extends Schema.TaggedError<QueueUnavailable>()("QueueUnavailable", {
  message: Schema.String
}) {}

export class QueryQueue extends Context.Service<QueryQueue, {
  /**
   * Claims up to `max` ready items, spread fairly over namespaces (every namespace with ready
   * items gets one before any gets a second), each leased for `lease`.
   */
  readonly claim: (max: number, lease: Duration.Duration) => Effect.Effect<ReadonlyArray<QueueItem>, QueueUnavailable>
  /** Renews the lease; false when it was lost (expired and claimed by another worker). */
  readonly renew: (item: QueueItem, lease: Duration.Duration) => Effect.Effect<boolean, QueueUnavailable>
  /** Puts the item back, claimable after `delay` (a retry with backoff). */
  readonly release: (item: QueueItem, delay: Duration.Duration) => Effect.Effect<void, QueueUnavailable>
  /**
   * Removes the item: its Query reached a terminal phase or no longer exists. Removals may be
   * batched with other workers' (one statement for many): the effect ends once this one is done.
   */
  readonly complete: (item: QueueItem) => Effect.Effect<void, QueueUnavailable>
  /** Items in the queue, waiting or leased (the query queue depth metric). */
  readonly depth: Effect.Effect<number, QueueUnavailable>
}>()("ark-effect/services/QueryQueue") {}
