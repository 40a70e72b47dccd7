/**
 * One benchmark scenario against an `ark serve` run with `--cpu-prof`, to see where the server's
 * time goes: its own embedded PostgreSQL, the server with the flags of `npm run bench`, the
 * scenario driven by the bench's client code (watch: after the bare Node fan-out of the same
 * watchers, for the ratio; create: then the bench's raw INSERT at the same concurrency on the same
 * PostgreSQL, for the ratio, the transactions the server committed per create, and the CPU per
 * operation of the server, PostgreSQL and the client in both; get: GETs of
 * 200 objects), then the profile's self time by function and by file. The .cpuprofile is kept
 * (open it in Chrome DevTools or speedscope). With --tls the server is reached as the peer table
 * reaches it: over TLS with its admin client certificate, authentication and authorization on.
 *
 *   node bench/profile.ts --scenario watch [--watchers 1000] [--events 200] [--out .scratch/profiles]
 *   node bench/profile.ts --scenario create [--count 5000] [--concurrency 50] [--tls] [--out .scratch/profiles]
 *   node bench/profile.ts --scenario get [--count 5000] [--concurrency 1] [--tls] [--out .scratch/profiles]
 *
 * With --alloc (create and get) the server runs under the inspector instead of the CPU profiler:
 * V8's sampling heap profiler records what the measured operations allocate, garbage included, and
 * the bytes per operation are printed by file and by function (the garbage a request leaves is
 * what the collector's threads pay for; the create scenario prints their CPU apart from the main thread's).
 */
import { Effect, Exit, Scope } from "effect"
import type { spawn } from "node:child_process"
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { parseArgs } from "node:util"
import pg from "pg"
import * as EmbeddedPostgres from "../src/layers/postgres/EmbeddedPostgres.ts"
import { agent, expectStatus, http, measure, path, query, startMinimalWatch, startReplica, stopChild, watchLatency } from "./lib.ts"
import { startArkTls } from "./peers.ts"

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "watch" },
    watchers: { type: "string", default: "1000" },
    events: { type: "string", default: "200" },
    count: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "50" },
    out: { type: "string", default: ".scratch/profiles" },
    tls: { type: "boolean", default: false },
    alloc: { type: "boolean", default: false }
  }
})
const root = join(import.meta.dirname, "..")

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Self time (ms) of each function and of each file, largest first. */
const selfTimes = (profile: CpuProfile) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const fns = new Map<string, number>()
  const files = new Map<string, number>()
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const file = url === "" ? "(native)" : url.startsWith("file://") ? relative(root, new URL(url).pathname) : url
    const fn = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`
    fns.set(fn, (fns.get(fn) ?? 0) + ms)
    files.set(file, (files.get(file) ?? 0) + ms)
  })
  const top = (m: Map<string, number>, n: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
  const total = [...files.values()].reduce((a, b) => a + b, 0)
  return { total, functions: top(fns, 30), files: top(files, 15) }
}

/** /proc/<pid>/stat's fields after the command name, or undefined once the process is gone. */
const statOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  } catch {
    return undefined
  }
}

/** CPU time (user and system) a process has used, in ms (Linux: clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const fields = statOf(pid)
  return fields === undefined ? 0 : (Number(fields[11]) + Number(fields[12])) * 10
}

interface HeapProfileNode {
  readonly callFrame: ProfileNode["callFrame"]
  readonly selfSize: number
  readonly children: ReadonlyArray<HeapProfileNode>
}

/** Bytes allocated per operation by each function and each file, largest first. */
const allocations = (head: HeapProfileNode, count: number) => {
  const fns = new Map<string, number>()
  const files = new Map<string, number>()
  let total = 0
  const visit = (node: HeapProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame
    const file = url === "" ? "(native)" : url.startsWith("file://") ? relative(root, new URL(url).pathname) : url
    const fn = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`
    total += node.selfSize
    fns.set(fn, (fns.get(fn) ?? 0) + node.selfSize)
    files.set(file, (files.get(file) ?? 0) + node.selfSize)
    node.children.forEach(visit)
  }
  visit(head)
  const top = (m: Map<string, number>, n: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, v / count] as const)
  return { perOp: total / count, functions: top(fns, 30), files: top(files, 20) }
}

/** A free port on loopback, for the inspector of the server. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })

/** The DevTools protocol of the Node process whose inspector listens on `port`. */
const devtools = async (port: number) => {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ readonly webSocketDebuggerUrl: string }>
  const socket = new WebSocket(target!.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve)
    socket.addEventListener("error", reject)
  })
  let id = 0
  const pending = new Map<number, (result: unknown) => void>()
  socket.addEventListener("message", (e) => {
    const message = JSON.parse(String(e.data)) as { readonly id?: number; readonly result?: unknown }
    if (message.id !== undefined) pending.get(message.id)?.(message.result)
  })
  const call = <A>(method: string, params: object = {}) =>
    new Promise<A>((resolve) => {
      pending.set(++id, resolve as (result: unknown) => void)
      socket.send(JSON.stringify({ id, method, params }))
    })
  return { call, close: () => socket.close() }
}

