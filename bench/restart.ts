/**
 * A replica restarted with many stored objects and every module on: what its controller's
 * resync costs. `stored` Agents (copies seeded into the table) are reconciled by a first
 * replica until it settles; it is stopped, and a second one started on the same database:
 * time to /readyz, time until it settles (its CPU idle), the CPU seconds it spent, its RSS then
 * (and the first replica's, settled, for comparison).
 */
import type { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type pg from "pg"
import { createAgent, expectStatus, http, path, query, rssMb, startReplica } from "./lib.ts"
import { seedCopies } from "./scale.ts"

export interface RestartRun {
  readonly stored: number
  /** The first replica, settled after reconciling every object: RSS. */
  readonly beforeRssMb: number
  /** The restarted replica: seconds from its start to /readyz 200, and until its CPU is idle. */
  readonly readySeconds: number
  readonly settledSeconds: number
  /** CPU (user + system) the restarted replica used until it settled. */
  readonly cpuSeconds: number
  /** The restarted replica's RSS once settled, and the most it reached on the way. */
  readonly settledRssMb: number
  readonly peakRssMb: number
}

/** CPU seconds a process has used (user + system), from /proc (clock ticks of 1/100 s). */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Waits until the process is idle: under 0.1 CPU seconds in each of three consecutive seconds
 * (at most 15 minutes), sampling its peak RSS on the way.
 */
const settle = async (pid: number) => {
  let quiet = 0
  let peak = 0
  let last = cpuSeconds(pid)
  for (let s = 0; s < 900 && quiet < 3; s++) {
    await sleep(1000)
    const now = cpuSeconds(pid)
    peak = Math.max(peak, rssMb(pid))
    quiet = now - last < 0.1 ? quiet + 1 : 0
    last = now
    process.stderr.write(`\r  restart: ${now.toFixed(1)} CPU s, RSS ${rssMb(pid).toFixed(0)} MB   `)
  }
  return { peak }
}

/** Waits (at most 30 minutes) until `count` Agents of the namespace carry their Available condition. */
const reconciled = async (db: pg.Pool, count: number) => {
  for (let s = 0; s < 1800; s++) {
    const done = Number((await db.query(
      `SELECT count(*)::int AS n FROM ark_objects WHERE resource = 'ark.mckinsey.com/agents' AND namespace = 'restart'
       AND superseded_rv IS NULL AND data LIKE '%"type":"Available"%'`
    )).rows[0].n)
    process.stderr.write(`\r  restart: ${done}/${count} Agents reconciled   `)
    if (done >= count) return
    await sleep(1000)
  }
  throw new Error(`restart: the Agents were not all reconciled in 30 minutes`)
}

const everyModule = (dbUrl: string, dataDir: string) => [
  "--storage", "postgresql", "--postgres-url", dbUrl, "--data-dir", dataDir,
  "--modules", "apiserver,controller,query-workers,webhook,metrics", "--webhook-port", "0", "--metrics-port", "0", "--demo-engine"
]

export const restartRun = async (
  children: Array<ReturnType<typeof spawn>>,
  db: pg.Pool,
  dbUrl: string,
  dir: string,
  stored: number
): Promise<RestartRun> => {
  const first = await startReplica(children, everyModule(dbUrl, join(dir, "restart-1")))
  // Agents: the controller reconciles every one (a Query that is done is left alone).
  await createAgent(first.url, "restart")
  expectStatus(201)(await http(first.url, "POST", path("restart"), query("restart", "template")))
  await seedCopies(db, "restart", "weather-agent", 0, stored, "ark.mckinsey.com/agents")
  // The copies reach the controller by the watch hub's next sweep; the first replica is done
  // when every Agent has its condition (idle CPU alone can be a pause between two attempts).
  await reconciled(db, stored + 1)
  await settle(first.pid)
  const beforeRssMb = Math.round(rssMb(first.pid))
  const child = children.find((c) => c.pid === first.pid)!
  const exited = new Promise((resolve) => child.once("exit", resolve))
  process.kill(first.pid, "SIGTERM")
  await exited
  const started = performance.now()
  const second = await startReplica(children, everyModule(dbUrl, join(dir, "restart-2")))
  while ((await http(second.url, "GET", "/readyz")).status !== 200) await sleep(50)
  const readySeconds = (performance.now() - started) / 1000
  const { peak } = await settle(second.pid)
  // The three quiet seconds are not part of the work.
  const settledSeconds = (performance.now() - started) / 1000 - 3
  const run = {
    stored,
    beforeRssMb,
    readySeconds,
    settledSeconds,
    cpuSeconds: cpuSeconds(second.pid),
    settledRssMb: Math.round(rssMb(second.pid)),
    peakRssMb: Math.round(peak)
  }
  process.stderr.write(`\n  restart with ${stored} stored: ${JSON.stringify(run)}\n`)
  return run
}
