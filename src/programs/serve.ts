/**
 * `ark serve`: the Ark API server over PostgreSQL (embedded or external) or etcd. HTTPS with a
 * generated CA, server and admin client certificates (and a kubeconfig for them) unless
 * --insecure-http.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Config, Console, Duration, Effect, Layer } from "effect"
import { HttpServer, HttpServerResponse } from "effect/http"
import { createServer as createHttpServer } from "node:http"
import type { Server } from "node:http"
import { readFileSync } from "node:fs"
import { createServer as createHttpsServer } from "node:https"
import { isIP } from "node:net"
import { join, resolve } from "node:path"
import { apiApp } from "../layers/http/ApiServer.ts"
import { holdEarlyRequests } from "../layers/http/earlyRequests.ts"
import { withObservability } from "../layers/http/observability.ts"
import { notFoundPath } from "../layers/http/status.ts"
import { webhookApp } from "../layers/http/webhook.ts"
import * as InstrumentedStorage from "../layers/storage/InstrumentedStorage.ts"
import { ensurePki, writeInsecureKubeconfig, writeKubeconfig } from "../layers/Pki.ts"
import { liveContext, maxHeaderBytes, reloadServing, secureContext } from "../layers/Tls.ts"
import * as EtcdStorage from "../layers/etcd/EtcdStorage.ts"
import * as Controller from "../layers/Controller.ts"
import * as MemoryQueryQueue from "../layers/MemoryQueryQueue.ts"
import * as PgQueryQueue from "../layers/postgres/PgQueryQueue.ts"
import * as PgReadReplicas from "../layers/postgres/PgReadReplicas.ts"
import * as PgRemoteCommits from "../layers/postgres/PgRemoteCommits.ts"
import * as QueryWorkers from "../layers/QueryWorkers.ts"
import * as PostgresStorage from "../layers/postgres/PostgresStorage.ts"
import * as WatchHubLive from "../layers/WatchHubLive.ts"
import type { Commits } from "../services/Commits.ts"
import type { QueryQueue } from "../services/QueryQueue.ts"
import * as Liveness from "../services/Liveness.ts"
import * as Shutdown from "../services/Shutdown.ts"
import type { Storage } from "../services/Storage.ts"
import type { WatchHub } from "../services/WatchHub.ts"
import type { DatabaseOptions } from "./database.ts"
import { databaseLayer, etcdLayer } from "./database.ts"
import type { LeaderElection } from "../services/LeaderElection.ts"
import type { LeadershipOptions } from "./leadership.ts"
import { electionLayer, electionMode, leaderOnly } from "./leadership.ts"
import { inModule } from "./logging.ts"
import type { SecurityFlagValues } from "./security.ts"
import { securitySetup } from "./security.ts"

export interface ServeOptions extends DatabaseOptions, LeadershipOptions, SecurityFlagValues {
  readonly host: string
  readonly port: number
  readonly insecureHttp: boolean
  readonly modules: string
  readonly queryConcurrency: number
  readonly completionsUrl: string
  readonly demoEngine: boolean
  readonly demoFallback: boolean
  readonly engineKubeconfig: string
  readonly webhookPort: number
  /** tls.crt and tls.key for the webhook server; empty: the server certificate of the data directory's PKI. */
  readonly webhookCertDir: string
  readonly metricsPort: number
  /** PostgreSQL streaming replicas for reads that allow an older state. */
  readonly postgresReadUrls: ReadonlyArray<string>
  readonly postgresReadMaxLag: Duration.Duration
}

const knownModules = ["apiserver", "controller", "query-workers", "webhook", "metrics"] as const

export class UnknownModule extends Error {
  constructor(module: string) {
    super(`unknown module "${module}" in --modules: known modules are ${knownModules.join(", ")}`)
  }
}

export class UnsafeInsecureBind extends Error {
  override readonly message = "--insecure-http serves without authentication and binds loopback addresses only (127.0.0.1, ::1, localhost)"
}

export class ReplicasNeedPostgres extends Error {
  override readonly message = "--postgres-read-url names PostgreSQL replicas: it needs --storage postgresql or embedded"
}

const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host)

const urlHost = (host: string) => isIP(host) === 6 ? `[${host}]` : host

/** Names the server certificate is for. */
const pkiHosts = (o: ServeOptions) => [...new Set(["localhost", "127.0.0.1", o.host])].filter((h) => h !== "0.0.0.0" && h !== "::")

