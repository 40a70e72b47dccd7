/**
 * Leader election on PostgreSQL: the leader holds a session-level advisory lock on a dedicated
 * connection (not from the pool), so leadership ends the moment that session ends.
 *
 * - The session is opened with `idle_session_timeout` = lease duration, and pinged every retry
 *   period: a leader that stops talking (paused, partitioned, crashed without closing its
 *   socket) has its session ended by the server within the lease duration, which frees the lock
 *   for another replica. PostgreSQL 14 or newer.
 * - The leader steps down by itself when a ping is not answered within the renew deadline or
 *   the connection reports an error (a LISTEN on the session fails as soon as it drops).
 * - On gaining the lock, the new leader bumps its epoch in `ark_leader_epochs` on the locked
 *   session. `fenced` runs a write in a transaction that first reads the epoch row `FOR SHARE`
 *   and refuses when it is not this leader's: the bump waits for such transactions, so a stale
 *   leader's write commits before the new leader acts, or is refused.
 * - While leading, the leader keeps a coordination.k8s.io/v1 Lease in the store current
 *   through `fenced` (holderIdentity, renewTime, leaseTransitions = epoch - 1): leadership shows
 *   in `kubectl get lease`, as with the Lease layer, and a refused write ends leadership at once.
 */
import { PgClient, PgConnection } from "@effect/sql-pg"
import { Duration, Effect, Layer, Queue, Schema, SubscriptionRef } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { isSqlError } from "effect/sql/SqlError"
import { microTimeString } from "../../domain/kinds/lease.ts"
import type { KubeObject } from "../../domain/object.ts"
import { lease } from "../../domain/registry.ts"
import type { ElectionOptions } from "../../services/LeaderElection.ts"
import { LeaderElection, NotLeader } from "../../services/LeaderElection.ts"
import { Storage, storedResource } from "../../services/Storage.ts"

const leases = storedResource(lease)

/** Advisory lock class of ark-effect's elections ("ARK" in ASCII); the object is hashtext(name). */
const lockClass = 0x41524b

/** Why a held session ended (the session loop starts over). */
class SessionLost extends Schema.TaggedError<SessionLost>()("SessionLost", { message: Schema.String }) {}

const seconds = (d: Duration.Duration) => Math.max(1, Math.round(Duration.toSeconds(d)))

