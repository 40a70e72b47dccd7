/** The built-in conversation memory on PostgreSQL: order, isolation per Memory and conversation, the bound, expiry. */
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as PgConversationStore from "../../src/layers/postgres/PgConversationStore.ts"
import { ConversationStore } from "../../src/services/ConversationStore.ts"
import { testDatabase } from "../support/pg.ts"

const store = PgConversationStore.layer({ maxMessages: 3, purgeEvery: Duration.hours(1) })

layer(store.pipe(Layer.provideMerge(testDatabase("memory")), Layer.orDie), { excludeTestServices: true })("built-in conversation memory", (it) => {
  const key = { namespace: "team-a", memory: "builtin" }
  const say = (content: string) => ({ role: "user", content })

  it.effect("lists a conversation's messages in order, apart from other conversations and Memories", () =>
    Effect.gen(function*() {
      const s = yield* ConversationStore
      const c = yield* s.create(key)
      const other = yield* s.create(key)
      assert.notStrictEqual(c, other)
      yield* s.append(key, c, "q1", [say("one"), say("two")], 3600)
      yield* s.append(key, other, "q9", [say("elsewhere")], 3600)
      yield* s.append({ ...key, memory: "another" }, c, "q9", [say("another memory")], 3600)
      const listed = yield* s.messages(key, c)
      assert.deepStrictEqual(listed.map((m) => [m.query_id, m.message, m.sequence]), [["q1", say("one"), 1], ["q1", say("two"), 2]])
    }))

  it.effect("keeps only the newest messages beyond its bound", () =>
    Effect.gen(function*() {
      const s = yield* ConversationStore
      const c = yield* s.create(key)
      yield* s.append(key, c, "q1", [say("1"), say("2")], undefined)
      yield* s.append(key, c, "q2", [say("3"), say("4"), say("5")], undefined)
      assert.deepStrictEqual((yield* s.messages(key, c)).map((m) => (m.message as { content: string }).content), ["3", "4", "5"])
    }))

  it.effect("does not list messages whose Query's TTL has passed", () =>
    Effect.gen(function*() {
      const s = yield* ConversationStore
      const c = yield* s.create(key)
      yield* s.append(key, c, "old", [say("expired")], 0)
      yield* s.append(key, c, "new", [say("kept")], 3600)
      assert.deepStrictEqual((yield* s.messages(key, c)).map((m) => m.query_id), ["new"])
    }))
})
