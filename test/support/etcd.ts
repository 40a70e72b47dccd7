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
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { get as httpGet } from "node:http"
import { get as httpsGet } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as EtcdClient from "../../src/layers/etcd/EtcdClient.ts"
import * as EtcdStorage from "../../src/layers/etcd/EtcdStorage.ts"
import type { Storage } from "../../src/services/Storage.ts"
import type { Issued } from "./certs.ts"
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

const healthy = (endpoint: string, tls: EtcdTls | undefined) =>
  new Promise<boolean>((resolve) => {
    const get = tls === undefined ? httpGet : httpsGet
    const req = get(`${endpoint}/health`, tls === undefined ? {} : { ca: tls.ca, cert: tls.client.certPem, key: tls.client.keyPem }, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString()))
      res.on("end", () => {
        try {
          resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: string }).health === "true")
        } catch {
          resolve(false)
        }
      })
    })
    req.on("error", () => resolve(false))
  })

/** A member that serves clients over TLS and accepts only clients with a certificate from `ca`. */
export interface EtcdTls {
  readonly ca: string
  readonly server: Issued
  /** A client certificate the health check uses. */
  readonly client: Issued
}

export interface EtcdOptions {
  /** Data on a memory file system when the machine has one (default true). */
  readonly memory?: boolean
  readonly tls?: EtcdTls
}

export const startEtcd = async (options: EtcdOptions = {}): Promise<RunningEtcd> => {
  const memory = (options.memory ?? true) && existsSync("/dev/shm")
  const dir = mkdtempSync(join(memory ? "/dev/shm" : tmpdir(), "ark-test-etcd-"))
  const clientPort = await freePort()
  const peerPort = await freePort()
  const tls = options.tls
  const endpoint = `${tls === undefined ? "http" : "https"}://127.0.0.1:${clientPort}`
  const tlsFlags = tls === undefined ? [] : (() => {
    const file = (name: string, pem: string) => {
      writeFileSync(join(dir, name), pem)
      return join(dir, name)
    }
    return [
      "--cert-file", file("server.crt", tls.server.certPem),
      "--key-file", file("server.key", tls.server.keyPem),
      "--trusted-ca-file", file("ca.crt", tls.ca),
      "--client-cert-auth"
    ]
  })()
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
      "--log-level", "warn",
      ...tlsFlags
    ], { stdio: ["ignore", "ignore", "pipe"] })
    child.stderr!.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000)
    })
    const deadline = Date.now() + 20_000
    while (!(await healthy(endpoint, tls))) {
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
