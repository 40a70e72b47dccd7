/**
 * The graceful-stop signal of a replica. `ark serve` begins it first thing on SIGTERM, before
 * the HTTP server stops accepting: readiness turns false, watches get a last bookmark and end
 * (clients resume elsewhere from their last resourceVersion), query workers stop claiming.
 * A Reference, so layers that react to it need nothing new provided: one signal per process
 * unless a program provides its own (make).
 */
import { Context, Effect, Latch } from "effect"

export interface ShutdownSignal {
  /** True once the stop has begun. */
  readonly draining: () => boolean
  /** Begins the stop (idempotent). */
  readonly begin: Effect.Effect<void>
  /** Waits until the stop begins. */
  readonly await: Effect.Effect<void>
}

export const make = (): ShutdownSignal => {
  const latch = Latch.makeUnsafe(false)
  return { draining: () => latch.isOpen(), begin: Effect.asVoid(latch.open), await: latch.await }
}

export const Shutdown = Context.Reference<ShutdownSignal>("ark-effect/services/Shutdown", { defaultValue: make })
