/**
 * `npm run bench`: the seed's performance table re-measured against a running `ark serve`, over
 * HTTP like a real client, with baselines measured in the same run on the same PostgreSQL (raw SQL
 * fetch and INSERT through `pg`, a minimal Node HTTP server returning the same bytes), so every
 * figure is also a ratio that a noisy shared machine cannot fake. The API rows (LIST, GET, CREATE,
 * WATCH) are measured again on `ark serve --storage etcd` against a real etcd, with raw etcd
 * baselines (a prefix range joined into one body, puts) through the `etcd3` client.
 *
 *   npm run bench [-- --objects 10000] [--watchers 1000] [--queries 5000] [--in-flight 10000]
 *                    [--max-stored 1000000] [--restart-stored 100000] [--peer-stored 100000] [--quick] [--peers] [--check]
 *   npm run bench -- --only restart [--restart-stored N]   (that scenario alone, printed, no docs)
 *   npm run bench -- --render [--quick] [--check]   (the docs again from the last run's JSON, nothing measured)
 * Full runs also measure the peers (bench/peers.ts: kube-apiserver + Ark's CRDs on etcd and on kine,
 * beside ark-effect, over TLS); a --quick run leaves them out unless --peers is given.
 * Prints the tables, writes docs/benchmarks.json, docs/benchmarks.md and its SVG plots (with
 * --quick: docs/benchmarks-quick.*), and with --check exits 1 when a DESIGN §7 target
 * (bench/thresholds.json) is missed.
 */
import { Effect, Exit, Scope } from "effect"
import { spawn } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { Etcd3 } from "etcd3"
import pg from "pg"
import * as EmbeddedPostgres from "../src/layers/postgres/EmbeddedPostgres.ts"
import { objectPrefix } from "../src/layers/etcd/layout.ts"
import { startScriptedEngine } from "../test/support/engine.ts"
import { engineRuns } from "./engine.ts"
import { startEtcd } from "../test/support/etcd.ts"
import type { Measure } from "./lib.ts"
import type { Results } from "./report.ts"
import { charts, markdown, peerSection, thresholds, verdicts } from "./report.ts"
import { peerRun } from "./peers.ts"
import { createCurve, idleWatchersRss, pageLatency, seedCopies, sustainedCreate } from "./scale.ts"
import type { RestartRun } from "./restart.ts"
import { restartRun } from "./restart.ts"
import {
  agent,
  createAgent,
  drainQueue,
  expectStatus,
  holdingEngine,
  http,
  measure,
  path,
  query,
  queueRun,
  rssMb,
  startProcess,
  startMinimalWatch,
  startReplica,
  stopChild,
  watchLatency
} from "./lib.ts"

