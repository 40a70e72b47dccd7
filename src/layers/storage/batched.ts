/**
 * Group commit: calls that arrive while earlier ones are being written are written together,
 * by one statement, so a burst of writes pays one round trip and one commit per group instead of
 * one each. Nothing waits for a group to fill: a call made while a writer is free is written at
 * once, alone, and what arrives meanwhile forms the next group.
 */
import { Deferred, Effect, Exit, FiberSet } from "effect"
import type { Scope } from "effect"

export interface BatchedOptions<I> {
  /** Writes at once: calls written alone by their own fibers, and groups by fibers of the scope. */
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
 * `write` gets a group and answers each call in order; its failure is every call's failure. A
 * call made while a writer is free is written by the caller's own fiber; the groups that form
 * meanwhile are written by fibers of the scope, and when it closes, calls still waiting are
 * interrupted.
 */
export const make = <I, A, E>(
  options: BatchedOptions<I>,
  write: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<A>, E>
): Effect.Effect<(item: I) => Effect.Effect<A, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Closed after the finalizer below: its groups' fibers are interrupted once nothing new starts.
    const groupFibers = yield* FiberSet.make<void>()
    const waiting: Array<Waiting<I, A, E>> = []
    let writing = 0
    let closing = false
    const writeGroup = (group: ReadonlyArray<Waiting<I, A, E>>) =>
      Effect.flatMap(Effect.exit(write(group.map((w) => w.item))), (exit) =>
        Effect.forEach(group, (w, i) =>
          Deferred.done(w.done, Exit.isSuccess(exit) ? Exit.succeed(exit.value[i] as A) : Exit.failCause(exit.cause)), { discard: true }))
    /** Once a write ends, the calls that waited for it go out while writers are free. */
    const written: Effect.Effect<void> = Effect.suspend(() => {
      writing--
      return drain
    })
    const drain: Effect.Effect<void> = Effect.suspend(() => {
      if (closing || writing >= options.writers || waiting.length === 0) return Effect.void
      const taken = waiting.splice(0, options.maxItems)
      writing++
      const writes = Effect.forEach(groups(taken, options.maxWeight, (w) => options.weigh(w.item)), writeGroup, { discard: true }).pipe(
        // Interrupted (the scope closing): every call taken and not yet answered is interrupted too.
        Effect.onInterrupt(() => Effect.forEach(taken, (w) => Deferred.interrupt(w.done), { discard: true }))
      )
      return Effect.andThen(FiberSet.run(groupFibers, Effect.ensuring(writes, written)), drain)
    })
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closing = true
        return Effect.forEach(waiting.splice(0), (w) => Deferred.interrupt(w.done), { discard: true })
      }))
    return (item: I) =>
      Effect.suspend(() => {
        if (writing < options.writers && waiting.length === 0) {
          writing++
          return write([item]).pipe(Effect.map((answers) => answers[0] as A), Effect.ensuring(written))
        }
        return Effect.flatMap(Deferred.make<A, E>(), (done) => {
          waiting.push({ item, done })
          return Effect.andThen(drain, Deferred.await(done))
        })
      })
  })
