/**
 * Group commit (src/layers/storage/batched.ts): what the insert path of PostgreSQL storage relies
 * on — calls made while a write is in flight go out together as the next group, each call gets
 * its own answer, a failed group fails only its own calls, the weight bound splits a group, and
 * closing the scope (shutdown) ends every unanswered call instead of leaving it waiting.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import * as batched from "../../src/layers/storage/batched.ts"

class WriteFailed {
  readonly _tag = "WriteFailed"
}

describe("batched writes", () => {
  it.effect("calls made while a write is in flight form the next group, each answered in order", () =>
    Effect.gen(function*() {
      const groups: Array<ReadonlyArray<number>> = []
      const gate = yield* Deferred.make<void>()
      const call = yield* batched.make(
        { writers: 1, maxItems: 100, maxWeight: 1_000, weigh: () => 1 },
        (items: ReadonlyArray<number>) =>
          Effect.gen(function*() {
            groups.push(items)
            if (groups.length === 1) yield* Deferred.await(gate)
            return items.map((i) => i * 10)
          })
      )
      const first = yield* Effect.forkChild(call(0))
      yield* Effect.yieldNow
      const rest = yield* Effect.forkChild(Effect.forEach([1, 2, 3, 4, 5], call, { concurrency: "unbounded" }))
      yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(first), 0)
      assert.deepStrictEqual(yield* Fiber.join(rest), [10, 20, 30, 40, 50])
      assert.deepStrictEqual(groups, [[0], [1, 2, 3, 4, 5]])
    }).pipe(Effect.scoped))

  it.effect("a failed write fails the calls of its group, not the next group's; the weight bound splits a group", () =>
    Effect.gen(function*() {
      const groups: Array<ReadonlyArray<number>> = []
      const gate = yield* Deferred.make<void>()
      const call = yield* batched.make(
        { writers: 1, maxItems: 100, maxWeight: 10, weigh: (i: number) => i },
        (items: ReadonlyArray<number>) =>
          Effect.gen(function*() {
            groups.push(items)
            if (groups.length === 1) yield* Deferred.await(gate)
            if (items.includes(4)) return yield* Effect.fail(new WriteFailed())
            return items.map(String)
          })
      )
      const first = yield* Effect.forkChild(call(1))
      yield* Effect.yieldNow
      const rest = yield* Effect.forkChild(Effect.forEach([4, 5, 6, 7], (i) => Effect.exit(call(i)), { concurrency: "unbounded" }))
      yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(first), "1")
      const exits = yield* Fiber.join(rest)
      // 4 + 5 fit in 10; 6 does not, so 6 and 7 are the next group (6 + 7 > 10: each alone).
      assert.deepStrictEqual(groups, [[1], [4, 5], [6], [7]])
      assert.deepStrictEqual(exits.map(Exit.isSuccess), [false, false, true, true])
      assert.deepStrictEqual(exits.slice(2).map((e) => Exit.isSuccess(e) ? e.value : undefined), ["6", "7"])
    }).pipe(Effect.scoped))

  it.effect("when the scope closes, calls of a group being written and calls still waiting are interrupted, none left waiting", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const gate = yield* Deferred.make<void>()
      let writes = 0
      const call = yield* Scope.provide(
        batched.make(
          { writers: 1, maxItems: 2, maxWeight: 1_000, weigh: () => 1 },
          (items: ReadonlyArray<number>) =>
            Effect.gen(function*() {
              writes++
              // The first call is answered once the gate opens; the group after it is never answered.
              if (writes === 1) yield* Deferred.await(gate)
              else yield* Effect.never
              return items
            })
        ),
        scope
      )
      const first = yield* Effect.forkChild(call(0))
      yield* Effect.yieldNow
      const rest = yield* Effect.forkChild(Effect.forEach([1, 2, 3], (i) => Effect.exit(call(i)), { concurrency: "unbounded" }))
      yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(first), 0)
      // 1 and 2 are the group being written (maxItems 2); 3 still waits.
      yield* Effect.yieldNow
      assert.strictEqual(writes, 2)
      yield* Scope.close(scope, Exit.void)
      const exits = yield* Fiber.join(rest)
      assert.deepStrictEqual(exits.map(Exit.hasInterrupts), [true, true, true])
    }))
})
