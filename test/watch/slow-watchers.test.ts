/**
 * A watcher that never reads, of large objects: the replica ends it once its backlog passes the
 * byte bound (ARK_WATCH_BUFFER_BYTES, 16 MiB), closes its connection, frees what it held (the
 * replica's RSS comes back near where it was), and counts it in ark_watch_events_dropped_total;
 * a watcher that keeps up sees every event and stays.
 */
import { readFileSync } from "node:fs"
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { caller } from "../support/http.ts"
import { parsePrometheus } from "../support/prometheus.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { openWatch } from "../support/watch.ts"

let server: RunningServer
const call = caller(() => server.url)

const agents = "/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents"
const rssMiB = () => {
  const line = readFileSync(`/proc/${server.process.pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!
  return Number(/(\d+)/.exec(line)![1]) / 1024
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A watch whose client sends the request and then never reads a byte. */
const stalledWatch = (url: string) =>
  new Promise<{ closed: Promise<void>; resume: () => void }>((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${agents}?watch=1 HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`)
      socket.pause()
      resolve({ closed: new Promise((r) => socket.once("close", () => r())), resume: () => socket.resume() })
    })
    socket.once("error", reject)
    socket.on("error", () => {})
  })

const big = (name: string) => ({ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name }, spec: { prompt: "x".repeat(500_000) } })

/** A new 500 kB version of the object: the state the replica keeps stays the same size. */
const rewrite = async (name: string, i: number) => {
  const answer = await call("PATCH", `${agents}/${name}`, { type: "application/merge-patch+json", body: { metadata: { annotations: { n: String(i) } } } })
  expect(answer.status).toBe(200)
}

const dropped = async () => parsePrometheus((await call("GET", "/metrics")).text).value("ark_watch_events_dropped_total", { resource: "agents" }) ?? 0

describe("a watcher that does not read", () => {
  beforeAll(async () => {
    server = await startServer({ insecureHttp: true })
  })
  afterAll(() => server?.stop())

  it("is ended at its byte bound with its connection closed, and its memory is returned; a reading watcher is unaffected", async () => {
    const created = await call("POST", agents, { body: big("big") })
    expect(created.status).toBe(201)
    const write = (i: number) => rewrite("big", i)
    const writes = 150
    const healthy = await openWatch(server.url, `${agents}?watch=1&resourceVersion=${created.json.metadata.resourceVersion}`)
    // The baseline: the same writes with the reading watcher alone (the heap grows to what they need).
    for (let i = 0; i < writes; i++) await write(i)
    await healthy.waitFor((frames) => frames.length === writes, 60_000)
    await sleep(3000)
    const baseline = rssMiB()
    const droppedBefore = await dropped()
    const stalled = await stalledWatch(server.url)
    for (let i = writes; i < 2 * writes; i++) await write(i)
    // The reading watcher got every one of them.
    await healthy.waitFor((frames) => frames.filter((f) => f.type === "MODIFIED").length === 2 * writes, 60_000)
    expect(healthy.frames.every((f) => f.type === "MODIFIED")).toBe(true)
    // The stalled one was ended and counted; its connection is closed (seen once the client reads again).
    expect(await dropped()).toBe(droppedBefore + 1)
    stalled.resume()
    const closed = await Promise.race([stalled.closed.then(() => true), sleep(20_000).then(() => false)])
    expect(closed).toBe(true)
    // Freed: within 64 MiB of the baseline once the writes are over (75 MB went through, which
    // the stalled watcher pinned before; the backlog it may pin now is 16 MiB).
    // V8 returns memory when it collects, which a loaded machine may put off: the replica gets up
    // to 30 s of small requests (allocation drives collection) to come back under the bound.
    let after = rssMiB()
    for (const deadline = Date.now() + 30_000; after - baseline >= 64 && Date.now() < deadline; after = rssMiB()) {
      await call("GET", agents)
      await sleep(500)
    }
    console.log(`slow watcher: RSS baseline ${baseline.toFixed(0)} MiB, after ${after.toFixed(0)} MiB`)
    expect(after - baseline).toBeLessThan(64)
    healthy.close()
  }, 180_000)
})

describe("watchers that do not read, together over the total bound", () => {
  beforeAll(async () => {
    server = await startServer({ insecureHttp: true, env: { ARK_WATCH_BUFFER_BYTES: String(256 * 1024 * 1024), ARK_WATCH_BUFFER_TOTAL_BYTES: String(8 * 1024 * 1024) } })
  })
  afterAll(() => server?.stop())

  it("are ended by the total bound alone, each counted and disconnected; a reading watcher is unaffected", async () => {
    const created = await call("POST", agents, { body: big("shared") })
    const healthy = await openWatch(server.url, `${agents}?watch=1&resourceVersion=${created.json.metadata.resourceVersion}`)
    const stalled = [await stalledWatch(server.url), await stalledWatch(server.url)]
    const writes = 60
    for (let i = 0; i < writes; i++) await rewrite("shared", i)
    await healthy.waitFor((frames) => frames.length === writes, 60_000)
    // 30 MB for each stalled one, within a per-watcher bound of 256 MiB: only the total ends them.
    expect(await dropped()).toBe(2)
    for (const s of stalled) s.resume()
    expect(await Promise.race([Promise.all(stalled.map((s) => s.closed)).then(() => true), sleep(20_000).then(() => false)])).toBe(true)
    healthy.close()
  }, 180_000)
})
