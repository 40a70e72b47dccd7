/**
 * Whether a replica can still do its work. Something it depends on that failed for good (an
 * embedded PostgreSQL that cannot be restarted) is reported here: /livez then fails, so a
 * kubelet restarts the pod, and `ark serve` stops and exits non-zero, so a laptop user sees it.
 * A Reference, like Shutdown: one per process unless a program provides its own (make).
 */
import { Context, Deferred, Effect, Schema } from "effect"

/** A dependency failed beyond repair; the message says which and why. */
export class Unrecoverable extends Schema.TaggedError<Unrecoverable>()("Unrecoverable", { message: Schema.String }) {}

export interface LivenessSignal {
  /** Why the replica is no longer live; empty while it is. */
  readonly failures: () => ReadonlyArray<string>
  /** Reports a failure beyond repair (the first one is what `await` fails with). */
  readonly fail: (message: string) => Effect.Effect<void>
  /** Fails once something has failed beyond repair. */
  readonly await: Effect.Effect<never, Unrecoverable>
}

export const make = (): LivenessSignal => {
  const failures: Array<string> = []
  const failed = Deferred.makeUnsafe<never, Unrecoverable>()
  return {
    failures: () => failures,
    fail: (message) =>
      Effect.suspend(() => {
        failures.push(message)
        return Effect.asVoid(Deferred.fail(failed, new Unrecoverable({ message })))
      }),
    await: Deferred.await(failed)
  }
}

export const Liveness = Context.Reference<LivenessSignal>("ark-effect/services/Liveness", { defaultValue: make })
