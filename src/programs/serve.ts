/**
 * `ark serve`: the Ark API server over PostgreSQL (embedded or external) or etcd. HTTPS with a
 * generated CA, server and admin client certificates (and a kubeconfig for them) unless
 * --insecure-http.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Config, Console, Duration, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { createServer as createHttpServer } from "node:http"
import type { Server } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { isIP } from "node:net"
import { join, resolve } from "node:path"
import { apiApp } from "../layers/http/ApiServer.ts"
import { ensurePki, writeInsecureKubeconfig, writeKubeconfig } from "../layers/Pki.ts"
import * as A2AEngine from "../layers/A2AEngine.ts"
import * as DemoEngine from "../layers/DemoEngine.ts"
import * as EtcdStorage from "../layers/EtcdStorage.ts"
import * as HistoryCompactor from "../layers/HistoryCompactor.ts"
import * as MemoryQueryQueue from "../layers/MemoryQueryQueue.ts"
import * as PgQueryQueue from "../layers/PgQueryQueue.ts"
import * as PgRemoteCommits from "../layers/PgRemoteCommits.ts"
import * as QueryWorkers from "../layers/QueryWorkers.ts"
import * as PostgresStorage from "../layers/PostgresStorage.ts"
import * as WatchHubLive from "../layers/WatchHubLive.ts"
import type { Commits } from "../services/Commits.ts"
import type { QueryQueue } from "../services/QueryQueue.ts"
import type { Storage } from "../services/Storage.ts"
import type { WatchHub } from "../services/WatchHub.ts"
import type { DatabaseOptions } from "./database.ts"
import { databaseLayer, etcdLayer } from "./database.ts"

export interface ServeOptions extends DatabaseOptions {
  readonly host: string
  readonly port: number
  readonly insecureHttp: boolean
  readonly modules: string
  readonly queryConcurrency: number
  readonly completionsUrl: string
  readonly demoEngine: boolean
}

const knownModules = ["apiserver", "query-workers"] as const

export class UnknownModule extends Error {
  constructor(module: string) {
    super(`unknown module "${module}" in --modules: known modules are ${knownModules.join(", ")}`)
  }
}

export class UnsafeInsecureBind extends Error {
  override readonly message = "--insecure-http serves without authentication and binds loopback addresses only (127.0.0.1, ::1, localhost)"
}

const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host)

const urlHost = (host: string) => isIP(host) === 6 ? `[${host}]` : host

/** The listening server: plain HTTP, or HTTPS that asks for (but does not demand) a client certificate. */
const httpServer = (o: ServeOptions) =>
  Effect.gen(function*() {
    if (o.insecureHttp) {
      if (!isLoopback(o.host)) return yield* Effect.die(new UnsafeInsecureBind())
      return { evaluate: () => createHttpServer(), pki: undefined }
    }
    const hosts = [...new Set(["localhost", "127.0.0.1", o.host])].filter((h) => h !== "0.0.0.0" && h !== "::")
    const pki = yield* ensurePki({ dataDir: o.dataDir, hosts })
    const evaluate = () =>
      createHttpsServer({
        cert: pki.serverCertPem,
        key: pki.serverKeyPem,
        ca: pki.caCertPem,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: "TLSv1.2"
      }) as unknown as Server
    return { evaluate, pki }
  })

/**
 * The store and what is built on it: storage, the watch hub, and the query queue. PostgreSQL
 * keeps the queue in a table shared by every replica; etcd has none, so its workers use the
 * in-process queue fed by the watch hub (run the query-workers module on one replica).
 */
const storeLayers = (o: ServeOptions): {
  readonly core: Layer.Layer<Storage | Commits | WatchHub, unknown>
  readonly queue: Layer.Layer<QueryQueue, unknown>
} => {
  if (o.storage === "etcd") {
    const core = WatchHubLive.layer.pipe(Layer.provideMerge(EtcdStorage.layer), Layer.provide(etcdLayer(o)))
    return { core, queue: MemoryQueryQueue.layer.pipe(Layer.provide(core)) }
  }
  const data = PostgresStorage.layer.pipe(Layer.provideMerge(databaseLayer(o)))
  const core = WatchHubLive.layer.pipe(Layer.provide(PgRemoteCommits.layer), Layer.provideMerge(data))
  return { core, queue: PgQueryQueue.layer.pipe(Layer.provide(core)) }
}

/** The query workers, with the engine they default to: --completions-url, or the demo engine. */
const workersLayer = (o: ServeOptions, queue: Layer.Layer<QueryQueue, unknown>) =>
  Layer.unwrap(Effect.gen(function*() {
    const defaultEngineUrl = o.completionsUrl !== ""
      ? o.completionsUrl
      : o.demoEngine
      ? (yield* DemoEngine.start).url
      : undefined
    const lease = yield* Config.Duration("ARK_QUERY_LEASE").pipe(Config.withDefault(Duration.seconds(30)))
    const maxAttempts = yield* Config.Int("ARK_QUERY_MAX_ATTEMPTS").pipe(Config.withDefault(5))
    const retryBase = yield* Config.Duration("ARK_QUERY_RETRY_BASE").pipe(Config.withDefault(Duration.millis(500)))
    const ttlSweep = yield* Config.Duration("ARK_QUERY_TTL_SWEEP").pipe(Config.withDefault(Duration.seconds(30)))
    return QueryWorkers.layer({ concurrency: o.queryConcurrency, defaultEngineUrl, lease, maxAttempts, retryBase, ttlSweep }).pipe(
      Layer.provide([queue, A2AEngine.layer])
    )
  }))

export const serve = (o: ServeOptions) =>
  Effect.gen(function*() {
    const selected = new Set(o.modules.split(",").map((m) => m.trim()).filter((m) => m !== ""))
    for (const m of selected) {
      if (!(knownModules as ReadonlyArray<string>).includes(m)) return yield* Effect.die(new UnknownModule(m))
    }
    const { evaluate, pki } = yield* httpServer(o)
    const listening = NodeHttpServer.layer(evaluate, { port: o.port, host: o.host })
    const { core, queue } = storeLayers(o)
    const workers = selected.has("query-workers") ? workersLayer(o, queue) : Layer.empty
    const compaction = yield* Config.Duration("ARK_COMPACTION_INTERVAL").pipe(Config.withDefault(Duration.minutes(5)))
    const storage = Layer.mergeAll(
      core,
      workers.pipe(Layer.provide(core)),
      HistoryCompactor.layer(compaction).pipe(Layer.provide(core))
    )
    if (!selected.has("apiserver")) {
      return yield* Layer.launch(Layer.effectDiscard(Console.log(`ark: running ${[...selected].join(", ")}`)).pipe(Layer.provideMerge(storage)))
    }
    const app = Layer.unwrap(Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const address = server.address
      const port = address._tag === "UnixPathAddress" ? o.port : address.port
      const base = `${pki === undefined ? "http" : "https"}://${urlHost(o.host === "0.0.0.0" ? "127.0.0.1" : o.host)}:${port}`
      const kubeconfig = resolve(join(o.dataDir, "kubeconfig"))
      yield* pki === undefined
        ? writeInsecureKubeconfig({ file: kubeconfig, server: base })
        : writeKubeconfig({ file: kubeconfig, server: base, pki })
      yield* Console.log(`ark: serving ${base} (kubeconfig: ${kubeconfig})`)
      return HttpServer.serve(apiApp({ requireClientCertificate: pki !== undefined, serverAddress: `${o.host}:${port}` }))
    }))
    return yield* Layer.launch(app.pipe(Layer.provide(Layer.merge(listening, storage))))
  })