const { values } = parseArgs({
  options: {
    objects: { type: "string" },
    watchers: { type: "string" },
    queries: { type: "string" },
    "in-flight": { type: "string" },
    "max-stored": { type: "string" },
    "restart-stored": { type: "string" },
    "peer-stored": { type: "string" },
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    peers: { type: "boolean" },
    check: { type: "boolean", default: false },
    render: { type: "boolean", default: false }
  }
})
const quick = values.quick === true
/** The peers (kube-apiserver + CRDs on etcd and on kine) take minutes: in every full run, in a quick one with --peers. */
const withPeers = values.peers ?? !quick
/** A sizing flag as a positive integer, else the size of the run (full or --quick). */
const size = (flag: string | undefined, full: number, quickSize: number) => {
  if (flag === undefined) return quick ? quickSize : full
  const n = Number(flag)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bench: a size must be a positive integer, not "${flag}"`)
  return n
}
const N = size(values.objects, 10000, 1000)
/** The largest watcher count (the curve is 1, 200 and this). */
const maxWatchers = size(values.watchers, 1000, 100)
/** Queries run end to end with the instant engine. */
const instantQueries = size(values.queries, 5000, 200)
/** Queries with the 1 s engine, and the backlog held in flight by the 30 s engine. */
const inFlight = size(values["in-flight"], 10000, 500)
/** The largest stored total for LIST pages (10k, 100k, then each 10x up to this). */
const maxStored = size(values["max-stored"], 1_000_000, 10_000)
/** Objects stored when a replica with every module restarts (bench/restart.ts). */
const restartStored = size(values["restart-stored"], 100_000, 2_000)
/** The largest total of a peer's LIST page rows (its LIST objects, then this many created through its API). */
const peerStored = size(values["peer-stored"], 100_000, N)
const watcherCounts = [...new Set([1, Math.min(200, maxWatchers), maxWatchers])]
const storedTotals = [10_000, 100_000, 1_000_000, 10_000_000].filter((t) => t <= maxStored)
const root = join(import.meta.dirname, "..")

/**
 * The seed table's API rows against one server: N Queries seeded in namespace "bench" (the LIST
 * and GET data set), CREATE at 1 and 50 clients, GET, and unpaginated LIST at 1 and 10 clients.
 */
const apiRows = async (base: URL, label: string) => {
  const seed = await measure(N, 50, (i) => http(base, "POST", path("bench"), query("bench", `q-${i}`)).then(expectStatus(201)), `${label}seed`)
  const create1 = await measure(quick ? 200 : 1000, 1, (i) => http(base, "POST", path("c1"), query("c1", `q-${i}`)).then(expectStatus(201)), `${label}create c=1`)
  const create50 = await measure(quick ? 1000 : 5000, 50, (i) => http(base, "POST", path("c50"), query("c50", `q-${i}`)).then(expectStatus(201)), `${label}create c=50`)
  const get1 = await measure(quick ? 500 : 2000, 1, (i) => http(base, "GET", `${path("bench")}/q-${(i * 7919) % N}`).then(expectStatus(200)), `${label}get c=1`)
  let listBytes = 0
  const list1 = await measure(quick ? 10 : 30, 1, () => http(base, "GET", path("bench")).then((r) => {
    expectStatus(200)(r)
    listBytes = r.bytes
  }), `${label}list c=1`)
  const list10 = await measure(quick ? 30 : 100, 10, () => http(base, "GET", path("bench")).then(expectStatus(200)), `${label}list c=10`)
  return { seed, create1, create50, get1, list1, list10, listBytes }
}

/**
 * The etcd configuration: the same API rows and watch rows on `ark serve --storage etcd`, and raw
 * etcd baselines on the same member: the bench objects' prefix range joined into one list body
 * (what a LIST must at least do), and puts of the same object at 1 and 50 clients.
 */
const etcdRun = async (children: Array<ReturnType<typeof spawn>>, dir: string) => {
  // On disk, as the PostgreSQL it is compared with.
  const member = await startEtcd({ memory: false })
  try {
    process.stderr.write(`etcd configuration (etcd at ${member.endpoint})\n`)
    const server = await startReplica(children, ["--storage", "etcd", "--etcd-endpoints", member.endpoint, "--data-dir", join(dir, "etcd-ark"), "--modules", "apiserver"])
    const rows = await apiRows(server.url, "etcd: ")
    const serverRssMb = Math.round(rssMb(server.pid))
    const watchEvents = quick ? 50 : 200
    const watch = []
    for (const n of watcherCounts) {
      watch.push(await watchLatency(server.url, server.url, `watch-${n}`, n, watchEvents, server.pid))
    }
    const client = new Etcd3({ hosts: [member.endpoint], grpcOptions: { "grpc.max_receive_message_length": -1 } })
    try {
      const prefix = Buffer.from(`${objectPrefix({ group: "ark.mckinsey.com", plural: "queries" })}bench/`)
      const end = Buffer.from(prefix)
      end[end.length - 1]! += 1
      const rangeRead = async () => {
        const res = await client.kv.range({ key: prefix, range_end: end })
        const body = `{"items":[${res.kvs.map((kv) => kv.value.toString("utf8")).join(",")}]}`
        if (res.kvs.length !== N || body.length < 2) throw new Error(`raw range read ${res.kvs.length} of ${N} objects`)
      }
      const rawRange = await measure(quick ? 10 : 30, 1, rangeRead, "raw etcd range c=1")
      const rawRange10 = await measure(quick ? 30 : 100, 10, rangeRead, "raw etcd range c=10")
      const sample = Buffer.from(query("raw", "x"))
      const put = (p: string) => (i: number) => client.kv.put({ key: Buffer.from(`/raw/${p}-${i}`), value: sample }).then(() => undefined)
      const rawPut1 = await measure(quick ? 200 : 1000, 1, put("a"), "raw etcd put c=1")
      const rawPut50 = await measure(quick ? 1000 : 5000, 50, put("b"), "raw etcd put c=50")
      return { ark: rows, serverRssMb, watch, baselines: { rawRange, rawRange10, rawPut1, rawPut50 } }
    } finally {
      client.close()
      // Before its member goes: a server left on a stopped etcd retries and logs for the rest of the run.
      process.kill(server.pid, "SIGTERM")
    }
  } finally {
    await member.stop()
  }
}

/** Ends what a run started (each child stopped and waited for, a bounded time), its PostgreSQL and its folder. */
const teardown = async (children: ReadonlyArray<ReturnType<typeof spawn>>, scope: Scope.Closeable, dir: string) => {
  for (const c of children) await stopChild(c)
  agent.destroy()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(dir, { recursive: true, force: true })
}

/** A pool whose idle connections may drop (a server restarting) without ending the run. */
const openPool = (url: string, max: number) => {
  const pool = new pg.Pool({ connectionString: url, max })
  pool.on("error", (e) => process.stderr.write(`  (idle PostgreSQL connection lost: ${e.message})\n`))
  return pool
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "ark-bench-"))
  chmodSync(dir, 0o755)
  const scope = Effect.runSync(Scope.make())
  const children: Array<ReturnType<typeof spawn>> = []
  try {
    process.stderr.write(`starting embedded PostgreSQL and ark serve (${N} objects)\n`)
    const pgServer = await Effect.runPromise(Scope.provide(EmbeddedPostgres.start({ dataDir: join(dir, "pg") }), scope))
    const admin = new pg.Client({ connectionString: pgServer.url })
    await admin.connect()
    await admin.query("CREATE DATABASE ark")
    await admin.query("CREATE DATABASE raw")
    await admin.query("CREATE DATABASE queue")
    await admin.query("CREATE DATABASE pages")
    await admin.query("CREATE DATABASE peer_ark")
    await admin.query("CREATE DATABASE peer_kine")
    await admin.query("CREATE DATABASE engine")
    await admin.end()
    const dbUrl = (db: string) => pgServer.url.replace(/\/postgres$/, `/${db}`)

    // In-flight limits above the 500-client burst: the curve measures capacity, not kube's 429s.
    const apiOnly = (dataDir: string) =>
      startReplica(children, [
        "--storage", "postgresql", "--postgres-url", dbUrl("ark"), "--data-dir", join(dir, dataDir), "--modules", "apiserver",
        "--max-mutating-requests-inflight", "1000", "--max-requests-inflight", "2000"
      ])
    const server = await apiOnly("ark")
    const base = server.url

    const { seed, create1, create50, get1, list1, list10, listBytes } = await apiRows(base, "")
    const serverRss = rssMb(server.pid)
    const createCurvePoints = await createCurve(base, server.pid, [10, 50, 100, 200, 500], quick ? 500 : 3000)
    const sustained = await sustainedCreate(base, server.pid, 1000, quick ? 2 : 10)

    // Watch delivery on one replica, then across replicas (a second server on the same database).
    const watchEvents = quick ? 50 : 200
    const watchOne = []
    for (const n of watcherCounts) {
      watchOne.push(await watchLatency(base, base, `watch-${n}`, n, watchEvents, server.pid))
    }
    const replica = await apiOnly("ark2")
    const replicaBase = replica.url
    const watchCross = await watchLatency(base, replicaBase, "watch-cross", quick ? 50 : 200, watchEvents, replica.pid)

    // Queries end to end: two replicas with workers, an engine that answers at once, then one
    // that takes 1 s. The engines run in this process, as a real engine is its own service.
    const queueDb = openPool(dbUrl("queue"), 2)
    const instantEngine = await startScriptedEngine(() => "done at once")
    // First on one replica, which on these two cores has them to itself; then on two, as deployed.
    const single = await startReplica(children, ["--storage", "postgresql", "--postgres-url", dbUrl("queue"), "--data-dir", join(dir, "q0"), "--modules", "apiserver,query-workers", "--completions-url", instantEngine.url])
    const queueInstantOne = await queueRun(queueDb, [single], "instant-one", instantQueries, "queries, instant engine, 1 replica")
    process.kill(single.pid, "SIGTERM")
    const instant = [
      await startReplica(children, ["--storage", "postgresql", "--postgres-url", dbUrl("queue"), "--data-dir", join(dir, "q1"), "--modules", "apiserver,query-workers", "--completions-url", instantEngine.url]),
      await startReplica(children, ["--storage", "postgresql", "--postgres-url", dbUrl("queue"), "--data-dir", join(dir, "q2"), "--modules", "apiserver,query-workers", "--completions-url", instantEngine.url])
    ]
    const queueInstant = await queueRun(queueDb, instant, "instant", instantQueries, "queries, instant engine")
    await instantEngine.stop()
    const slow = await holdingEngine(1000)
    const slowReplicas = [
      await startReplica(children, ["--storage", "postgresql", "--postgres-url", dbUrl("queue"), "--data-dir", join(dir, "q3"), "--modules", "apiserver,query-workers", "--completions-url", slow.url, "--query-concurrency", "6000"]),
      await startReplica(children, ["--storage", "postgresql", "--postgres-url", dbUrl("queue"), "--data-dir", join(dir, "q4"), "--modules", "apiserver,query-workers", "--completions-url", slow.url, "--query-concurrency", "6000"])
    ]
    for (const r of instant) process.kill(r.pid, "SIGTERM")
    const queueSlow = await queueRun(queueDb, slowReplicas, "slow", inFlight, "queries, 1 s engine", slow.peak)
    await slow.stop()
    for (const r of slowReplicas) process.kill(r.pid, "SIGTERM")

    // 10,000 in flight at once. With a 1 s engine the calls open at once are bounded by how fast
    // Queries start (Little's law: rate x 1 s), so here a backlog is created first (API only, no
    // worker) and two worker replicas then open every call of an engine that answers after 30 s,
    // an agent's typical tool loop.
    const holdCount = inFlight
    const hold = await holdingEngine(quick ? 5_000 : 30_000)
    const holdApi = await startReplica(children, ["--storage", "postgresql", "--postgres-url", dbUrl("queue"), "--data-dir", join(dir, "q5"), "--modules", "apiserver"])
    await createAgent(holdApi.url, "hold")
    await measure(holdCount, 100, (i) => http(holdApi.url, "POST", path("hold"), query("hold", `q-${i}`)).then(expectStatus(201)), "in flight: backlog")
    const holdStarted = performance.now()
    const holders = [
      await startProcess(children, ["--storage", "postgresql", "--postgres-url", dbUrl("queue"), "--data-dir", join(dir, "q6"), "--modules", "query-workers", "--completions-url", hold.url, "--query-concurrency", "6000"]),
      await startProcess(children, ["--storage", "postgresql", "--postgres-url", dbUrl("queue"), "--data-dir", join(dir, "q7"), "--modules", "query-workers", "--completions-url", hold.url, "--query-concurrency", "6000"])
    ]
    const queueHold = await drainQueue(queueDb, holders, "hold", holdCount, `queries, ${quick ? 5 : 30} s engine`, holdStarted, hold.peak)
    await hold.stop()
    await queueDb.end()
    for (const h of holders) process.kill(h.pid, "SIGTERM")

    // The built-in engines on one replica: the demo engine, and the completions engine with an instant model.
    const engineDb = openPool(dbUrl("engine"), 2)
    const engines = await engineRuns(children, dbUrl("engine"), engineDb, dir, instantQueries)
    await engineDb.end()

    // Baselines on the same PostgreSQL, through node-postgres.
    const pool = openPool(dbUrl("ark"), 50)
    const fetchRows = async () => {
      const rows = await pool.query<{ data: string }>(
        `SELECT data FROM ark_objects WHERE resource = 'ark.mckinsey.com/queries' AND namespace = 'bench' AND superseded_rv IS NULL ORDER BY namespace, name`
      )
      const body = `{"items":[${rows.rows.map((r) => r.data).join(",")}]}`
      if (body.length < 2) throw new Error("empty")
    }
    const rawFetch = await measure(quick ? 10 : 30, 1, fetchRows, "raw SQL fetch c=1")
    const rawFetch10 = await measure(quick ? 30 : 100, 10, fetchRows, "raw SQL fetch c=10")
    const rawPool = openPool(dbUrl("raw"), 50)
    await rawPool.query("CREATE TABLE t (name text PRIMARY KEY, data text NOT NULL)")
    const sample = query("raw", "x")
    const rawInsert1 = await measure(quick ? 200 : 1000, 1, (i) => rawPool.query("INSERT INTO t VALUES ($1, $2)", [`a-${i}`, sample]).then(() => undefined), "raw INSERT c=1")
    const rawInsert50 = await measure(quick ? 1000 : 5000, 50, (i) => rawPool.query("INSERT INTO t VALUES ($1, $2)", [`b-${i}`, sample]).then(() => undefined), "raw INSERT c=50")
    await pool.end()
    await rawPool.end()

    // Baselines: a minimal Node HTTP server answering the same bytes (the server's own LIST body
    // at /, one Query's GET body elsewhere), and one that fans events out to open watches.
    const listBody = Buffer.from(await (await fetch(new URL(path("bench"), base))).arrayBuffer())
    const objectBody = Buffer.from(await (await fetch(new URL(`${path("bench")}/q-1`, base))).arrayBuffer())
    const minimal = createServer((req, res) => {
      const body = req.url === "/" ? listBody : objectBody
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length })
      res.end(body)
    })
    await new Promise<void>((resolve) => minimal.listen(0, "127.0.0.1", resolve))
    const minimalBase = new URL(`http://127.0.0.1:${(minimal.address() as AddressInfo).port}`)
    const minimalList = await measure(quick ? 10 : 30, 1, () => http(minimalBase, "GET", "/").then(expectStatus(200)), "minimal HTTP list bytes")
    const minimalGet = await measure(quick ? 500 : 2000, 1, () => http(minimalBase, "GET", "/q").then(expectStatus(200)), "minimal HTTP object bytes")
    await new Promise((resolve) => minimal.close(resolve))
    const fanout = await startMinimalWatch(children)
    const minimalWatch = []
    for (const n of watcherCounts) {
      minimalWatch.push(await watchLatency(fanout.url, fanout.url, `minimal-${n}`, n, watchEvents, fanout.pid))
    }

    // The etcd configuration, measured in the same run (its own etcd member, after PostgreSQL's rows).
    const etcd = await etcdRun(children, dir)

    // The systems a user would otherwise run, and ark-effect beside them, over TLS.
    const peers = withPeers
      ? await peerRun(children, dir, dbUrl, { objects: N, quick, watcherCounts, watchEvents, pageTotals: peerStored > N ? [N, peerStored] : [N] })
      : undefined

    // LIST pages as the stored total grows (copies seeded straight into the table), and the
    // server's memory with 1,000 idle watchers at 100k.
    const pagesDb = openPool(dbUrl("pages"), 2)
    const pagesServer = await startReplica(children, ["--storage", "postgresql", "--postgres-url", dbUrl("pages"), "--data-dir", join(dir, "pages"), "--modules", "apiserver"])
    expectStatus(201)(await http(pagesServer.url, "POST", path("page"), query("page", "template")))
    const pages = []
    let watchersRss = { objects: 0, watchers: 0, serverRssMb: 0 }
    let stored = 0
    for (const total of storedTotals) {
      await seedCopies(pagesDb, "page", "template", stored, total)
      stored = total
      pages.push(await pageLatency(pagesServer.url, pagesServer.pid, "page", total, quick ? 20 : 50))
      if (total === 100_000) {
        watchersRss = { objects: total, ...await idleWatchersRss(pagesServer.url, pagesServer.pid, "page", maxWatchers) }
      }
    }
    await pagesDb.end()

    const restart = await restartScenario(children, pgServer.url, dir)

    const results = {
      date: new Date().toISOString(),
      quick,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      objects: N,
      listBytes,
      serverRssMb: Math.round(serverRss),
      ark: { seed, create1, create50, get1, list1, list10 },
      watch: { oneReplica: watchOne, crossReplica: watchCross },
      queries: { instant: queueInstant, instantOneReplica: queueInstantOne, slowEngine: queueSlow, inFlight: queueHold, demoEngine: engines.demo, completionsEngine: engines.completions, firstToken: engines.firstToken },
      scale: { createCurve: createCurvePoints, sustained, pages, watchersRss, restart },
      baselines: { rawFetch, rawFetch10, rawInsert1, rawInsert50, minimalList, minimalGet, minimalWatch },
      etcd: {
        ...etcd,
        ratios: {
          listVsRawRange: etcd.ark.list1.p50 / etcd.baselines.rawRange.p50,
          create50VsRawPut50: etcd.ark.create50.opsPerSec / etcd.baselines.rawPut50.opsPerSec,
          listVsPostgres: etcd.ark.list1.p50 / list1.p50
        }
      },
      ...(peers === undefined ? {} : { peers }),
      ratios: {
        listVsRawFetch: list1.p50 / rawFetch.p50,
        listVsMinimalHttp: list1.p50 / minimalList.p50,
        list10VsRawFetch10: list10.opsPerSec / rawFetch10.opsPerSec,
        create50VsRawInsert50: create50.opsPerSec / rawInsert50.opsPerSec
      }
    }
    const f = (n: number) => n < 10 ? n.toFixed(2) : n.toFixed(1)
    const rows: Array<[string, string, string, string]> = [
      ["LIST unpaginated, c=1", `${f(list1.p50)} / ${f(list1.p99)} ms`, `${f(list1.opsPerSec)}/s`, `${f(results.ratios.listVsRawFetch)}x raw SQL fetch (${f(rawFetch.p50)} ms)`],
      ["LIST unpaginated, c=10", `${f(list10.p50)} / ${f(list10.p99)} ms`, `${f(list10.opsPerSec)}/s`, `${(results.ratios.list10VsRawFetch10 * 100).toFixed(0)}% of raw SQL fetch c=10 (${f(rawFetch10.opsPerSec)}/s); c=1 is ${f(results.ratios.listVsMinimalHttp)}x minimal HTTP (${f(minimalList.p50)} ms)`],
      ["GET, c=1", `${f(get1.p50)} / ${f(get1.p99)} ms`, `${f(get1.opsPerSec)}/s`, `minimal HTTP ${f(minimalGet.p50)} ms`],
      ["CREATE, c=1", `${f(create1.p50)} / ${f(create1.p99)} ms`, `${f(create1.opsPerSec)}/s`, `raw INSERT c=1: ${f(rawInsert1.p50)} ms`],
      ["CREATE, c=50", `${f(create50.p50)} / ${f(create50.p99)} ms`, `${f(create50.opsPerSec)}/s`, `${(results.ratios.create50VsRawInsert50 * 100).toFixed(0)}% of raw INSERT c=50 (${f(rawInsert50.opsPerSec)}/s)`]
    ]
    for (const w of [...watchOne, watchCross]) {
      const bare = w === watchCross ? undefined : minimalWatch.find((m) => m.watchers === w.watchers)
      rows.push([
        `WATCH, ${w.watchers} watchers${w === watchCross ? " (other replica)" : ""}`,
        `${f(w.p50)} / ${f(w.p99)} ms`,
        "",
        `server RSS ${w.serverRssMb} MB${bare === undefined ? "" : `; minimal HTTP fan-out ${f(bare.p50)} / ${f(bare.p99)} ms`}`
      ])
    }
    rows.push(["QUERIES, instant engine", `${queueInstantOne.queries} in ${f(queueInstantOne.seconds)} s`, `${f(queueInstantOne.queriesPerSec)}/s`, `1 replica, RSS ${queueInstantOne.serverRssMb.join(" / ")} MB`])
    rows.push(["QUERIES, instant engine", `${queueInstant.queries} in ${f(queueInstant.seconds)} s`, `${f(queueInstant.queriesPerSec)}/s`, `2 replicas, RSS ${queueInstant.serverRssMb.join(" / ")} MB`])
    rows.push(["QUERIES, 1 s engine", `${queueSlow.queries} in ${f(queueSlow.seconds)} s`, `${f(queueSlow.queriesPerSec)}/s`, `peak ${queueSlow.peakInFlight} in flight, RSS ${queueSlow.serverRssMb.join(" / ")} MB`])
    rows.push(["QUERIES, demo engine", `${engines.demo.queries} in ${f(engines.demo.seconds)} s`, `${f(engines.demo.queriesPerSec)}/s`, `1 replica, built in, RSS ${engines.demo.serverRssMb.join(" / ")} MB`])
    rows.push(["QUERIES, completions eng.", `${engines.completions.queries} in ${f(engines.completions.seconds)} s`, `${f(engines.completions.queriesPerSec)}/s`, `1 replica, embedded, instant model, RSS ${engines.completions.serverRssMb.join(" / ")} MB`])
    rows.push(["FIRST TOKEN, streamed", `${f(engines.firstToken.arkMs)} ms`, `model's own ${f(engines.firstToken.providerMs)} ms`, `median of ${engines.firstToken.samples}: Query create to first chunk on its stream endpoint`])
    rows.push(["QUERIES, 30 s engine", `${queueHold.queries} in ${f(queueHold.seconds)} s`, `${f(queueHold.queriesPerSec)}/s`, `backlog; peak ${queueHold.peakInFlight} in flight, worker RSS ${queueHold.serverRssMb.join(" / ")} MB`])
    rows.push(restartRow(restart))
    console.log(`\nark-effect on PostgreSQL, ${N} Queries (${(listBytes / 1e6).toFixed(2)} MB list), ${results.machine.cpus} cores, server RSS ${results.serverRssMb} MB`)
    console.log(["measure".padEnd(24), "P50 / P99".padEnd(20), "throughput".padEnd(12), "baseline"].join(" | "))
    for (const r of rows) console.log([r[0].padEnd(24), r[1].padEnd(20), r[2].padEnd(12), r[3]].join(" | "))
    const e = results.etcd
    const side: Array<[string, Measure, Measure, string]> = [
      ["LIST unpaginated, c=1", list1, e.ark.list1, `raw etcd range ${f(e.baselines.rawRange.p50)} ms (${f(e.ratios.listVsRawRange)}x); raw SQL fetch ${f(rawFetch.p50)} ms`],
      ["LIST unpaginated, c=10", list10, e.ark.list10, `raw etcd range c=10 ${f(e.baselines.rawRange10.opsPerSec)}/s`],
      ["GET, c=1", get1, e.ark.get1, ""],
      ["CREATE, c=1", create1, e.ark.create1, `raw etcd put c=1 ${f(e.baselines.rawPut1.p50)} ms`],
      ["CREATE, c=50", create50, e.ark.create50, `raw etcd put c=50 ${f(e.baselines.rawPut50.opsPerSec)}/s (${(e.ratios.create50VsRawPut50 * 100).toFixed(0)}%)`]
    ]
    console.log(`\nPostgreSQL vs etcd layer, same run, ${N} Queries (etcd server RSS ${e.serverRssMb} MB)`)
    console.log(["measure".padEnd(24), "PostgreSQL P50, ops/s".padEnd(24), "etcd P50, ops/s".padEnd(24), "etcd baseline"].join(" | "))
    const cell = (m: Measure) => `${f(m.p50)} ms, ${f(m.opsPerSec)}/s`
    for (const [name, a, b, note] of side) console.log([name.padEnd(24), cell(a).padEnd(24), cell(b).padEnd(24), note].join(" | "))
    for (const w of e.watch) {
      const pgRow = watchOne.find((x) => x.watchers === w.watchers)
      console.log([
        `WATCH, ${w.watchers} watchers`.padEnd(24),
        (pgRow === undefined ? "" : `${f(pgRow.p50)} / ${f(pgRow.p99)} ms`).padEnd(24),
        `${f(w.p50)} / ${f(w.p99)} ms`.padEnd(24),
        `P50 / P99; etcd server RSS ${w.serverRssMb} MB`
      ].join(" | "))
    }
    mkdirSync(join(root, "docs"), { recursive: true })
    return results
  } finally {
    await teardown(children, scope, dir)
  }
}