/** CPU time (user and system) of a process's main thread, in ms; cpuMs less this is its other threads'. */
const mainThreadCpuMs = (pid: number) => {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

/** CPU time of a PostgreSQL server: its postmaster's and its live children's (backends, WAL writer), in ms. */
const postgresCpuMs = (postmaster: number) =>
  readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number)
    .filter((pid) => pid === postmaster || statOf(pid)?.[1] === String(postmaster))
    .reduce((sum, pid) => sum + cpuMs(pid), 0)

/** This process's CPU time (the benchmark client), in ms. */
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/** CPU per operation of `count` operations, in ms, from CPU counters read before and after. */
const perOp = (before: ReadonlyArray<number>, after: ReadonlyArray<number>, count: number) =>
  after.map((a, i) => ((a - before[i]!) / count).toFixed(3))

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "ark-bench-profile-"))
  chmodSync(dir, 0o755)
  const scope = Effect.runSync(Scope.make())
  const children: Array<ReturnType<typeof spawn>> = []
  const profDir = join(dir, "prof")
  try {
    const pgServer = await Effect.runPromise(Scope.provide(EmbeddedPostgres.start({ dataDir: join(dir, "pg") }), scope))
    const admin = new pg.Client({ connectionString: pgServer.url })
    await admin.connect()
    await admin.query("CREATE DATABASE ark")
    await admin.end()
    // Only the server is profiled: the option is in the environment while it is spawned, no longer.
    const nodeOptions = process.env["NODE_OPTIONS"]
    const inspectPort = values.alloc === true ? await freePort() : undefined
    process.env["NODE_OPTIONS"] = `${nodeOptions ?? ""} ${inspectPort !== undefined ? `--inspect=127.0.0.1:${inspectPort}` : `--cpu-prof --cpu-prof-dir=${profDir}`}`
    const store = ["--storage", "postgresql", "--postgres-url", pgServer.url.replace(/\/postgres$/, "/ark"), "--data-dir", join(dir, "ark")]
    const starting = values.tls === true
      ? startArkTls(children, "ark-effect", store).then((s) => ({ url: s.url, pid: s.pids[0]! }))
      : startReplica(children, [...store, "--modules", "apiserver", "--max-mutating-requests-inflight", "1000", "--max-requests-inflight", "2000"])
    if (nodeOptions === undefined) delete process.env["NODE_OPTIONS"]
    else process.env["NODE_OPTIONS"] = nodeOptions
    const server = await starting
    const inspector = inspectPort === undefined ? undefined : await devtools(inspectPort)
    let heap: HeapProfileNode | undefined
    /** The measured operations, their allocations sampled under --alloc (garbage included). */
    const sampled = async <A>(run: () => Promise<A>) => {
      if (inspector === undefined) return run()
      await inspector.call("HeapProfiler.startSampling", { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
      const result = await run()
      heap = (await inspector.call<{ readonly profile: { readonly head: HeapProfileNode } }>("HeapProfiler.stopSampling")).profile.head
      return result
    }
    const profiled = inspector === undefined ? "profiled" : "under the inspector"
    if (values.scenario === "watch") {
      // The bare Node fan-out first, with the same watchers and events: the ratio is what a loaded machine keeps.
      const n = Number(values.watchers)
      const fanout = await startMinimalWatch(children)
      const bare = await watchLatency(fanout.url, fanout.url, `minimal-${n}`, n, Number(values.events), fanout.pid)
      await stopChild(children.pop()!)
      const w = await watchLatency(server.url, server.url, `watch-${n}`, n, Number(values.events), server.pid)
      console.log(`watch delivery, ${n} watchers: P50 ${w.p50.toFixed(2)} ms, P99 ${w.p99.toFixed(2)} ms, RSS ${w.serverRssMb} MB; ` +
        `bare fan-out P50 ${bare.p50.toFixed(2)} ms, P99 ${bare.p99.toFixed(2)} ms: P50 ${(w.p50 / bare.p50).toFixed(2)}x`)
    } else if (values.scenario === "create") {
      const c = Number(values.concurrency)
      const count = Number(values.count)
      // Transactions the server's database committed per create (each statement outside a transaction is one).
      const stats = new pg.Client({ connectionString: pgServer.url.replace(/\/postgres$/, "/ark") })
      await stats.connect()
      const commits = async () =>
        Number((await stats.query<{ n: string }>(`SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = 'ark'`)).rows[0]!.n)
      // The postmaster is the parent of every backend, this connection's too.
      const backend = Number((await stats.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0]!.pid)
      const postmaster = Number(statOf(backend)![1])
      const cpus = () => [cpuMs(server.pid), postgresCpuMs(postmaster), ownCpuMs(), mainThreadCpuMs(server.pid)]
      const before = await commits()
      const cpuBefore = cpus()
      const m = await sampled(() => measure(count, c, (i) => http(server.url, "POST", path("c"), query("c", `q-${i}`)).then(expectStatus(201)), `create c=${c}`))
      const [serverCpu, postgresCpu, clientCpu, mainCpu] = perOp(cpuBefore, cpus(), count)
      // The statistics collector flushes at most once a second.
      await new Promise((r) => setTimeout(r, 1500))
      const perCreate = (await commits() - before) / count
      await stats.end()
      // The bench's raw INSERT on the same PostgreSQL at the same concurrency, for the ratio (bench/run.ts).
      const admin = new pg.Client({ connectionString: pgServer.url })
      await admin.connect()
      await admin.query("CREATE DATABASE raw")
      await admin.end()
      const raw = new pg.Pool({ connectionString: pgServer.url.replace(/\/postgres$/, "/raw"), max: c })
      await raw.query("CREATE TABLE t (name text PRIMARY KEY, data text NOT NULL)")
      const sample = query("raw", "x")
      const rawBefore = cpus()
      const r = await measure(count, c, (i) => raw.query("INSERT INTO t VALUES ($1, $2)", [`b-${i}`, sample]).then(() => undefined), `raw INSERT c=${c}`)
      const [, rawPostgresCpu, rawClientCpu] = perOp(rawBefore, cpus(), count)
      await raw.end()
      console.log(`create c=${c}: ${m.opsPerSec.toFixed(0)}/s, P50 ${m.p50.toFixed(2)} ms, P99 ${m.p99.toFixed(2)} ms, ` +
        `${perCreate.toFixed(2)} transactions per create; raw INSERT ${r.opsPerSec.toFixed(0)}/s: ${((m.opsPerSec / r.opsPerSec) * 100).toFixed(0)}%\n` +
        `CPU per operation (ms): create: server ${serverCpu} (${profiled}; main thread ${mainCpu}, the others ${(Number(serverCpu) - Number(mainCpu)).toFixed(3)}), ` +
        `PostgreSQL ${postgresCpu}, client ${clientCpu}; ` +
        `raw INSERT: PostgreSQL ${rawPostgresCpu}, client ${rawClientCpu}`)
    } else if (values.scenario === "get") {
      const c = Number(values.concurrency)
      await measure(200, 10, (i) => http(server.url, "POST", path("g"), query("g", `q-${i}`)).then(expectStatus(201)), "seed")
      const m = await sampled(() => measure(Number(values.count), c, (i) => http(server.url, "GET", `${path("g")}/q-${(i * 7919) % 200}`).then(expectStatus(200)), `get c=${c}`))
      console.log(`get c=${c}: ${m.opsPerSec.toFixed(0)}/s, P50 ${m.p50.toFixed(3)} ms, P99 ${m.p99.toFixed(3)} ms`)
    } else throw new Error(`profile: --scenario is watch, create or get, not "${values.scenario}"`)
    inspector?.close()
    // ark serve exits by itself on SIGTERM, and Node writes the profile as it exits.
    await stopChild(children[0]!, 30_000)
    if (inspectPort !== undefined) {
      if (heap === undefined) throw new Error(`profile: --alloc samples the create and get scenarios, not "${values.scenario}"`)
      const { perOp: bytes, functions, files } = allocations(heap, Number(values.count))
      const kb = (b: number) => `${(b / 1024).toFixed(1).padStart(6)} KB`
      console.log(`\nallocated per operation (sampled, garbage included): ${kb(bytes)}\n\nby function`)
      for (const [fn, b] of functions) console.log(`  ${kb(b)}  ${fn}`)
      console.log("\nby file")
      for (const [f, b] of files) console.log(`  ${kb(b)}  ${f}`)
      return
    }
    const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"))
    if (file === undefined) throw new Error("the server wrote no profile")
    const out = join(root, values.out!)
    mkdirSync(out, { recursive: true })
    const kept = join(out, `${values.scenario}-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`)
    copyFileSync(join(profDir, file), kept)
    const { total, functions, files } = selfTimes(JSON.parse(readFileSync(kept, "utf8")) as CpuProfile)
    console.log(`\nprofile ${relative(root, kept)}: ${(total / 1000).toFixed(1)} s sampled\n\nself time by function`)
    for (const [fn, ms] of functions) console.log(`  ${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${fn}`)
    console.log("\nself time by file")
    for (const [f, ms] of files) console.log(`  ${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${f}`)
  } finally {
    for (const c of children) await stopChild(c)
    agent.destroy()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
