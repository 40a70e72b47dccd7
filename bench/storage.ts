/**
 * Storage-service figures for the notes: 10,000 creates (1 and 50 clients), one LIST of 10,000,
 * a page of 500 at 100,000 objects and its SQL plan. Runs on a throwaway embedded PostgreSQL.
 *   node bench/storage.ts [--objects 10000] [--big 100000]
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import * as EmbeddedPostgres from "../src/layers/postgres/EmbeddedPostgres.ts"
import * as PgDatabase from "../src/layers/postgres/PgDatabase.ts"
import * as PostgresStorage from "../src/layers/postgres/PostgresStorage.ts"
import type { StoredResource } from "../src/services/Storage.ts"
import { Storage } from "../src/services/Storage.ts"

const { values } = parseArgs({ options: { objects: { type: "string", default: "10000" }, big: { type: "string", default: "100000" } } })
const N = Number(values.objects)
const BIG = Number(values.big)

const queries: StoredResource = { key: "ark.mckinsey.com/queries", group: "ark.mckinsey.com", plural: "queries", kind: "Query", namespaced: true }
const query = (ns: string, name: string) => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Query",
  metadata: { name, namespace: ns },
  spec: { input: "What is the weather in Paris today?", target: { type: "agent", name: "weather-agent" } }
})

const time = <A, E, R>(e: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const t = performance.now()
    const a = yield* e
    return [a, performance.now() - t] as const
  })

const program = Effect.gen(function*() {
  const storage = yield* Storage
  const sql = yield* SqlClient.SqlClient
  const names = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}-${String(i).padStart(7, "0")}`)
  const [, serial] = yield* time(Effect.forEach(names(N, "s"), (n) => storage.create(queries, query("serial", n))))
  const [, burst] = yield* time(
    Effect.forEach(names(N, "b"), (n) => storage.create(queries, query("burst", n)), { concurrency: 50 })
  )
  const lists: Array<number> = []
  for (let i = 0; i < 10; i++) {
    const [r, ms] = yield* time(storage.list(queries, { namespace: "burst" }))
    if (r.items.length !== N) throw new Error("list size")
    lists.push(ms)
  }
  lists.sort((a, b) => a - b)
  yield* Effect.forEach(names(BIG, "x"), (n) => storage.create(queries, query("big", n)), { concurrency: 50 })
  yield* sql.unsafe(`ANALYZE ark_objects`)
  const pages: Array<number> = []
  let token: string | undefined
  for (let i = 0; i < 20; i++) {
    const [r, ms] = yield* time(storage.list(queries, { namespace: "big", limit: 500, ...(token ? { continue: token } : {}) }))
    token = r.continue
    pages.push(ms)
  }
  pages.sort((a, b) => a - b)
  const rv = yield* storage.currentRevision
  const plan = yield* sql.unsafe<{ "QUERY PLAN": string }>(
    `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
     SELECT namespace, name, data FROM ark_objects
     WHERE resource = $1 AND superseded_rv IS NULL AND rv <= $2 AND namespace = $3 AND name > $4
     ORDER BY namespace, name LIMIT 501`,
    [queries.key, rv, "big", `x-${String(BIG / 2).padStart(7, "0")}`]
  )
  console.log(`creates of ${N}, 1 client: ${serial.toFixed(0)} ms (${(N / serial * 1000).toFixed(0)}/s)`)
  console.log(`creates of ${N}, 50 clients: ${burst.toFixed(0)} ms (${(N / burst * 1000).toFixed(0)}/s)`)
  console.log(`list of ${N}: P50 ${lists[5]!.toFixed(1)} ms, min ${lists[0]!.toFixed(1)} ms`)
  console.log(`page of 500 at ${BIG + 2 * N} rows: P50 ${pages[10]!.toFixed(2)} ms, max ${pages[19]!.toFixed(2)} ms`)
  console.log(plan.map((r) => r["QUERY PLAN"]).join("\n"))
})

const dir = mkdtempSync(join(tmpdir(), "ark-bench-"))
const database = Layer.unwrap(
  Effect.map(EmbeddedPostgres.start({ dataDir: dir }), (pg) => PgDatabase.layer({ url: pg.url, poolSize: 40 }))
)
await Effect.runPromise(
  program.pipe(Effect.provide(PostgresStorage.layer.pipe(Layer.provideMerge(database))), Effect.scoped)
)
rmSync(dir, { recursive: true, force: true })
