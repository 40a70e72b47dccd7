/**
 * The LeaderElection contract: which replica leads, leader-only work that runs exactly while
 * this replica leads, and fenced writes.
 *
 * Guarantee of `fenced`, per layer (see each layer's comment):
 * - PostgreSQL advisory lock: the write runs in one transaction with a check of the leader epoch
 *   row (`FOR SHARE`), which a new leader bumps, while holding the lock, before it acts. A
 *   stale leader's write therefore commits before the new leader starts or not at all: no two
 *   leaders' writes interleave, whatever the pauses or clocks.
 * - Kubernetes Lease: the write starts only while the last renewal is younger than the renew
 *   deadline and the Lease still names this replica at the version it renewed. A process paused
 *   between that check and its write can still write after losing the lease (as with client-go's
 *   leader election): the guarantee rests on the write taking less than
 *   leaseDuration - renewDeadline.
 * - none: this replica always leads; nothing is fenced.
 */
import { Cause, Context, Duration, Effect, Schema, Stream, SubscriptionRef } from "effect"
import type { Scope } from "effect"

/** What every election layer is configured with (controller-runtime's defaults: 15 s, 10 s, 2 s). */
export interface ElectionOptions {
  /** This replica's identity; unique per process. */
  readonly identity: string
  /** Where the election is recorded: the Lease's namespace and name (and the epoch row's key). */
  readonly namespace: string
  readonly name: string
  /** How long a silent leader keeps leadership before another replica may take it. */
  readonly leaseDuration: Duration.Duration
  /** How long a leader keeps acting without a successful renewal before it steps down. */
  readonly renewDeadline: Duration.Duration
  /** How often candidates try to acquire and the leader renews. */
  readonly retryPeriod: Duration.Duration
}

/** A leader write attempted by a replica that no longer leads (or cannot prove it still does). */
export class NotLeader extends Schema.TaggedError<NotLeader>()("NotLeader", { message: Schema.String }) {}

export class LeaderElection extends Context.Service<LeaderElection, {
  /** This replica's identity, as recorded by the election (Lease holderIdentity, epoch row holder). */
  readonly identity: string
  /** Whether this replica leads; `SubscriptionRef.changes` starts with the current state. */
  readonly leading: SubscriptionRef.SubscriptionRef<boolean>
  /** Runs a leader write, refused with NotLeader unless this replica provably still leads (see above). */
  readonly fenced: <A, E, R>(write: Effect.Effect<A, E, R>) => Effect.Effect<A, E | NotLeader, R>
}>()("ark-effect/services/LeaderElection") {}

/**
 * Runs `work` in its own scope each time this replica gains leadership and interrupts it (closing
 * that scope) when leadership is lost. Work that fails is logged and started again after
 * `restartDelay` while leadership lasts. Forked into the caller's scope.
 */
export const whileLeading = <E, R>(
  name: string,
  work: Effect.Effect<void, E, R | Scope.Scope>,
  restartDelay: Duration.Input = Duration.seconds(1)
): Effect.Effect<void, never, LeaderElection | Scope.Scope | Exclude<R, Scope.Scope>> =>
  Effect.gen(function*() {
    const election = yield* LeaderElection
    const supervised = Effect.scoped(work).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.logError(`${name} failed; restarting`, cause)
      ),
      Effect.andThen(Effect.sleep(restartDelay)),
      Effect.forever
    )
    yield* Effect.forkScoped(
      SubscriptionRef.changes(election.leading).pipe(
        Stream.changes,
        Stream.switchMap((leading) => leading ? Stream.fromEffect(supervised) : Stream.empty),
        Stream.runDrain
      )
    )
  })