/**
 * The listening server: plain HTTP, or HTTPS that asks for (but does not demand) a client
 * certificate (src/programs/security.ts decides what it proves), with a serving certificate
 * from --tls-cert-file that is reloaded when the file changes.
 */
const httpServer = (o: ServeOptions) =>
  Effect.gen(function*() {
    if (o.insecureHttp) {
      if (!isLoopback(o.host)) return yield* Effect.die(new UnsafeInsecureBind())
      const security = yield* securitySetup(o, undefined)
      return { evaluate: () => holdEarlyRequests(createHttpServer({ maxHeaderSize: maxHeaderBytes })), pki: undefined, security, reload: Layer.empty }
    }
    const pki = yield* ensurePki({ dataDir: o.dataDir, hosts: pkiHosts(o) })
    const security = yield* securitySetup(o, pki)
    const pair = security.serving?.pair ?? { cert: pki.serverCertPem, key: pki.serverKeyPem }
    const server = createHttpsServer({
      ...secureContext(pair, security.clientCas),
      requestCert: true,
      rejectUnauthorized: false,
      maxHeaderSize: maxHeaderBytes,
      // A body that never finishes: our 504 answers at the request timeout, Node closes the connection later.
      requestTimeout: 2 * Duration.toMillis(o.requestTimeout)
    })
    const files = security.serving?.files
    const live = liveContext(server, pair, security.clientCas)
    const watchTrust = security.watchTrust
    const reload = Layer.mergeAll(
      files === undefined ? Layer.empty : Layer.effectDiscard(Effect.forkScoped(reloadServing(live, files))),
      watchTrust === undefined ? Layer.empty : Layer.effectDiscard(Effect.forkScoped(watchTrust(live.askFor)))
    )
    return { evaluate: () => holdEarlyRequests(server as unknown as Server), pki, security, reload }
  })

/**
 * The store and what is built on it: storage, the watch hub, the query queue and the leader
 * election. PostgreSQL keeps the queue in a table shared by every replica; etcd has none, so its
 * workers use the in-process queue fed by the watch hub, on the leader only (see serve).
 */
const storeLayers = (o: ServeOptions): {
  readonly core: Layer.Layer<Storage | Commits | WatchHub, unknown>
  readonly queue: Layer.Layer<QueryQueue, unknown>
  readonly leader: Layer.Layer<LeaderElection, unknown>
} => {
  if (o.storage === "etcd") {
    const core = WatchHubLive.layer.pipe(Layer.provideMerge(InstrumentedStorage.layer.pipe(Layer.provideMerge(EtcdStorage.layer))), Layer.provide(etcdLayer(o)))
    return { core, queue: MemoryQueryQueue.layer.pipe(Layer.provide(core)), leader: electionLayer(o, undefined) }
  }
  // Reads that allow an older state go to the replicas; writes, consistent reads and watches stay on the primary.
  const replicas = o.postgresReadUrls.length === 0
    ? Layer.empty
    : PgReadReplicas.layer({ urls: o.postgresReadUrls, poolSize: o.poolSize, maxLag: o.postgresReadMaxLag })
  const data = InstrumentedStorage.layer.pipe(Layer.provideMerge(PostgresStorage.layer), Layer.provide(replicas), Layer.provideMerge(databaseLayer(o)))
  const core = WatchHubLive.layer.pipe(Layer.provide(PgRemoteCommits.layer), Layer.provideMerge(data))
  return { core, queue: PgQueryQueue.layer.pipe(Layer.provide(core)), leader: electionLayer(o, data) }
}

/** The leader-only controller (reconcilers, Query TTL, history compaction), with ARK_QUERY_TTL_SWEEP and ARK_COMPACTION_INTERVAL. */
const controllerLayer = Layer.unwrap(Effect.gen(function*() {
  const ttlSweep = yield* Config.Duration("ARK_QUERY_TTL_SWEEP").pipe(Config.withDefault(Duration.seconds(30)))
  const compaction = yield* Config.Duration("ARK_COMPACTION_INTERVAL").pipe(Config.withDefault(Duration.minutes(5)))
  return Controller.layer({ ttlSweep, compaction })
}))

/** How long a stopping replica gives in-flight requests and running Queries (each) before cutting them. */
const shutdownGrace = Config.Duration("ARK_SHUTDOWN_GRACE").pipe(Config.withDefault(Duration.seconds(15)))

/** In a pod, the embedded engine reads the cluster (kube-apiserver serves Secrets and proxies Ark's group). */
const inPod = () => (process.env["KUBERNETES_SERVICE_HOST"] ?? "") !== ""

