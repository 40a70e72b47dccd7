/**
 * One model API call, as every provider makes it: the SDK's own retries are off, and a failure
 * that may pass (429, 5xx, a connection that failed) is tried again here with exponential
 * backoff, waiting what the server asks in `Retry-After` (or OpenAI's `retry-after-ms`) when it
 * says. The error that ends the call carries the provider's text with any credential removed.
 */
import { Duration, Effect, Schema } from "effect"
import type { Delta } from "./model.ts"

export class ProviderError extends Schema.TaggedError<ProviderError>()("ProviderError", {
  /** HTTP status of the answer; absent when no answer came (connection failure). */
  status: Schema.optionalKey(Schema.Number),
  retryAfterMs: Schema.optionalKey(Schema.Number),
  /** Whether trying again may help; by default only for 429, 5xx and connection failures. */
  retryable: Schema.optionalKey(Schema.Boolean),
  message: Schema.String
}) {}

export interface RetryPolicy {
  /** Attempts after the first. */
  readonly retries: number
  /** First delay; doubles each attempt, up to 30 s. */
  readonly base: Duration.Duration
}

/** The longest Retry-After honoured: a server asking for more fails the call instead of stalling the Query. */
const maxRetryAfterMs = 60_000

/** `Retry-After` in seconds or as an HTTP date, or `retry-after-ms`; undefined when absent or unreadable. */
export const retryAfterMs = (headers: { readonly get: (name: string) => string | null } | undefined): number | undefined => {
  const ms = headers?.get("retry-after-ms")
  if (ms != null && /^\d+(\.\d+)?$/.test(ms)) return Number(ms)
  const after = headers?.get("retry-after")
  if (after == null) return undefined
  if (/^\d+$/.test(after.trim())) return Number(after.trim()) * 1000
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

const retryable = (e: ProviderError) => e.retryable ?? (e.status === undefined || e.status === 429 || e.status >= 500)

/** Removes every credential (API keys, secret keys) from a message bound for logs or status. */
export const redact = (message: string, secrets: ReadonlyArray<string | undefined>): string =>
  secrets.reduce<string>((m, s) => s === undefined || s.length < 4 ? m : m.split(s).join("[redacted]"), message)

/** An error's message, with its cause's (fetch failures say why only there). */
const messageOf = (e: unknown) => {
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : ""
  return `${e instanceof Error ? e.message : String(e)}${cause}`
}

/**
 * A failed model call as a ProviderError: `who` ("model team-a/default (openai)") and the
 * provider's text, with the HTTP status and Retry-After of its answer when one came, every
 * credential removed.
 */
export const providerFailure = (
  who: string,
  secrets: ReadonlyArray<string | undefined>,
  e: unknown,
  answer?: { readonly status?: number | undefined; readonly headers?: { readonly get: (name: string) => string | null } | undefined; readonly text?: string }
): ProviderError => {
  const after = retryAfterMs(answer?.headers)
  return new ProviderError({
    ...(answer?.status !== undefined ? { status: answer.status } : {}),
    ...(after !== undefined ? { retryAfterMs: after } : {}),
    message: redact(`${who}: ${answer?.text ?? messageOf(e)}`, secrets)
  })
}

/**
 * A streamed call's text across its attempts: followers already have what an interrupted attempt
 * streamed, so a retry's text is passed on only beyond it while the retry repeats it; a retry that
 * says something else ends the interrupted message (`end`) and streams whole as the next one.
 */
export const retriedStream = (onDelta: Delta) => {
  let shown = ""
  let said = ""
  return {
    /** A new attempt begins. */
    restart: () => {
      said = ""
    },
    onDelta: (text: string) => {
      said += text
      if (said.length <= shown.length ? !shown.startsWith(said) : !said.startsWith(shown)) {
        onDelta("", true)
        shown = ""
      }
      if (said.length > shown.length) {
        onDelta(said.slice(shown.length))
        shown = said
      }
    }
  }
}

export const withRetries = <A, R>(call: Effect.Effect<A, ProviderError, R>, policy: RetryPolicy): Effect.Effect<A, ProviderError, R> => {
  const attempt = (n: number): Effect.Effect<A, ProviderError, R> =>
    Effect.catchTag(call, "ProviderError", (e) => {
      if (!retryable(e) || n >= policy.retries) {
        return Effect.fail(n === 0 ? e : new ProviderError({ ...(e.status !== undefined ? { status: e.status } : {}), message: `${e.message} (after ${n + 1} attempts)` }))
      }
      const backoff = Math.min(30_000, Duration.toMillis(policy.base) * 2 ** n)
      const wait = e.retryAfterMs !== undefined ? Math.min(e.retryAfterMs, maxRetryAfterMs) : backoff
      return Effect.andThen(Effect.sleep(Duration.millis(wait)), attempt(n + 1))
    })
  return attempt(0)
}
