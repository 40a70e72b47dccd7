/**
 * In-process signal that a resource changed, published by storage right after a commit so that
 * the watch hub of the same replica catches up at once (other replicas learn through the store's
 * own notifications).
 */
import { Context, Effect, Layer, PubSub, Stream } from "effect"

export class Commits extends Context.Service<Commits, {
  /** Announces that `resourceKey` committed a change. */
  readonly publish: (resourceKey: string) => Effect.Effect<void>
  /** Every announcement from now on. */
  readonly subscribe: Stream.Stream<string>
}>()("ark-effect/services/Commits") {
  static readonly layer = Layer.effect(
    Commits,
    Effect.gen(function*() {
      const hub = yield* PubSub.sliding<string>(4096)
      return Commits.of({
        publish: (key) => Effect.asVoid(PubSub.publish(hub, key)),
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
