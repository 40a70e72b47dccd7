/**
 * The PostgreSQL connection for a deployment: a pool to `--postgres-url`, or to an embedded
 * server in the data directory; the schema is migrated before anything uses it.
 */
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { migrate } from "./PgSchema.ts"

export interface PgDatabaseOptions {
  readonly url: string
  /** Connections in the pool (the seed's default: 40). */
  readonly poolSize: number
}

/** A migrated pool; connections fail fast so an unreachable database is reported within seconds. */
export const layer = (options: PgDatabaseOptions): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown> =>
  Layer.effectDiscard(Effect.asVoid(migrate)).pipe(
    Layer.provideMerge(PgClient.layer({
      url: Redacted.make(options.url),
      maxConnections: options.poolSize,
      connectTimeout: Duration.seconds(2),
      applicationName: "ark-effect",
      multiplex: true
    }))
  )
