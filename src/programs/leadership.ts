/**
 * Which replica leads, for `ark serve`: `--leader-election postgres` (an advisory lock on the
 * store's PostgreSQL; the default there), `lease` (a coordination.k8s.io/v1 Lease on a Kubernetes
 * API server: in cluster, $KUBECONFIG, or --leader-election-kubeconfig, which may be another
 * `ark serve`), or `none` (this replica always leads; the default on etcd, which has no
 * PostgreSQL). Timing and names come from ARK_LEADER_* (controller-runtime's defaults).
 */
import { Config, Duration, Effect, Layer, Stream, SubscriptionRef } from "effect"
import type { SqlClient } from "effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { hostname } from "node:os"
import { randomUUID } from "node:crypto"
import * as LeaseLeaderElection from "../layers/LeaseLeaderElection.ts"
import * as NoLeaderElection from "../layers/NoLeaderElection.ts"
import * as PgLeaderElection from "../layers/postgres/PgLeaderElection.ts"
import { LeaderElection, whileLeading } from "../services/LeaderElection.ts"
import { setLeader } from "../services/Metrics.ts"
import type { Storage } from "../services/Storage.ts"

export type LeaderElectionMode = "auto" | "lease" | "postgres" | "none"

export interface LeadershipOptions {
  readonly storage: "embedded" | "postgresql" | "etcd"
  readonly leaderElection: LeaderElectionMode
  readonly leaderElectionKubeconfig: string
}

export class PostgresElectionNeedsPostgres extends Error {
  override readonly message = "--leader-election postgres needs PostgreSQL storage; with --storage etcd use lease or none"
}

/** The mode `auto` stands for: postgres on PostgreSQL storage, none on etcd. */
export const electionMode = (o: LeadershipOptions): Exclude<LeaderElectionMode, "auto"> =>
  o.leaderElection !== "auto" ? o.leaderElection : o.storage === "etcd" ? "none" : "postgres"

const electionConfig = Config.all({
  identity: Config.String("ARK_LEADER_ELECTION_IDENTITY").pipe(Config.withDefault(`${hostname()}_${randomUUID()}`)),
  namespace: Config.String("ARK_LEADER_ELECTION_NAMESPACE").pipe(Config.withDefault("ark-system")),
  name: Config.String("ARK_LEADER_ELECTION_NAME").pipe(Config.withDefault("ark-effect-controller")),
  leaseDuration: Config.Duration("ARK_LEADER_LEASE_DURATION").pipe(Config.withDefault(Duration.seconds(15))),
  renewDeadline: Config.Duration("ARK_LEADER_RENEW_DEADLINE").pipe(Config.withDefault(Duration.seconds(10))),
  retryPeriod: Config.Duration("ARK_LEADER_RETRY_PERIOD").pipe(Config.withDefault(Duration.seconds(2)))
})

/**
 * The LeaderElection layer of this replica. `store` provides what the PostgreSQL election needs
 * (the migrated pool and Storage, for its Lease record); it is only used in that mode.
 */
export const electionLayer = (
  o: LeadershipOptions,
  store: Layer.Layer<Storage | PgClient.PgClient | SqlClient.SqlClient, unknown> | undefined
): Layer.Layer<LeaderElection, unknown> =>
  Layer.unwrap(Effect.map(electionConfig, (options) => leaderMetric(`${options.namespace}/${options.name}`))).pipe(
    Layer.provideMerge(electionOf(o, store))
  )

/** `leader_election_master_status{name}` follows this replica's leadership. */
const leaderMetric = (name: string) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const election = yield* LeaderElection
    yield* Effect.forkScoped(SubscriptionRef.changes(election.leading).pipe(Stream.runForEach((leading) => setLeader(name, leading))))
  }))

const electionOf = (
  o: LeadershipOptions,
  store: Layer.Layer<Storage | PgClient.PgClient | SqlClient.SqlClient, unknown> | undefined
): Layer.Layer<LeaderElection, unknown> =>
  Layer.unwrap(Effect.gen(function*() {
    const options = yield* electionConfig
    switch (electionMode(o)) {
      case "none":
        return NoLeaderElection.layer(options.identity)
      case "lease":
        return LeaseLeaderElection.layer({
          ...options,
          kubeconfig: o.leaderElectionKubeconfig === "" ? undefined : o.leaderElectionKubeconfig
        })
      case "postgres":
        if (store === undefined) return yield* Effect.die(new PostgresElectionNeedsPostgres())
        return PgLeaderElection.layer(options).pipe(Layer.provide(store))
    }
  }))

/**
 * A layer built only while this replica leads and torn down when it stops leading: the etcd
 * configuration's query workers, whose in-process queue must exist on one replica at a time.
 */
export const leaderOnly = <E, R>(name: string, layer: Layer.Layer<never, E, R>) =>
  Layer.effectDiscard(whileLeading(name, Effect.andThen(Layer.build(layer), Effect.never)))