/** The restart scenario on its own database of the run's PostgreSQL. */
const restartScenario = async (children: Array<ReturnType<typeof spawn>>, adminUrl: string, dir: string) => {
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query("CREATE DATABASE restart")
  await admin.end()
  const url = adminUrl.replace(/\/postgres$/, "/restart")
  const db = openPool(url, 2)
  try {
    return await restartRun(children, db, url, dir, restartStored)
  } finally {
    await db.end()
  }
}

const restartRow = (r: RestartRun): [string, string, string, string] => [
  `RESTART, ${r.stored.toLocaleString("en-US")} stored`,
  `ready ${r.readySeconds.toFixed(1)} s, settled ${r.settledSeconds.toFixed(1)} s`,
  `${r.cpuSeconds.toFixed(1)} CPU s`,
  `every module; RSS settled ${r.settledRssMb} MB (peak ${r.peakRssMb}), before the restart ${r.beforeRssMb} MB`
]

/** `--only restart`: the restart scenario alone, on its own embedded PostgreSQL; printed, nothing written. */
const onlyRestart = async () => {
  const dir = mkdtempSync(join(tmpdir(), "ark-bench-"))
  chmodSync(dir, 0o755)
  const scope = Effect.runSync(Scope.make())
  const children: Array<ReturnType<typeof spawn>> = []
  try {
    const pgServer = await Effect.runPromise(Scope.provide(EmbeddedPostgres.start({ dataDir: join(dir, "pg") }), scope))
    const row = restartRow(await restartScenario(children, pgServer.url, dir))
    console.log(row.join(" | "))
  } finally {
    await teardown(children, scope, dir)
  }
}