/**
 * The query workers, with the engine they default to: --completions-url, the demo engine, or
 * (by default) the completions engine embedded in this process. The engine, and the workers
 * for Query parameters from ConfigMaps and Secrets, read through --engine-kubeconfig (in a pod:
 * the cluster; else this server's own kubeconfig). The engines
 * and the A2A SDK are loaded here, so replicas without workers do not carry them.
 */
const workersLayer = (o: ServeOptions, queue: Layer.Layer<QueryQueue, unknown>) =>
  Layer.unwrap(Effect.gen(function*() {
    const [A2AEngine, DemoEngine, EmbeddedEngine, KubeResourceReader, Engine] = yield* Effect.promise(() =>
      Promise.all([
        import("../layers/A2AEngine.ts"),
        import("../layers/DemoEngine.ts"),
        import("../layers/engine/EmbeddedEngine.ts"),
        import("../layers/engine/KubeResourceReader.ts"),
        import("./engine.ts")
      ])
    )
    const embedded = o.completionsUrl === "" && !o.demoEngine
    const demoUrl = o.demoEngine || (embedded && o.demoFallback) ? (yield* DemoEngine.start).url : undefined
    const defaultEngineUrl = o.completionsUrl !== "" ? o.completionsUrl : embedded ? EmbeddedEngine.EMBEDDED_ENGINE_URL : demoUrl
    const kubeconfig = o.engineKubeconfig !== "" ? o.engineKubeconfig : inPod() ? "" : resolve(join(o.dataDir, "kubeconfig"))
    const reader = KubeResourceReader.layer(kubeconfig)
    const engine = embedded
      ? EmbeddedEngine.layer(demoUrl !== undefined ? { demoFallbackUrl: demoUrl } : {}).pipe(Layer.provide(Engine.executorLayer.pipe(Layer.provide([reader, A2AEngine.layer]))))
      : A2AEngine.layer
    const lease = yield* Config.Duration("ARK_QUERY_LEASE").pipe(Config.withDefault(Duration.seconds(30)))
    const maxAttempts = yield* Config.Int("ARK_QUERY_MAX_ATTEMPTS").pipe(Config.withDefault(5))
    const retryBase = yield* Config.Duration("ARK_QUERY_RETRY_BASE").pipe(Config.withDefault(Duration.millis(500)))
    const drainTimeout = yield* shutdownGrace
    return QueryWorkers.layer({ concurrency: o.queryConcurrency, defaultEngineUrl, lease, maxAttempts, retryBase, drainTimeout }).pipe(
      Layer.provide([queue, engine, reader])
    )
  }))

/** Serves `app` on a listening server and prints where (port 0 picks one), as `ark: <what> serving <url>`. */
const serveOn = <E, R>(
  what: string,
  scheme: "http" | "https",
  host: string,
  listening: Layer.Layer<HttpServer.HttpServer, E>,
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>
) =>
  Layer.unwrap(Effect.gen(function*() {
    const address = (yield* HttpServer.HttpServer).address
    const port = address._tag === "UnixPathAddress" ? 0 : address.port
    yield* Console.log(`ark: ${what} serving ${scheme}://${urlHost(host === "0.0.0.0" ? "127.0.0.1" : host)}:${port}`)
    return HttpServer.serve(app)
  })).pipe(Layer.provide(listening))

/** The webhook module: AdmissionReview over HTTPS, with --webhook-cert-dir's or the generated server certificate. */
const webhookLayer = (o: ServeOptions, grace: Duration.Duration) =>
  Layer.unwrap(Effect.gen(function*() {
    const tls = o.webhookCertDir !== ""
      ? yield* Effect.try({
        try: () => ({ cert: readFileSync(join(o.webhookCertDir, "tls.crt")), key: readFileSync(join(o.webhookCertDir, "tls.key")) }),
        catch: (e) => new Error(`--webhook-cert-dir: ${e instanceof Error ? e.message : String(e)}`)
      })
      : yield* Effect.map(ensurePki({ dataDir: o.dataDir, hosts: pkiHosts(o) }), (pki) => ({ cert: pki.serverCertPem, key: pki.serverKeyPem }))
    const listening = NodeHttpServer.layer(
      () => holdEarlyRequests(createHttpsServer({ ...tls, minVersion: "TLSv1.2" }) as unknown as Server),
      { port: o.webhookPort, host: o.host, gracefulShutdownTimeout: grace }
    )
    return serveOn("webhook", "https", o.host, listening, withObservability(webhookApp, { metrics: "open" }))
  }))

