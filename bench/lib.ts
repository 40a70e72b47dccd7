/**
 * What every benchmark scenario shares: HTTP requests over keep-alive, timed loops with a
 * progress bar, `ark serve` processes, watch latency, Queries end to end, process memory.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { readFileSync } from "node:fs"
import { Agent, request as httpRequest } from "node:http"
import type { ClientRequest, IncomingMessage, RequestOptions } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
import { join } from "node:path"
import type pg from "pg"
import { startScriptedEngine } from "../test/support/engine.ts"

const root = join(import.meta.dirname, "..")

export const agent = new Agent({ keepAlive: true, maxSockets: 1024 })

/** A server's CA and the client certificate to present (kube-apiserver, or ark serving TLS). */
export interface ClientTls {
  readonly ca: string
  readonly cert: string
  readonly key: string
}

/** Servers reached over https, by origin: their TLS settings and a keep-alive agent. */
const tlsByOrigin = new Map<string, { readonly tls: ClientTls; readonly agent: HttpsAgent }>()

/** Requests to `base` (an https URL) go over TLS with these settings from now on. */
export const useTls = (base: URL, tls: ClientTls) => {
  tlsByOrigin.set(base.origin, { tls, agent: new HttpsAgent({ keepAlive: true, maxSockets: 1024, ...tls }) })
}

/**
 * A request to `base`, over plain HTTP or (for a server given to useTls) TLS. `ownConnection`
 * opens a connection of its own (a watch), as each watcher of a real cluster has.
 */
export const request = (base: URL, options: RequestOptions & { ownConnection?: boolean }, onResponse: (res: IncomingMessage) => void): ClientRequest => {
  const { ownConnection, ...rest } = options
  const common = { host: base.hostname, port: base.port, ...rest }
  const tls = tlsByOrigin.get(base.origin)
  if (base.protocol !== "https:") return httpRequest({ ...common, agent: ownConnection ? false : agent }, onResponse)
  if (tls === undefined) throw new Error(`bench: no TLS settings for ${base.origin}`)
  return httpsRequest(ownConnection ? { ...common, ...tls.tls, agent: false } : { ...common, agent: tls.agent }, onResponse)
}

export interface HttpResult {
  readonly status: number
  readonly bytes: number
}

/**
 * One HTTP request with a keep-alive connection; the body is drained and counted, not parsed. A
 * reset of a reused connection before any answer is the server closing it as idle while the
 * request was on its way (Node's documented keep-alive race): the request never reached it, and is
 * sent again on a new connection, as Node's documentation advises.
 */
export const http = (base: URL, method: string, path: string, body?: string): Promise<HttpResult> =>
  new Promise((resolve, reject) => {
    const req = request(base, {
      method,
      path,
      headers: body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (res) => {
      let bytes = 0
      res.on("data", (c: Buffer) => (bytes += c.length))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes }))
      res.on("error", reject)
    })
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (req.reusedSocket && e.code === "ECONNRESET") http(base, method, path, body).then(resolve, reject)
      else reject(e)
    })
    req.end(body)
  })

export const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

export interface Measure {
  readonly p50: number
  readonly p99: number
  readonly opsPerSec: number
  readonly count: number
}

/** A progress line on stderr: a bar, the count, and the label. */
export const progress = (label: string, done: number, total: number) => {
  const width = 30
  const filled = total === 0 ? width : Math.round((done / total) * width)
  process.stderr.write(`\r  [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${label}   `)
}

/** Runs `op` `count` times from `concurrency` workers; latencies in ms. */
export const measure = async (count: number, concurrency: number, op: (i: number) => Promise<void>, label: string): Promise<Measure> => {
  const latencies: Array<number> = []
  let next = 0
  const started = performance.now()
  const ticker = setInterval(() => progress(label, latencies.length, count), 250)
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++
      const t = performance.now()
      await op(i)
      latencies.push(performance.now() - t)
    }
  }))
  clearInterval(ticker)
  progress(label, count, count)
  process.stderr.write("\n")
  const elapsed = performance.now() - started
  latencies.sort((a, b) => a - b)
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), opsPerSec: (count / elapsed) * 1000, count }
}

