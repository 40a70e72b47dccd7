/**
 * Queries end to end through the query workers on the built-in engines, on one replica: the demo
 * engine (an in-process A2A server, no model) beside the completions engine embedded in ark serve
 * (it reads the Query, Agent and Model through the API, then calls the Model) with an instant
 * scripted OpenAI-compatible model. Part of `npm run bench`; alone, a small run:
 *
 *   node bench/engine.ts [--queries 200]
 */
import type { spawn } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { Effect, Exit, Scope } from "effect"
import pg from "pg"
import * as EmbeddedPostgres from "../src/layers/postgres/EmbeddedPostgres.ts"
import { startScriptedModel } from "../test/support/models.ts"
import type { QueueRun } from "./lib.ts"
import { expectStatus, http, queueRun, startReplica, stopChild } from "./lib.ts"

export interface EngineRuns {
  readonly demo: QueueRun
  readonly completions: QueueRun
}

/** The Model the benchmark Agent uses (`default`), at the scripted model's URL. */
const createModel = async (base: URL, ns: string, modelUrl: string) =>
  expectStatus(201)(await http(base, "POST", `/apis/ark.mckinsey.com/v1alpha1/namespaces/${ns}/models`, JSON.stringify({
    apiVersion: "ark.mckinsey.com/v1alpha1",
    kind: "Model",
    metadata: { name: "default", namespace: ns },
    spec: { provider: "openai", model: { value: "bench-model" }, config: { openai: { baseUrl: { value: `${modelUrl}/v1` }, apiKey: { value: "bench-key" } } } }
  })))

/** `databaseUrl`: an empty database the replicas migrate; `queueDb` a pool on it. */
export const engineRuns = async (
  children: Array<ReturnType<typeof spawn>>,
  databaseUrl: string,
  queueDb: pg.Pool,
  dir: string,
  count: number
): Promise<EngineRuns> => {
  const replica = (dataDir: string, args: ReadonlyArray<string>) =>
    startReplica(children, ["--storage", "postgresql", "--postgres-url", databaseUrl, "--data-dir", join(dir, dataDir), "--modules", "apiserver,query-workers", ...args])
  const demoReplica = await replica("engine-demo", ["--demo-engine"])
  const demo = await queueRun(queueDb, [demoReplica], "engine-demo", count, "queries, demo engine, 1 replica")
  process.kill(demoReplica.pid, "SIGTERM")
  const model = await startScriptedModel("openai", () => ({ text: "done at once", usage: { input: 12, output: 3 } }))
  try {
    const embedded = await replica("engine-completions", [])
    await createModel(embedded.url, "engine-completions", model.url)
    const completions = await queueRun(queueDb, [embedded], "engine-completions", count, "queries, completions engine + instant model, 1 replica")
    process.kill(embedded.pid, "SIGTERM")
    if (model.calls.length < count) throw new Error(`the model answered ${model.calls.length} calls for ${count} Queries`)
    return { demo, completions }
  } finally {
    await model.stop()
  }
}

const main = async () => {
  const { values } = parseArgs({ options: { queries: { type: "string", default: "200" } } })
  const count = Number(values.queries)
  const dir = mkdtempSync(join(tmpdir(), "ark-bench-engine-"))
  // As root, the embedded PostgreSQL runs as user postgres, which must enter the directory.
  chmodSync(dir, 0o755)
  const scope = Effect.runSync(Scope.make())
  const children: Array<ReturnType<typeof spawn>> = []
  try {
    const server = await Effect.runPromise(Scope.provide(EmbeddedPostgres.start({ dataDir: join(dir, "pg") }), scope))
    const admin = new pg.Client({ connectionString: server.url })
    await admin.connect()
    await admin.query("CREATE DATABASE engine")
    await admin.end()
    const url = server.url.replace(/\/postgres$/, "/engine")
    const queueDb = new pg.Pool({ connectionString: url, max: 2 })
    try {
      const runs = await engineRuns(children, url, queueDb, dir, count)
      for (const [name, r] of Object.entries(runs)) console.log(`${name.padEnd(12)} ${r.queries} Queries in ${r.seconds.toFixed(2)} s: ${r.queriesPerSec.toFixed(1)}/s, RSS ${r.serverRssMb.join(" / ")} MB`)
    } finally {
      await queueDb.end()
    }
  } finally {
    await Promise.all(children.map((c) => stopChild(c)))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.filename === process.argv[1]) await main()