export const make = (options: ElectionOptions) =>
  Effect.gen(function*() {
    const pg = yield* PgClient.PgClient
    const sql = yield* SqlClient.SqlClient
    const storage = yield* Storage
    yield* sql`CREATE TABLE IF NOT EXISTS ark_leader_epochs (
      name text PRIMARY KEY,
      epoch bigint NOT NULL,
      holder text NOT NULL,
      acquired_at timestamptz NOT NULL DEFAULT now()
    )`
    const name = `${options.namespace}/${options.name}`
    const leading = yield* SubscriptionRef.make(false)
    /** The epoch this replica leads in; undefined while not leading. */
    let epoch: string | undefined

    const notLeader = (message: string) => new NotLeader({ message })

    const fenced = <A, E, R>(write: Effect.Effect<A, E, R>): Effect.Effect<A, E | NotLeader, R> =>
      Effect.suspend(() => {
        const mine = epoch
        if (mine === undefined) return Effect.fail(notLeader(`${options.identity} does not lead ${name}`))
        return sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql<{ epoch: string }>`SELECT epoch::text AS epoch FROM ark_leader_epochs WHERE name = ${name} FOR SHARE`
          if (rows[0]?.epoch !== mine) {
            return yield* notLeader(`${options.identity} lost ${name}: epoch ${mine} was superseded by ${rows[0]?.epoch}`)
          }
          return yield* write
        })).pipe(
          // The fence's own statements (and COMMIT) failing: the write is not known to be fenced.
          Effect.mapError((e): E | NotLeader =>
            isSqlError(e) ? notLeader(`leadership of ${name} could not be verified: ${e.message}`) : e as E | NotLeader
          )
        )
      })

    const c = pg.config
    const sessionConfig: PgConnection.Config = {
      url: c.url,
      host: c.host,
      port: c.port,
      path: c.path,
      ssl: c.ssl,
      database: c.database,
      username: c.username,
      password: c.password,
      connectTimeout: c.connectTimeout ?? Duration.seconds(5),
      stream: c.stream,
      keepAlive: Duration.max(options.retryPeriod, Duration.seconds(1)),
      applicationName: `ark-leader ${options.identity}`.slice(0, 63),
      startupParameters: { idle_session_timeout: `${Duration.toMillis(options.leaseDuration)}ms` }
    }

    /** Keeps the Lease record of the store current while leading; a refused write means leadership is gone. */
    const record = (acquiredAt: number, transitions: number) => {
      const spec = () => ({
        holderIdentity: options.identity,
        leaseDurationSeconds: seconds(options.leaseDuration),
        acquireTime: microTimeString(acquiredAt),
        renewTime: microTimeString(Date.now()),
        leaseTransitions: transitions
      })
      const write = storage.guaranteedUpdate(leases, options.namespace, options.name, (current: KubeObject) =>
        Effect.succeed({ ...current, metadata: { ...current.metadata, resourceVersion: undefined }, spec: spec() })).pipe(
          Effect.catchTag("NotFound", () =>
            storage.create(leases, {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: { name: options.name, namespace: options.namespace },
              spec: spec()
            }))
        )
      return fenced(write).pipe(
        Effect.catch((e) =>
          e._tag === "NotLeader"
            ? Effect.fail(new SessionLost({ message: e.message }))
            : Effect.logWarning(`leader record ${name} not written`, e)
        ),
        Effect.andThen(Effect.sleep(options.retryPeriod)),
        Effect.forever
      )
    }

    /** One session: wait for the lock, lead while the session lives. Ends (fails) when it is lost. */
    const session = Effect.gen(function*() {
      const connection = yield* PgConnection.make(sessionConfig)
      const pinned = yield* connection.pin
      // Fails as soon as the connection drops: the earliest sign of a lost session.
      const dropped = yield* pinned.listen("ark_leader_election")
      const watchDrop = Effect.forever(Queue.take(dropped)).pipe(
        Effect.catch((e) => Effect.fail(new SessionLost({ message: `connection lost: ${e.message}` })))
      )
      const query = (text: string, params: ReadonlyArray<unknown> = []) =>
        pinned.query(text, params, false).pipe(
          Effect.timeoutOrElse({
            duration: Duration.subtract(options.renewDeadline, options.retryPeriod),
            orElse: () => Effect.fail(new SessionLost({ message: "the leader session did not answer within the renew deadline" }))
          }),
          Effect.catchTag("SqlError", (e) => Effect.fail(new SessionLost({ message: e.message })))
        )
      const acquire = Effect.gen(function*() {
        while (true) {
          const r = yield* query(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok`, [lockClass, name])
          if (r.rows[0]?.["ok"] === true) return
          yield* Effect.sleep(options.retryPeriod)
        }
      })
      yield* Effect.raceFirst(acquire, watchDrop)
      const bumped = yield* query(
        `INSERT INTO ark_leader_epochs (name, epoch, holder) VALUES ($1, 1, $2)
         ON CONFLICT (name) DO UPDATE SET epoch = ark_leader_epochs.epoch + 1, holder = EXCLUDED.holder, acquired_at = now()
         RETURNING epoch::text AS epoch`,
        [name, options.identity]
      )
      const mine = String(bumped.rows[0]!["epoch"])
      epoch = mine
      yield* Effect.addFinalizer(() =>
        Effect.andThen(Effect.sync(() => {
          epoch = undefined
        }), SubscriptionRef.set(leading, false))
      )
      yield* SubscriptionRef.set(leading, true)
      yield* Effect.logInfo(`leading ${name} as ${options.identity} (epoch ${mine})`)
      const ping = Effect.forever(Effect.andThen(Effect.sleep(options.retryPeriod), query("SELECT 1")))
      yield* Effect.raceAllFirst([ping, watchDrop, record(Date.now(), Number(mine) - 1)])
    })

    yield* Effect.forkScoped(
      Effect.scoped(session).pipe(
        Effect.catchCause((cause) => Effect.logWarning(`leader election ${name}: session ended`, cause)),
        Effect.andThen(Effect.sleep(options.retryPeriod)),
        Effect.forever
      )
    )
    return LeaderElection.of({ identity: options.identity, leading, fenced })
  })

export const layer = (options: ElectionOptions): Layer.Layer<LeaderElection, SqlError, SqlClient.SqlClient | Storage> =>
  Layer.effect(LeaderElection, make(options))