export const query = (ns: string, name: string) =>
  JSON.stringify({
    apiVersion: "ark.mckinsey.com/v1alpha1",
    kind: "Query",
    metadata: { name, namespace: ns },
    spec: { input: "What is the weather in Paris today?", target: { type: "agent", name: "weather-agent" } }
  })

/** Where a namespace's Queries are. */
export const path = (ns: string) => `/apis/ark.mckinsey.com/v1alpha1/namespaces/${ns}/queries`

/** The Agent the benchmark's Queries target (no ExecutionEngine of its own: the default engine answers). */
export const createAgent = async (base: URL, ns: string) =>
  expectStatus(201)(await http(base, "POST", `/apis/ark.mckinsey.com/v1alpha1/namespaces/${ns}/agents`, JSON.stringify({
    apiVersion: "ark.mckinsey.com/v1alpha1",
    kind: "Agent",
    metadata: { name: "weather-agent", namespace: ns },
    spec: { prompt: "You report the weather." }
  })))

export const expectStatus = (want: number) => (r: HttpResult) => {
  if (r.status !== want) throw new Error(`unexpected HTTP ${r.status}`)
}

export interface WatchLatency {
  readonly watchers: number
  readonly events: number
  readonly p50: number
  readonly p99: number
  readonly serverRssMb: number
}

/**
 * Watch delivery latency: `watchers` watches open on `watchBase` (each on its own connection),
 * `events` creates sent one at a time to `writeBase`; latency = create sent to ADDED received,
 * for every watcher and event.
 */
export const watchLatency = async (writeBase: URL, watchBase: URL, ns: string, watchers: number, events: number, serverPid: number): Promise<WatchLatency> => {
  const sentAt = new Map<string, number>()
  const latencies: Array<number> = []
  let received = 0
  const requests = await Promise.all(Array.from({ length: watchers }, () =>
    new Promise<ClientRequest>((resolve, reject) => {
      const req = request(watchBase, { path: `${path(ns)}?watch=true`, ownConnection: true }, (res) => {
        let buffer = ""
        res.setEncoding("utf8")
        // The watch ends when the benchmark destroys it (or its replica stops): not a failure.
        res.on("error", () => undefined)
        res.on("data", (chunk: string) => {
          const now = performance.now()
          buffer += chunk
          let nl: number
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl)
            buffer = buffer.slice(nl + 1)
            const m = /"name":"(w-\d+)"/.exec(line)
            const sent = m === null ? undefined : sentAt.get(m[1]!)
            if (sent !== undefined) {
              latencies.push(now - sent)
              received++
            }
          }
        })
        resolve(req)
      })
      req.on("error", reject)
      req.end()
    })))
  await new Promise((r) => setTimeout(r, 300))
  const label = `watch latency, ${watchers} watchers`
  for (let i = 0; i < events; i++) {
    const name = `w-${i}`
    sentAt.set(name, performance.now())
    expectStatus(201)(await http(writeBase, "POST", path(ns), query(ns, name)))
    await new Promise((r) => setTimeout(r, 10))
    if (i % 20 === 0) process.stderr.write(`\r  ${label}: ${i}/${events}   `)
  }
  const deadline = Date.now() + 30_000
  while (received < watchers * events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  const serverRssMb = Math.round(rssMb(serverPid))
  for (const r of requests) r.destroy()
  process.stderr.write(`\r  ${label}: done (${received}/${watchers * events} events)\n`)
  latencies.sort((a, b) => a - b)
  return { watchers, events, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), serverRssMb }
}

/**
 * Stops a child with SIGTERM and waits for it, then SIGKILL after `graceMs`. A child that has
 * already gone (an exit code, or a signal: Go servers such as etcd and kine die of SIGTERM
 * itself) is not waited for: its exit event has fired, and waiting for it again never ends.
 */
export const stopChild = async (child: ChildProcess, graceMs = 15_000) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<boolean>((resolve) => child.once("exit", () => resolve(true)))
  child.kill("SIGTERM")
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref())
  if (!(await Promise.race([exited, timer]))) {
    child.kill("SIGKILL")
    await exited
  }
}

/** Starts a Node program; resolves once it prints that it serves (its URL) or runs. */
const startNode = (children: Array<ReturnType<typeof spawn>>, nodeArgs: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, nodeArgs, { stdio: ["ignore", "pipe", "inherit"] })
  children.push(child)
  return new Promise<{ url: string | undefined; pid: number }>((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /ark: (?:serving (\S+)|running )/.exec(out)
      if (m) resolve({ url: m[1], pid: child.pid! })
    })
    child.once("exit", (code) => reject(new Error(`${nodeArgs.join(" ")} exited ${code}`)))
  })
}

