/**
 * A real etcd (Debian's etcd-server, /usr/bin/etcd) for tests: one member on 127.0.0.1 with free
 * ports and a temporary data directory, stopped by its pid. `restart` stops it and starts it
 * again on the same ports and data, as a crashed member comes back.
 *
 * Test members keep their data in memory (/dev/shm) where there is one: etcd fsyncs every commit,
 * and on a machine busy with the rest of the suite that made etcd tests many times slower than
 * their PostgreSQL twins. Benchmarks ask for a member on disk.
 */
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as EtcdClient from "../../src/layers/EtcdClient.ts"
import * as EtcdStorage from "../../src/layers/EtcdStorage.ts"
import type { Storage } from "../../src/services/Storage.ts"
import { freePort } from "./net.ts"

export const etcdBinary = process.env["ARK_TEST_ETCD"] ?? "/usr/bin/etcd"

export interface RunningEtcd {
  /** The client URL, e.g. http://127.0.0.1:23790 */
  readonly endpoint: string
  readonly pid: () => number
  readonly restart: () => Promise<void>
  readonly stop: () => Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const healthy = async (endpoint: string) => {
  try {
    const res = await fetch(`${endpoint}/health`)
    return res.ok && ((await res.json()) as { health?: string }).health === "true"
  } catch {
    return false
  }
}

export interface EtcdOptions {
  /** Data on a memory file system when the machine has one (default true). */
  readonly memory?: boolean
}

export const startEtcd = async (options: EtcdOptions = {}): Promise<RunningEtcd> => {
  const memory = (options.memory ?? true) && existsSync("/dev/shm")
  const dir = mkdtempSync(join(memory ? "/dev/shm" : tmpdir(), "ark-test-etcd-"))
  const clientPort = await freePort()
  const peerPort = await freePort()
  const endpoint = `http://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  let child: ChildProcess
  let output = ""
  const launch = async () => {
    output = ""
    child = spawn(etcdBinary, [
      "--name", "test",
      "--data-dir", join(dir, "data"),
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `test=${peer}`,
      // Objects up to the stores' 1.5 MiB limit fit in one request with their key and marker.
      "--max-request-bytes", "3145728",
      "--logger", "zap",
      "--log-level", "warn"
    ], { stdio: ["ignore", "ignore", "pipe"] })
    child.stderr!.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000)
    })
    const deadline = Date.now() + 20_000
    while (!(await healthy(endpoint))) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}:\n${output}`)
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy:\n${output}`)
      await sleep(50)
    }
  }
  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      process.kill(child.pid!, "SIGTERM")
      await exited
    }
  }
  await launch()
  return {
    endpoint,
    pid: () => child.pid!,
    restart: async () => {
      await halt()
      await launch()
    },
    stop: async () => {
      await halt()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** An etcd for the lifetime of a layer. */
export const etcdServer = Effect.acquireRelease(Effect.promise(() => startEtcd()), (e) => Effect.promise(e.stop))

/** EtcdStorage on a fresh etcd started for it (and stopped with the layer). */
export const testEtcdStorage: Layer.Layer<Storage> = Layer.unwrap(Effect.map(etcdServer, (etcd) =>
  EtcdStorage.layer.pipe(Layer.provide(EtcdClient.layer({ endpoints: [etcd.endpoint] })))
)).pipe(Layer.orDie)

/** Runs an effect that needs Storage against the etcd at `endpoint` (e.g. a running server's). */
export const withEtcdStorage = <A, E>(endpoint: string, effect: Effect.Effect<A, E, Storage>) =>
  Effect.runPromise(effect.pipe(Effect.provide(EtcdStorage.layer.pipe(Layer.provide(EtcdClient.layer({ endpoints: [endpoint] })))), Effect.orDie))
