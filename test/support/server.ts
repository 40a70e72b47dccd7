/**
 * Runs the real `ark serve` as a child process on a fresh database of the test run's PostgreSQL
 * (or on an etcd), on 127.0.0.1 with a free port, and stops it (by its pid) when done.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startEtcd } from "./etcd.ts"
import { freshDatabase } from "./pg.ts"

export interface RunningServer {
  readonly url: string
  /** The database the server uses (undefined for the embedded one and for etcd). */
  readonly databaseUrl: string | undefined
  readonly kubeconfig: string
  readonly dataDir: string
  readonly process: ChildProcess
  /** Everything the server printed so far (e.g. the other modules' `ark: <module> serving <url>` lines). */
  readonly output: () => string
  readonly stop: () => Promise<void>
}

const root = join(import.meta.dirname, "..", "..")

export interface ServerOptions {
  readonly insecureHttp?: boolean
  /** Run on the embedded PostgreSQL in the data directory instead of a fresh database of the test run's server. */
  readonly embedded?: boolean
  /** Reuse this data directory, and leave it in place on stop. */
  readonly dataDir?: string
  /** Serve this database instead of a fresh one (another replica of the same store). */
  readonly databaseUrl?: string
  /** Serve from the etcd at this client URL (`--storage etcd`) instead of PostgreSQL. */
  readonly etcdEndpoint?: string
  /** Keep Ark objects in the kube-apiserver this kubeconfig names (`--storage kubernetes`). */
  readonly kubeconfig?: string
  /** A fixed port (a restarted replica keeps its address). */
  readonly port?: number
  readonly env?: Record<string, string>
  /** --modules; tests of the API alone run without query workers (default "apiserver"). */
  readonly modules?: string
  readonly args?: ReadonlyArray<string>
}

/** Tests run standalone even inside a pod: ark serve would otherwise delegate auth to the pod's cluster. */
const outsideCluster = { KUBERNETES_SERVICE_HOST: "" }

export const startServer = async (options: ServerOptions = {}): Promise<RunningServer> => {
  const databaseUrl = options.embedded || options.etcdEndpoint !== undefined || options.kubeconfig !== undefined
    ? undefined
    : options.databaseUrl ?? await Effect.runPromise(freshDatabase("api"))
  const storage = options.etcdEndpoint !== undefined
    ? ["--storage", "etcd", "--etcd-endpoints", options.etcdEndpoint]
    : options.kubeconfig !== undefined
    ? ["--storage", "kubernetes", "--kubeconfig", options.kubeconfig]
    : databaseUrl === undefined
    ? ["--storage", "embedded"]
    : ["--storage", "postgresql", "--postgres-url", databaseUrl]
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "ark-serve-"))
  const child = spawn(process.execPath, [
    join(root, "src/programs/main.ts"),
    "serve",
    ...storage,
    "--data-dir",
    dataDir,
    "--port",
    String(options.port ?? 0),
    "--pool-size",
    "10",
    "--modules",
    options.modules ?? "apiserver",
    ...(options.insecureHttp ? ["--insecure-http"] : []),
    ...(options.args ?? [])
  ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...outsideCluster, ...options.env } })
  let output = ""
  const ready = await new Promise<{ url: string; kubeconfig: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ark serve did not start:\n${output}`)), 30_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const m = /ark: serving (\S+) \(kubeconfig: (.+)\)/.exec(output)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ url: m[1]!, kubeconfig: m[2]! })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`ark serve exited with ${code}:\n${output}`))
    })
  })
  // What the server logs after start-up (warnings, unexpected failures) shows in the test output.
  child.stderr!.on("data", (chunk: Buffer) => process.stderr.write(`[ark serve ${child.pid}] ${chunk.toString()}`))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      await exited
    }
    if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
  }
  return { ...ready, databaseUrl, dataDir, process: child, output: () => output, stop }
}

/** `ark serve` on either store; on etcd, a member started for it and stopped with it. */
export const startServerOn = async (storage: "postgresql" | "etcd", options: ServerOptions = {}): Promise<RunningServer> => {
  if (storage === "postgresql") return startServer(options)
  const etcd = await startEtcd()
  try {
    const server = await startServer({ ...options, etcdEndpoint: etcd.endpoint })
    return { ...server, stop: () => server.stop().finally(etcd.stop) }
  } catch (e) {
    await etcd.stop()
    throw e
  }
}