/** The metrics module: /metrics and health on plain HTTP, for replicas that serve no API (or a scraper without a client certificate). */
const metricsLayer = (o: ServeOptions, grace: Duration.Duration) =>
  serveOn(
    "metrics",
    "http",
    o.host,
    NodeHttpServer.layer(() => holdEarlyRequests(createHttpServer()), { port: o.metricsPort, host: o.host, gracefulShutdownTimeout: grace }),
    withObservability(Effect.succeed(HttpServerResponse.jsonUnsafe(notFoundPath("/"), { status: 404 })), { metrics: "open" })
  )

/**
 * Built last, released first: on SIGTERM the stop signal goes out before any server stops
 * accepting (readiness false, watches end with a last bookmark, workers stop claiming).
 */
const stopFirst = (signal: Shutdown.ShutdownSignal) =>
  Layer.effectDiscard(Effect.addFinalizer(() => Console.log("ark: stopping").pipe(Effect.andThen(signal.begin))))

/**
 * Runs the replica until it is stopped, or until something it depends on fails beyond repair:
 * then /livez fails at once, the replica stops as on SIGTERM, and `ark serve` exits 1 with why.
 */
const untilUnrecoverable = <E, R>(running: Effect.Effect<never, E, R>, signal: Shutdown.ShutdownSignal) => {
  const liveness = Liveness.make()
  return Effect.raceFirst(running, liveness.await).pipe(
    Effect.provideService(Shutdown.Shutdown, signal),
    Effect.provideService(Liveness.Liveness, liveness)
  )
}

export const serve = (o: ServeOptions) =>
  Effect.gen(function*() {
    const selected = new Set(o.modules.split(",").map((m) => m.trim()).filter((m) => m !== ""))
    for (const m of selected) {
      if (!(knownModules as ReadonlyArray<string>).includes(m)) return yield* Effect.die(new UnknownModule(m))
    }
    if (o.storage === "etcd" && o.postgresReadUrls.length > 0) return yield* Effect.die(new ReplicasNeedPostgres())
    const { evaluate, pki, security, reload } = yield* httpServer(o)
    const grace = yield* shutdownGrace
    const signal = Shutdown.make()
    const listening = NodeHttpServer.layer(evaluate, { port: o.port, host: o.host, gracefulShutdownTimeout: grace })
    const { core, queue, leader } = storeLayers(o)
    // etcd's in-process queue lives on one replica: the leader's, unless every replica leads (none).
    const workers = !selected.has("query-workers")
      ? Layer.empty
      : o.storage === "etcd" && electionMode(o) !== "none"
      ? leaderOnly("query workers", workersLayer(o, queue).pipe(Layer.provide(core))).pipe(Layer.provide(leader))
      : workersLayer(o, queue)
    const storage = Layer.mergeAll(
      core,
      workers.pipe(Layer.provide(core), inModule("query-workers")),
      selected.has("controller") ? controllerLayer.pipe(Layer.provide([core, leader]), inModule("controller")) : Layer.empty
    )
    const servers = Layer.mergeAll(
      selected.has("webhook") ? webhookLayer(o, grace).pipe(inModule("webhook")) : Layer.empty,
      selected.has("metrics") ? metricsLayer(o, grace).pipe(inModule("metrics")) : Layer.empty
    )
    if (!selected.has("apiserver")) {
      const running = Layer.effectDiscard(Console.log(`ark: running ${[...selected].join(", ")}`))
      return yield* untilUnrecoverable(Layer.launch(stopFirst(signal).pipe(Layer.provide(Layer.merge(running, servers)), Layer.provide(storage))), signal)
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
      if (pki !== undefined && !security.enforced) yield* Console.log("ark: --auth off: anyone who can connect may do anything")
      const api = apiApp({ security: security.limits, serverAddress: `${o.host}:${port}` })
      // Provided once for the server, so the token and authorization caches live as long as it does.
      const serving = HttpServer.serve(withObservability(api, { metrics: "app" })).pipe(Layer.provide(security.layer))
      return Layer.merge(serving, reload)
    }))
    return yield* untilUnrecoverable(
      Layer.launch(stopFirst(signal).pipe(Layer.provide(Layer.merge(app.pipe(Layer.provide(listening), inModule("apiserver")), servers)), Layer.provide(storage))),
      signal
    )
  })
