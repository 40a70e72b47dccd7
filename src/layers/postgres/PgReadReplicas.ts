/**
 * PostgreSQL read replicas (streaming hot standbys, `ark serve --postgres-read-url`): they serve
 * the reads that allow an older state (kube's resourceVersion "0", NotOlderThan N, the pages of a
 * continued LIST), so the primary keeps its capacity for writes, consistent reads and watches.
 * PostgresStorage asks `pick` for a replica per read and falls back to the primary.
 *
 * How far a replica has replayed, in resourceVersions: a standby is read-only (no advisory lock,
 * so no `ark_frontier()` there), and the largest rv it shows is not enough, because rvs commit
 * out of order (rv 11 can be replayed while rv 10 is still in flight on the primary). So every ark
 * replica, a few times a second, fixes the primary's frontier F (every rv <= F has committed) and
 * then writes F into `ark_replication_mark`. That write commits after each commit of an rv <= F,
 * and a standby replays commits in WAL order: a standby that shows mark F has replayed all of
 * them, and serves the state at F exactly (PostgresStorage's rv-bounded reads ignore newer rows).
 * The same row gives the lag in time: the standby's clock minus the primary's when it marked.
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Context, Duration, Effect, Layer, Metric, Redacted, Schedule } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { bound } from "../../services/Metrics.ts"

export interface PgReadReplicasOptions {
  /** Connection URLs of the replicas. */
  readonly urls: ReadonlyArray<string>
  /** Connections per replica. */
  readonly poolSize: number
  /** A replica further behind than this serves nothing until it catches up. */
  readonly maxLag: Duration.Duration
}

/** A replica chosen for one read. */
export interface ReadReplica {
  /** host:port/database, for logs and metrics (no credentials). */
  readonly name: string
  readonly sql: SqlClient.SqlClient
  /** Every change up to this resourceVersion has been replayed there. */
  readonly replayedRv: bigint
}

export interface ReplicaStatus {
  readonly name: string
  /** Answered its last probe. */
  readonly up: boolean
  readonly replayedRv: bigint
  /** How far behind the primary it is now; undefined until it has shown a mark. */
  readonly lag: Duration.Duration | undefined
}

export class PgReadReplicas extends Context.Service<PgReadReplicas, {
  /** A replica that is up, lags within the bound and has replayed `atLeast`, or undefined (use the primary). */
  readonly pick: (atLeast: bigint) => Effect.Effect<ReadReplica | undefined>
  /** Reports a read that failed there: the replica serves nothing until its next good probe. */
  readonly failed: (replica: ReadReplica, cause: unknown) => Effect.Effect<void>
  readonly status: Effect.Effect<ReadonlyArray<ReplicaStatus>>
}>()("ark-effect/layers/PgReadReplicas") {}

/** Replica lag in seconds (NaN while unknown), for /metrics. */
export const lagSeconds = Metric.gauge("ark_postgres_replica_lag_seconds", {
  description: "How far each PostgreSQL read replica is behind the primary, in seconds"
})
export const replayedRv = Metric.gauge("ark_postgres_replica_replayed_rv", {
  description: "The resourceVersion up to which each read replica has replayed every change"
})
export const replicaUp = Metric.gauge("ark_postgres_replica_up", {
  description: "1 when the read replica answered its last probe, else 0"
})
export const replicaReads = Metric.counter("ark_postgres_replica_reads_total", {
  description: "Reads served by each read replica"
})

