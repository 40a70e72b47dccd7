/**
 * Queries end to end through the query workers on the built-in engines, on one replica: the demo
 * engine (an in-process A2A server, no model) beside the completions engine embedded in ark serve
 * (it reads the Query, Agent and Model through the API, then calls the Model) with an instant
 * scripted OpenAI-compatible model; then time to first token: from a Query's create to the first
 * piece of its answer on the Query's stream endpoint, beside the scripted model's own (its
 * first streamed chunk, asked directly). Part of `npm run bench`; alone, a small run:
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
import { openSse } from "../test/support/sse.ts"
import type { QueueRun } from "./lib.ts"
import { expectStatus, http, queueRun, startReplica, stopChild } from "./lib.ts"

export interface EngineRuns {
  readonly demo: QueueRun
  readonly completions: QueueRun
  readonly firstToken: FirstToken
}

/** Time to first token, median of `samples` Queries one after another, in milliseconds. */
export interface FirstToken {
  readonly samples: number
  /** Query create sent to its first content chunk on ark's stream endpoint. */
  readonly arkMs: number
  /** The scripted model's own: its streaming request sent to its first content chunk. */
  readonly providerMs: number
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const firstContent = (events: ReadonlyArray<{ readonly data: string }>) =>
  events.some((e) => e.data !== "[DONE]" && typeof JSON.parse(e.data).choices?.[0]?.delta?.content === "string")

/** The scripted model's own first token: one streaming chat request, until its first content chunk. */
const providerFirstToken = async (modelUrl: string) => {
  const started = performance.now()
  const res = await fetch(`${modelUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }], stream: true })
  })
  const reader = res.body!.getReader()
  let text = ""
  for (;;) {
    const { value, done } = await reader.read()
    if (done) throw new Error("the model's stream ended without content")
    text += new TextDecoder().decode(value)
    if (text.includes('"content"')) break
  }
  const at = performance.now() - started
  await reader.cancel()
  return at
}

/** Ark's first token: the Query created, its stream followed, until its first content chunk. */
const arkFirstToken = async (base: URL, ns: string, name: string) => {
  const started = performance.now()
  expectStatus(201)(await http(base, "POST", `/apis/ark.mckinsey.com/v1alpha1/namespaces/${ns}/queries`, JSON.stringify({
    apiVersion: "ark.mckinsey.com/v1alpha1",
    kind: "Query",
    metadata: { name, namespace: ns },
    spec: { input: "hi", target: { type: "agent", name: "weather-agent" } }
  })))
  const sse = await openSse(base.toString(), `/apis/ark.mckinsey.com/v1alpha1/namespaces/${ns}/queries/${name}/stream`)
  await sse.waitFor(firstContent)
  const at = sse.events.find((e) => e.data !== "[DONE]" && typeof JSON.parse(e.data).choices?.[0]?.delta?.content === "string")!.at - started
  await sse.ended
  return at
}

const firstTokenRun = async (base: URL, ns: string, modelUrl: string, samples: number): Promise<FirstToken> => {
  const ark: Array<number> = []
  const provider: Array<number> = []
  for (let i = 0; i < samples; i++) {
    provider.push(await providerFirstToken(modelUrl))
    ark.push(await arkFirstToken(base, ns, `ttft-${i}`))
  }
  return { samples, arkMs: median(ark), providerMs: median(provider) }
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
    if (model.calls.length < count) throw new Error(`the model answered ${model.calls.length} calls for ${count} Queries`)
    const firstToken = await firstTokenRun(embedded.url, "engine-completions", model.url, 20)
    process.kill(embedded.pid, "SIGTERM")
    return { demo, completions, firstToken }
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
      for (const [name, r] of Object.entries({ demo: runs.demo, completions: runs.completions })) {
        console.log(`${name.padEnd(12)} ${r.queries} Queries in ${r.seconds.toFixed(2)} s: ${r.queriesPerSec.toFixed(1)}/s, RSS ${r.serverRssMb.join(" / ")} MB`)
      }
      const t = runs.firstToken
      console.log(`first token  ${t.arkMs.toFixed(1)} ms through ark (Query create to first chunk on its stream), ${t.providerMs.toFixed(1)} ms from the scripted model itself (median of ${t.samples})`)
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