/** The Node flags `npm start` and the chart run `ark serve` with (the heap ceiling is the chart's heapMegabytes). */
export const serverNodeFlags = ["--max-semi-space-size=16", "--max-old-space-size=768"]

/** Starts `ark serve` with extra flags, and the Node flags the image and `npm start` run it with. */
export const startProcess = (children: Array<ReturnType<typeof spawn>>, args: ReadonlyArray<string>) =>
  startNode(children, [...serverNodeFlags, join(root, "src/programs/main.ts"), "serve", "--port", "0", "--insecure-http", ...args])

/** The watch baseline's server (bench/minimalWatch.ts), in its own process. */
export const startMinimalWatch = async (children: Array<ReturnType<typeof spawn>>) => {
  const { url, pid } = await startNode(children, [join(root, "bench/minimalWatch.ts")])
  return { url: new URL(url!), pid }
}

/** A replica that serves the API. */
export const startReplica = async (children: Array<ReturnType<typeof spawn>>, args: ReadonlyArray<string>) => {
  const { url, pid } = await startProcess(children, args)
  return { url: new URL(url!), pid }
}

export interface QueueRun {
  readonly queries: number
  readonly seconds: number
  readonly queriesPerSec: number
  readonly peakInFlight?: number
  readonly serverRssMb: ReadonlyArray<number>
}

/**
 * Creates `count` Queries through the replicas (round robin) and waits until every one is done.
 */
export const queueRun = async (db: pg.Pool, replicas: ReadonlyArray<{ url: URL; pid: number }>, ns: string, count: number, label: string, peak?: () => number): Promise<QueueRun> => {
  const started = performance.now()
  await createAgent(replicas[0]!.url, ns)
  await measure(count, 100, (i) => http(replicas[i % replicas.length]!.url, "POST", path(ns), query(ns, `q-${i}`)).then(expectStatus(201)), `${label}: create`)
  return drainQueue(db, replicas, ns, count, label, started, peak)
}

/**
 * Waits until the queue is empty (every Query reached a terminal phase) and checks that all
 * `count` Queries of `ns` are done, sampling the worker replicas' memory on the way.
 */
export const drainQueue = async (db: pg.Pool, workers: ReadonlyArray<{ pid: number }>, ns: string, count: number, label: string, started: number, peak?: () => number): Promise<QueueRun> => {
  const rss = workers.map(() => 0)
  const sample = () => workers.forEach((r, i) => (rss[i] = Math.max(rss[i]!, rssMb(r.pid))))
  while (true) {
    sample()
    const left = Number((await db.query("SELECT count(*)::int AS n FROM ark_query_queue")).rows[0].n)
    process.stderr.write(`\r  ${label}: ${left} queued or running${peak ? `, ${peak()} in flight at most` : ""}   `)
    if (left === 0) break
    await new Promise((r) => setTimeout(r, 200))
  }
  const seconds = (performance.now() - started) / 1000
  const done = Number((await db.query(`SELECT count(*)::int AS n FROM ark_objects WHERE resource = 'ark.mckinsey.com/queries' AND superseded_rv IS NULL AND namespace = $1 AND data LIKE '%"phase":"done"%'`, [ns])).rows[0].n)
  process.stderr.write(`\r  ${label}: ${done}/${count} done in ${seconds.toFixed(1)} s\n`)
  if (done !== count) throw new Error(`${label}: only ${done} of ${count} Queries are done`)
  return { queries: count, seconds, queriesPerSec: count / seconds, ...(peak ? { peakInFlight: peak() } : {}), serverRssMb: rss.map(Math.round) }
}

/** A scripted engine that answers after `ms`, counting the calls open at once. */
export const holdingEngine = async (ms: number) => {
  let open = 0
  let peak = 0
  const engine = await startScriptedEngine(() => {
    open++
    peak = Math.max(peak, open)
    setTimeout(() => open--, ms)
    return { delayMs: ms, then: `done after ${ms} ms` }
  })
  return { ...engine, peak: () => peak }
}


export const rssMb = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024
}
