/**
 * `--leader-election none`: this replica always leads and nothing is fenced. For a single
 * replica, or when only one replica runs the modules that need a leader.
 */
import { Effect, Layer, SubscriptionRef } from "effect"
import { LeaderElection } from "../services/LeaderElection.ts"

export const layer = (identity: string): Layer.Layer<LeaderElection> =>
  Layer.effect(
    LeaderElection,
    Effect.map(SubscriptionRef.make(true), (leading) => LeaderElection.of({ identity, leading, fenced: (write) => write }))
  )
