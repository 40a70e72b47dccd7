/**
 * Leader election on a Kubernetes `coordination.k8s.io/v1` Lease, through
 * @kubernetes/client-node, with client-go's algorithm: candidates try every retry period; a Lease
 * held by another replica may be taken once it has not changed for its leaseDurationSeconds as
 * observed on this replica's clock (no clock comparison across machines); every write is a
 * compare-and-swap on the Lease's resourceVersion; the leader renews every retry period and
 * steps down when no renewal succeeded for the renew deadline. The Lease is released
 * (holderIdentity cleared) when the layer's scope closes.
 *
 * `fenced` starts a write only while the last renewal is younger than the renew deadline and
 * the Lease still names this replica at the version it last wrote: a time-based guarantee that
 * holds when the write completes within leaseDuration - renewDeadline (see LeaderElection.ts).
 */
import type { V1Lease } from "@kubernetes/client-node"
import { Duration, Effect, Layer, Schema, SubscriptionRef } from "effect"
import type { ElectionOptions } from "../services/LeaderElection.ts"
import { LeaderElection, NotLeader } from "../services/LeaderElection.ts"
import { clientNode } from "./clientNode.ts"

export interface LeaseElectionOptions extends ElectionOptions {
  /** The kubeconfig to reach the API server with; without it, in-cluster or $KUBECONFIG (client-node's default). */
  readonly kubeconfig: string | undefined
}

/** A Lease API call that failed (unreachable server, unexpected status). */
class LeaseCallFailed extends Schema.TaggedError<LeaseCallFailed>()("LeaseCallFailed", {
  message: Schema.String,
  code: Schema.optional(Schema.Number)
}) {}

const seconds = (d: Duration.Duration) => Math.max(1, Math.round(Duration.toSeconds(d)))

