/**
 * In-process signal that a resource changed, published by storage right after a commit so that
 * the watch hub of the same replica catches up at once (other replicas learn through the store's
 * own notifications).
 */
import { Context, Effect, Layer, PubSub, Stream } from "effect"
import type { Change } from "./Storage.ts"

/** One commit of this process. */
export interface Commit {
  readonly key: string
  /**
   * The version committed, exactly as the store's `changes` returns it, when the store can say
   * (PostgreSQL): the watch hub then delivers it without reading it back when nothing can precede it.
   */
  readonly change?: Change
}

export class Commits extends Context.Service<Commits, {
  /** Announces that `resourceKey` committed a change (`change`: the version, as `changes` would read it). */
  readonly publish: (resourceKey: string, change?: Change) => Effect.Effect<void>
  /** Every announcement from now on. */
  readonly subscribe: Stream.Stream<Commit>
}>()("ark-effect/services/Commits") {
  static readonly layer = Layer.effect(
    Commits,
    Effect.gen(function*() {
      const hub = yield* PubSub.sliding<Commit>(4096)
      return Commits.of({
        publish: (key, change) => Effect.asVoid(PubSub.publish(hub, change === undefined ? { key } : { key, change })),
        subscribe: Stream.fromPubSub(hub)
      })
    })
  )
}

/**
 * Resource keys that other replicas changed, as the store notifies them; "*" asks for a full
 * catch-up (sent whenever the notification channel (re)connects, since notifications may have
 * been missed while it was down).
 */
export class RemoteCommits extends Context.Service<RemoteCommits, {
  readonly changes: Stream.Stream<string>
}>()("ark-effect/services/RemoteCommits") {
  /** A single process: nothing else writes. */
  static readonly none = Layer.succeed(RemoteCommits, RemoteCommits.of({ changes: Stream.never }))
}