if (values.only !== undefined) {
  if (values.only !== "restart") throw new Error(`bench: --only knows "restart", not "${values.only}"`)
  await onlyRestart()
  process.exit(0)
}

/** How long the stress checker may take (two tests of up to 4 minutes each, their hooks, vitest). */
const stressLimitMs = 12 * 60_000

/**
 * The watch stress checker at 10x its `npm test` size, bounded: vitest runs in a process group of
 * its own, with a temporary folder of its own, and a run still going after `stressLimitMs` is
 * stopped with everything it started and counts as failed. Either way the run's results are written.
 */
const stress = async () => {
  const started = performance.now()
  process.stderr.write("watch stress checker at 10x\n")
  const tmp = mkdtempSync(join(tmpdir(), "ark-bench-stress-"))
  // As root, the test's embedded PostgreSQL runs as user postgres, which must enter the folder.
  chmodSync(tmp, 0o755)
  const child = spawn(process.execPath, [join(root, "node_modules", "vitest", "vitest.mjs"), "run", "test/watch/stress.test.ts"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, ARK_STRESS_SCALE: "10", TMPDIR: tmp },
    detached: true
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  let timer: NodeJS.Timeout | undefined
  const code = await Promise.race([exited, new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), stressLimitMs)))])
  clearTimeout(timer)
  if (code === "timeout") {
    process.stderr.write(`watch stress checker still running after ${stressLimitMs / 60_000} minutes: stopped\n`)
    const group = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal)
      } catch {}
    }
    group("SIGTERM")
    const grace = setTimeout(() => group("SIGKILL"), 15_000)
    await exited
    clearTimeout(grace)
    group("SIGKILL")
  }
  rmSync(tmp, { recursive: true, force: true })
  return { scale: 10, seconds: (performance.now() - started) / 1000, passed: code === 0 }
}