export const make = (options: LeaseElectionOptions) =>
  Effect.gen(function*() {
    const { ApiException, CoordinationV1Api, KubeConfig, V1MicroTime } = yield* clientNode
    /** client-node decodes MicroTime as a string or a Date depending on the path; write back a MicroTime. */
    const microTime = (v: unknown) =>
      v === undefined || v === null ? undefined : new V1MicroTime(v instanceof Date ? v.getTime() : Date.parse(String(v)))
    const kc = new KubeConfig()
    if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig)
    else kc.loadFromDefault()
    const api = kc.makeApiClient(CoordinationV1Api)
    const { namespace, name, identity } = options
    const call = <A>(f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (e) =>
          e instanceof ApiException
            ? new LeaseCallFailed({ message: `Lease ${namespace}/${name}: HTTP ${e.code}`, code: e.code })
            : new LeaseCallFailed({ message: `Lease ${namespace}/${name}: ${e instanceof Error ? e.message : String(e)}` })
      }).pipe(Effect.timeout(options.retryPeriod))

    const leading = yield* SubscriptionRef.make(false)
    /** The Lease version as last seen, and when (this replica's clock) it was first seen. */
    let observed: { readonly resourceVersion: string; readonly at: number } | undefined
    /** While leading: the version this replica last wrote and when. */
    let held: { readonly resourceVersion: string; readonly at: number } | undefined

    const read = call(() => api.readNamespacedLease({ name, namespace })).pipe(
      Effect.map((l): V1Lease | undefined => l),
      Effect.catchIf((e) => e._tag === "LeaseCallFailed" && e.code === 404, () => Effect.succeed(undefined))
    )

    const desired = (current: V1Lease | undefined, now: number): V1Lease => {
      const ours = current?.spec?.holderIdentity === identity
      return {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { ...current?.metadata, name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: seconds(options.leaseDuration),
          acquireTime: ours ? microTime(current?.spec?.acquireTime) ?? new V1MicroTime(now) : new V1MicroTime(now),
          renewTime: new V1MicroTime(now),
          leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (ours || current === undefined ? 0 : 1)
        }
      }
    }

    /** One attempt to acquire or renew; true when this replica holds the Lease afterwards. */
    const tryAcquireOrRenew = Effect.gen(function*() {
      const now = Date.now()
      const current = yield* read
      if (current !== undefined) {
        const rv = current.metadata?.resourceVersion ?? ""
        if (observed?.resourceVersion !== rv) observed = { resourceVersion: rv, at: now }
        const holder = current.spec?.holderIdentity ?? ""
        const duration = (current.spec?.leaseDurationSeconds ?? seconds(options.leaseDuration)) * 1000
        if (holder !== "" && holder !== identity && observed.at + duration > now) return false
      }
      const written = yield* (current === undefined
        ? call(() => api.createNamespacedLease({ namespace, body: desired(undefined, now) }))
        : call(() => api.replaceNamespacedLease({ name, namespace, body: desired(current, now) }))).pipe(
          // Another candidate wrote first (409), or created it first.
          Effect.catchIf((e) => e._tag === "LeaseCallFailed" && e.code === 409, () => Effect.succeed(undefined))
        )
      if (written === undefined) return false
      const rv = written.metadata?.resourceVersion ?? ""
      observed = { resourceVersion: rv, at: now }
      held = { resourceVersion: rv, at: now }
      return true
    })

    const attempt = tryAcquireOrRenew.pipe(
      Effect.catch((e) => Effect.as(Effect.logWarning(`leader election ${namespace}/${name}: ${e.message}`), false))
    )

    const release = Effect.suspend(() => {
      if (held === undefined) return Effect.void
      held = undefined
      return read.pipe(
        Effect.flatMap((current) =>
          current?.spec?.holderIdentity !== identity
            ? Effect.void
            : call(() =>
              api.replaceNamespacedLease({
                name,
                namespace,
                body: {
                  ...current,
                  spec: { ...current.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: new V1MicroTime(Date.now()), acquireTime: microTime(current.spec?.acquireTime) }
                }
              })
            )
        ),
        Effect.ignore
      )
    })

    const lead = Effect.gen(function*() {
      // Candidate: try every retry period until the Lease is ours.
      while (!(yield* attempt)) yield* Effect.sleep(options.retryPeriod)
      yield* SubscriptionRef.set(leading, true)
      yield* Effect.logInfo(`leading ${namespace}/${name} as ${identity}`)
      // Leader: renew every retry period until no renewal succeeded for the renew deadline.
      while (true) {
        yield* Effect.sleep(options.retryPeriod)
        const renewed = yield* attempt
        if (!renewed && (held === undefined || Date.now() - held.at >= Duration.toMillis(options.renewDeadline))) break
      }
      held = undefined
      yield* SubscriptionRef.set(leading, false)
      yield* Effect.logWarning(`lost ${namespace}/${name}: no renewal within the renew deadline`)
    })

    yield* Effect.addFinalizer(() => Effect.andThen(SubscriptionRef.set(leading, false), release))
    yield* Effect.forkScoped(Effect.forever(lead))

    const notLeader = (message: string) => new NotLeader({ message })
    const fenced = <A, E, R>(write: Effect.Effect<A, E, R>): Effect.Effect<A, E | NotLeader, R> =>
      Effect.gen(function*() {
        const mine = held
        if (mine === undefined || Date.now() - mine.at >= Duration.toMillis(options.renewDeadline)) {
          return yield* notLeader(`${identity} does not hold Lease ${namespace}/${name} (or its renewal is overdue)`)
        }
        const current = yield* read.pipe(Effect.mapError((e) => notLeader(`Lease ${namespace}/${name} could not be checked: ${e.message}`)))
        if (current?.spec?.holderIdentity !== identity || current.metadata?.resourceVersion !== mine.resourceVersion) {
          return yield* notLeader(`Lease ${namespace}/${name} is no longer held by ${identity}`)
        }
        return yield* write
      })
    return LeaderElection.of({ identity, leading, fenced })
  })

export const layer = (options: LeaseElectionOptions): Layer.Layer<LeaderElection> => Layer.effect(LeaderElection, make(options))
