/** Model calls' retries: which failures are tried again, and how long each retry waits (Retry-After first). */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { ProviderError, redact, retryAfterMs, withRetries } from "../../src/layers/engine/providerCall.ts"

/** A call that fails with `errors` in turn, then answers "ok"; counts its attempts. */
const scripted = (errors: ReadonlyArray<ProviderError>) => {
  const state = { attempts: 0 }
  const call = Effect.suspend(() => {
    const e = errors[state.attempts++]
    return e === undefined ? Effect.succeed("ok") : Effect.fail(e)
  })
  return { call, state }
}

const policy = { retries: 3, base: Duration.millis(100) }

describe("withRetries", () => {
  it.effect("waits what Retry-After asks before trying a 429 again", () =>
    Effect.gen(function*() {
      const { call, state } = scripted([new ProviderError({ status: 429, retryAfterMs: 5000, message: "slow down" })])
      const fiber = yield* Effect.forkChild(withRetries(call, policy))
      yield* TestClock.adjust(4999)
      assert.strictEqual(state.attempts, 1)
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      assert.strictEqual(state.attempts, 2)
    }))

  it.effect("backs off exponentially on 5xx and connection failures without Retry-After", () =>
    Effect.gen(function*() {
      const { call, state } = scripted([new ProviderError({ status: 503, message: "busy" }), new ProviderError({ message: "ECONNRESET" })])
      const fiber = yield* Effect.forkChild(withRetries(call, policy))
      yield* TestClock.adjust(99)
      assert.strictEqual(state.attempts, 1)
      yield* TestClock.adjust(1)
      assert.strictEqual(state.attempts, 2)
      yield* TestClock.adjust(199)
      assert.strictEqual(state.attempts, 2)
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
    }))

  it.effect("does not retry a 400 or 401, and reports the last error with the number of attempts", () =>
    Effect.gen(function*() {
      const bad = yield* withRetries(scripted([new ProviderError({ status: 401, message: "bad key" })]).call, policy).pipe(Effect.flip)
      assert.strictEqual(bad.message, "bad key")
      const busy = scripted(Array.from({ length: 4 }, () => new ProviderError({ status: 500, message: "down" })))
      const fiber = yield* Effect.forkChild(Effect.flip(withRetries(busy.call, policy)))
      yield* TestClock.adjust(100 + 200 + 400)
      const last = yield* Fiber.join(fiber)
      assert.strictEqual(last.message, "down (after 4 attempts)")
      assert.strictEqual(last.status, 500)
      assert.strictEqual(busy.state.attempts, 4)
    }))
})

describe("retryAfterMs", () => {
  it("reads seconds, an HTTP date, and retry-after-ms", () => {
    const headers = (h: Record<string, string>) => new Headers(h)
    assert.strictEqual(retryAfterMs(headers({ "retry-after": "3" })), 3000)
    assert.strictEqual(retryAfterMs(headers({ "retry-after-ms": "250" })), 250)
    assert.strictEqual(retryAfterMs(headers({})), undefined)
    assert.strictEqual(retryAfterMs(headers({ "retry-after": "soon" })), undefined)
    const at = retryAfterMs(headers({ "retry-after": new Date(Date.now() + 60_000).toUTCString() }))!
    assert.isTrue(at > 50_000 && at <= 60_000)
  })
})

describe("redact", () => {
  it("removes every credential from a message", () => {
    assert.strictEqual(redact("Incorrect API key provided: sk-abc123 (sk-abc123)", ["sk-abc123", undefined]), "Incorrect API key provided: [redacted] ([redacted])")
  })
})
