/**
 * SQL failures in kube's terms, shared by every PostgreSQL layer (kube's storage/errors): a
 * database that cannot be used right now (no connection, restarting, shutting down, out of
 * connections or resources) is the store being unavailable, which clients retry (503); any other
 * failure of a statement we wrote is a bug of ours.
 */
import { Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"

/**
 * SQLSTATE classes of a server that is down or going down: 08 connection exceptions, 53
 * insufficient resources (too many connections, out of memory or disk), 57P operator
 * intervention (admin or crash shutdown, "the database system is starting up"), 58 system errors.
 */
const unavailableStates = /^(08|53|57P|58)/

/** The SQLSTATE PostgreSQL answered, when it answered at all. */
export const sqlState = (e: SqlError): string | undefined => {
  const code = (e.reason.cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : undefined
}

/** Whether a failure is the database being unreachable or unusable for now, not the statement. */
export const isUnavailable = (e: SqlError): boolean =>
  e.isRetryable || e.reason.operation === "connect" || unavailableStates.test(sqlState(e) ?? "")

/** Failures PostgreSQL answers by rolling the statement back: it took no effect. */
const rolledBack = new Set(["DeadlockError", "SerializationError", "LockTimeoutError", "StatementTimeoutError"])

/**
 * Whether a failed statement surely took no effect, so running it again is safe: it never reached
 * the server (no connection; "the database system is starting up"; too many connections), or the
 * server rolled it back. A connection lost after the statement was sent is not: its COMMIT may have
 * landed, and a create run again would answer 409 for the object it stored.
 */
export const isSafeToRetry = (e: SqlError): boolean =>
  e.reason.operation === "connect" || rolledBack.has(e.reason._tag) || /^(57P03|53300)$/.test(sqlState(e) ?? "")

/** The driver's own words for a failure (the server's message, or the connection error's). */
export const causeMessage = (e: SqlError): string => {
  const cause = e.reason.cause
  return cause instanceof Error && cause.message !== "" ? cause.message : e.message
}

/** A failed statement as the caller's unavailable error (`message` says why), or else a defect: a bug of ours. */
export const unavailableOrDie = <E>(unavailable: (message: string) => E) => (e: SqlError): Effect.Effect<never, E> =>
  isUnavailable(e) ? Effect.fail(unavailable(causeMessage(e))) : Effect.die(e)