/**
 * The run's results, measured, or with --render read back from the docs of the last run (to
 * render the report again after an edit of bench/report.ts or bench/notes.md; nothing measured).
 */
const suffix = quick ? "-quick" : ""
const resultsFile = join(root, "docs", `benchmarks${suffix}.json`)
const measured = async () => {
  const finished = await main()
  const stressed = quick ? undefined : await stress()
  return { ...finished, ...(stressed !== undefined ? { stress: stressed } : {}) }
}
const results: Results = values.render === true ? JSON.parse(readFileSync(resultsFile, "utf8")) : await measured()
for (const line of peerSection(results.peers)) console.log(line)
if (results.stress !== undefined) console.log(`watch stress checker at 10x: ${results.stress.passed ? "passed" : "FAILED"} in ${results.stress.seconds.toFixed(0)} s`)
const plots = charts(results).map(([file, svg]) => {
  const name = file.replace(".svg", `${suffix}.svg`)
  writeFileSync(join(root, "docs", name), svg)
  return name
})
const gate = verdicts(results, thresholds(root))
if (values.render !== true) writeFileSync(resultsFile, JSON.stringify(results, null, 2) + "\n")
const notes = join(root, "bench", "notes.md")
writeFileSync(join(root, "docs", `benchmarks${suffix}.md`), markdown(results, gate, plots, existsSync(notes) ? readFileSync(notes, "utf8") : ""))
console.log("\ntargets (DESIGN §7, bench/thresholds.json)")
for (const v of gate) {
  const shown = v.measured === undefined ? "-" : v.measured.toFixed(2)
  console.log(`  ${v.met === undefined ? "not measured" : v.met ? "met         " : "NOT MET     "} ${shown.padStart(10)} ${v.op} ${v.value}  ${v.target}`)
}
if (values.check === true && gate.some((v) => v.met === false)) {
  console.error(`bench --check: ${gate.filter((v) => v.met === false).length} target(s) missed`)
  process.exit(1)
}
