/**
 * Embedding ark-effect in your own Effect program: the program owns its PostgreSQL pool
 * (@effect/sql-pg's PgClient), applies ark-effect's schema migrations to it, and builds
 * ark-effect's PostgreSQL Storage and WatchHub on it. It then follows Agents through the hub,
 * stores one Agent, and reads it back with a LIST from the hub's memory.
 *
 *   DATABASE_URL=postgres://user:password@127.0.0.1:5432/ark node examples/embed/main.ts
 *
 * The same database can be served to kubectl at the same time by `ark serve --storage
 * postgresql --postgres-url ...`: both see each other's writes (PgRemoteCommits).
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Console, Effect, Fiber, Layer, Stream } from "effect"
import { findKind } from "ark-effect/domain/registry"
import * as PgRemoteCommits from "ark-effect/layers/postgres/PgRemoteCommits"
import { migrate } from "ark-effect/layers/postgres/PgSchema"
import * as PostgresStorage from "ark-effect/layers/postgres/PostgresStorage"
import * as WatchHubLive from "ark-effect/layers/WatchHubLive"
import { Storage, storedResource } from "ark-effect/services/Storage"
import { textOf } from "ark-effect/domain/object"
import { WatchHub } from "ark-effect/services/WatchHub"

/** The program's own pool, migrated to ark-effect's schema before anything uses it. */
const database = Layer.effectDiscard(migrate).pipe(
  Layer.provideMerge(PgClient.layerConfig({ url: Config.Redacted("DATABASE_URL"), maxConnections: Config.succeed(4) }))
)

/** ark-effect's Storage and WatchHub on that pool. */
const ark = WatchHubLive.layer.pipe(
  Layer.provide(PgRemoteCommits.layer),
  Layer.provideMerge(PostgresStorage.layer),
  Layer.provide(database)
)

const agents = storedResource(findKind("Agent")!)

const program = Effect.gen(function*() {
  const storage = yield* Storage
  const hub = yield* WatchHub
  const namespace = "embedded"
  const name = `agent-${Date.now().toString(36)}`

  // Follow Agents from now on, until the one we store arrives.
  const seen = yield* hub.watch(agents, { namespace, resourceVersion: yield* storage.currentRevision }).pipe(
    Stream.filter((e) => e.type === "ADDED" && e.object.includes(`"name":"${name}"`)),
    Stream.take(1),
    Stream.runHead,
    Effect.forkScoped
  )

  const created = yield* storage.create(agents, {
    apiVersion: "ark.mckinsey.com/v1alpha1",
    kind: "Agent",
    metadata: { name, namespace },
    spec: { prompt: "You are embedded in another program." }
  })
  yield* Console.log(`created Agent ${namespace}/${name} at resourceVersion ${created.metadata.resourceVersion}`)

  const event = yield* Fiber.join(seen)
  yield* Console.log(`watch: ${event._tag === "Some" ? `${event.value.type} at resourceVersion ${event.value.resourceVersion}` : "ended"}`)

  const listed = yield* hub.list(agents, { namespace })
  const names = listed.items.map((bytes) => (JSON.parse(textOf(bytes)) as { metadata: { name: string } }).metadata.name)
  yield* Console.log(`list: ${names.includes(name) ? "contains" : "lacks"} ${name} (${listed.items.length} Agents in ${namespace})`)
})

Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(ark))).catch((e) => {
  console.error(e)
  process.exit(1)
})