/** Where a URL points, without its credentials. */
const displayName = (url: string) => {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`
  } catch {
    return "replica"
  }
}

interface Entry {
  readonly name: string
  readonly sql: SqlClient.SqlClient
  up: boolean
  replayedRv: bigint
  /** Lag measured by the last probe, and when (local clock): the lag grows while no probe answers. */
  lagMillis: number | undefined
  probedAt: number
}

const currentLag = (e: Entry, now: number) => e.lagMillis === undefined ? undefined : e.lagMillis + (now - e.probedAt)

export const layer = (options: PgReadReplicasOptions): Layer.Layer<PgReadReplicas, Config.ConfigError | SqlError, SqlClient.SqlClient> =>
  Layer.effect(
    PgReadReplicas,
    Effect.gen(function*() {
      const primary = yield* SqlClient.SqlClient
      const interval = yield* Config.Duration("ARK_POSTGRES_READ_PROBE_INTERVAL").pipe(Config.withDefault(Duration.millis(250)))
      const maxLag = Duration.toMillis(options.maxLag)
      // Pools open connections on first use: a replica that is down at start only serves nothing.
      const entries: Array<Entry> = yield* Effect.forEach(options.urls, (url) =>
        Effect.map(
          PgClient.make({
            url: Redacted.make(url),
            maxConnections: options.poolSize,
            connectTimeout: Duration.seconds(2),
            applicationName: "ark-effect-read",
            multiplex: true
          }),
          (sql): Entry => ({ name: displayName(url), sql, up: false, replayedRv: 0n, lagMillis: undefined, probedAt: 0 })
        ))

      /** Fixes the frontier first, then writes it: the write's commit follows every commit up to it. */
      const mark = Effect.gen(function*() {
        const rows = yield* primary.unsafe<{ f: string }>(`SELECT ark_frontier()::text AS f`)
        yield* primary.unsafe(
          `UPDATE ark_replication_mark SET rv = GREATEST(rv, $1::bigint), marked_at = clock_timestamp() WHERE id = 1`,
          [rows[0]!.f]
        )
      }).pipe(Effect.catchCause((cause) => Effect.logWarning("could not mark the frontier for read replicas", cause)))

      const record = (e: Entry) =>
        Effect.all([
          Metric.update(bound(replicaUp, { replica: e.name }), e.up ? 1 : 0),
          Metric.update(bound(replayedRv, { replica: e.name }), Number(e.replayedRv)),
          Metric.update(bound(lagSeconds, { replica: e.name }), e.lagMillis === undefined ? Number.NaN : e.lagMillis / 1000)
        ], { discard: true })

      const probe = (e: Entry) =>
        e.sql.unsafe<{ rv: string; lag: number | null }>(
          `SELECT rv::text AS rv, extract(epoch FROM clock_timestamp() - marked_at)::float8 AS lag FROM ark_replication_mark WHERE id = 1`
        ).pipe(
          Effect.timeout(Duration.seconds(2)),
          Effect.matchCauseEffect({
            onFailure: (cause) =>
              Effect.andThen(
                e.up ? Effect.logWarning(`read replica ${e.name} is down; reads go to the primary`, cause) : Effect.void,
                Effect.sync(() => {
                  e.up = false
                })
              ),
            onSuccess: (rows) =>
              Effect.sync(() => {
                const row = rows[0]
                e.up = true
                e.probedAt = Date.now()
                if (row === undefined) return
                const rv = BigInt(row.rv)
                if (rv > e.replayedRv) e.replayedRv = rv
                // Clocks of two machines: a replica slightly ahead must not show a negative lag.
                e.lagMillis = row.lag === null ? undefined : Math.max(0, row.lag * 1000)
              })
          }),
          Effect.andThen(record(e))
        )

      yield* Effect.forkScoped(
        Effect.repeat(
          Effect.andThen(mark, Effect.forEach(entries, probe, { concurrency: "unbounded", discard: true })),
          Schedule.spaced(interval)
        )
      )

      let next = 0
      const pick = (atLeast: bigint) =>
        Effect.sync(() => {
          const now = Date.now()
          // Round robin over the replicas that qualify.
          for (let i = 0; i < entries.length; i++) {
            const e = entries[(next + i) % entries.length]!
            const lag = currentLag(e, now)
            if (e.up && lag !== undefined && lag <= maxLag && e.replayedRv >= atLeast) {
              next = (next + i + 1) % entries.length
              return { name: e.name, sql: e.sql, replayedRv: e.replayedRv } satisfies ReadReplica
            }
          }
          return undefined
        }).pipe(Effect.tap((r) => r === undefined ? Effect.void : Metric.update(bound(replicaReads, { replica: r.name }), 1)))

      const failed = (replica: ReadReplica, cause: unknown) =>
        Effect.suspend(() => {
          const e = entries.find((x) => x.name === replica.name && x.sql === replica.sql)
          if (e === undefined || !e.up) return Effect.void
          e.up = false
          return Effect.andThen(Effect.logWarning(`read replica ${e.name} failed a read; reads go to the primary`, cause), record(e))
        })

      const status = Effect.sync(() => {
        const now = Date.now()
        return entries.map((e): ReplicaStatus => {
          const lag = currentLag(e, now)
          return { name: e.name, up: e.up, replayedRv: e.replayedRv, lag: lag === undefined ? undefined : Duration.millis(lag) }
        })
      })

      return PgReadReplicas.of({ pick, failed, status })
    })
  ).pipe(Layer.provide(Reactivity.layer))
