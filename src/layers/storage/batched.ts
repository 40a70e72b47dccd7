/**
 * Group commit: calls that arrive while earlier ones are being written are written together,
 * by one statement, so a burst of writes pays one round trip and one commit per group instead of
 * one each. Nothing waits for a group to fill: a call made while a writer is free is written at
 * once, alone, and what arrives meanwhile forms the next group.
 */
import { Deferred, Effect, Exit, Queue } from "effect"
import type { Scope } from "effect"

export interface BatchedOptions<I> {
  /** Groups written at once (each by a writer fiber of its own). */
  readonly writers: number
  /** Most calls in one group. */
  readonly maxItems: number
  /** Most weight (bytes, say) in one group; a call heavier than that alone is written alone. */
  readonly maxWeight: number
  readonly weigh: (item: I) => number
}

interface Waiting<I, A, E> {
  readonly item: I
  readonly done: Deferred.Deferred<A, E>
}

/** Consecutive groups of `entries`, each within the item and weight bounds. */
const groups = <T>(entries: ReadonlyArray<T>, maxWeight: number, weigh: (entry: T) => number) => {
  const out: Array<Array<T>> = []
  let weight = 0
  for (const entry of entries) {
    const w = weigh(entry)
    const last = out[out.length - 1]
    if (last !== undefined && weight + w <= maxWeight) {
      last.push(entry)
      weight += w
    } else {
      out.push([entry])
      weight = w
    }
  }
  return out
}

/**
 * A function that writes one call through `write`, grouped with the calls waiting beside it.
 * `write` gets a group and answers each call in order; its failure is every call's failure. The
 * writers run in the scope: when it closes, calls still waiting are interrupted.
 */
export const make = <I, A, E>(
  options: BatchedOptions<I>,
  write: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<A>, E>
): Effect.Effect<(item: I) => Effect.Effect<A, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Waiting<I, A, E>>()
    const writeGroup = (group: ReadonlyArray<Waiting<I, A, E>>) =>
      Effect.exit(write(group.map((w) => w.item))).pipe(
        Effect.flatMap((exit) =>
          Effect.forEach(group, (w, i) =>
            Deferred.done(w.done, Exit.isSuccess(exit) ? Exit.succeed(exit.value[i] as A) : Exit.failCause(exit.cause)), { discard: true })
        ),
        Effect.onInterrupt(() => Effect.forEach(group, (w) => Deferred.interrupt(w.done), { discard: true }))
      )
    const writer = Queue.takeBetween(queue, 1, options.maxItems).pipe(
      Effect.flatMap((taken) =>
        Effect.forEach(groups(taken, options.maxWeight, (w) => options.weigh(w.item)), writeGroup, { discard: true })
      ),
      Effect.forever
    )
    yield* Effect.replicateEffect(Effect.forkScoped(writer), options.writers)
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Queue.clear(queue), (left) => Effect.forEach(left, (w) => Deferred.interrupt(w.done), { discard: true }))
    )
    return (item: I) =>
      Effect.flatMap(Deferred.make<A, E>(), (done) =>
        Queue.offer(queue, { item, done }).pipe(Effect.andThen(Deferred.await(done))))
  })
