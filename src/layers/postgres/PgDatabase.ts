/**
 * The PostgreSQL connection for a deployment: a pool to `--postgres-url`, or to an embedded
 * server in the data directory; the schema is migrated before anything uses it.
 */
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Redacted, Schema } from "effect"
import { redactUrl, scrub, urlSecrets } from "../../domain/redact.ts"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { migrate } from "./PgSchema.ts"

export interface PgDatabaseOptions {
  readonly url: string
  /** Connections in the pool (the seed's default: 40). */
  readonly poolSize: number
}

/** The database could not be reached or used at start; the message names it without its password. */
export class PostgresUnusable extends Schema.TaggedError<PostgresUnusable>()("PostgresUnusable", { message: Schema.String }) {}

/** What went wrong with the database, from the SQL client's error and the driver's cause. */
const describe = (url: string, error: unknown) => {
  const reason = (error as { reason?: { message?: unknown; cause?: unknown } }).reason
  const cause = reason?.cause as { code?: unknown; message?: unknown } | undefined
  const detail = [reason?.message, typeof cause?.message === "string" && cause.message !== "" ? cause.message : cause?.code]
    .filter((p): p is string => typeof p === "string" && p !== "")
    .join(": ")
  const text = `PostgreSQL at ${redactUrl(url)} is unusable: ${detail === "" ? String(error) : detail}`
  return new PostgresUnusable({ message: scrub(text.replace(/\s+/g, " "), urlSecrets([url])) })
}

/** A migrated pool; connections fail fast so an unreachable database is reported within seconds. */
export const layer = (options: PgDatabaseOptions): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, PostgresUnusable | SqlError> =>
  // The pool connects on first use: the migration, whose failure is reported as the database's.
  Layer.effectDiscard(Effect.asVoid(migrate).pipe(Effect.mapError((e) => describe(options.url, e)))).pipe(
    Layer.provideMerge(PgClient.layer({
      url: Redacted.make(options.url),
      maxConnections: options.poolSize,
      connectTimeout: Duration.seconds(2),
      applicationName: "ark-effect",
      multiplex: true
    }))
  )
