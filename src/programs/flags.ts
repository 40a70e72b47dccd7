/** Flags of the `ark` command; each falls back to an `ARK_*` environment variable, then a default. */
import { Config, Duration, Option } from "effect"
import { Flag } from "effect/cli"
import { parseGoDuration } from "../domain/duration.ts"

/** A flag that falls back to an `ARK_*` variable, then to a default. */
export const env = <A>(flag: Flag.Flag<A>, config: Config.Config<A>, fallback: A, description: string) =>
  flag.pipe(Flag.withFallbackConfig(config), Flag.withDefault(fallback), Flag.withDescription(description))

/** A flag with a fixed set of values, and its environment variable, from one list of the values. */
export const choice = <const L extends ReadonlyArray<string>>(name: string, variable: string, values: L, fallback: L[number], description: string) =>
  env(Flag.Literals(name, values), Config.Literals(values, variable), fallback, description)

export const storage = choice(
  "storage",
  "ARK_STORAGE",
  ["embedded", "postgresql", "etcd", "kubernetes"],
  "embedded",
  "Where Ark resources live: an embedded PostgreSQL in --data-dir, --postgres-url, etcd at --etcd-endpoints, or kubernetes: a kube-apiserver serving Ark's CRDs (ark crds), reached in cluster, through $KUBECONFIG or --kubeconfig (ARK_STORAGE)"
)

export const kubeconfig = env(
  Flag.String("kubeconfig"),
  Config.String("ARK_KUBECONFIG"),
  "",
  "With --storage kubernetes: the kubeconfig of the kube-apiserver that serves Ark's CRDs; empty: in cluster, or $KUBECONFIG, or ~/.kube/config (ARK_KUBECONFIG)"
)

export const kubeApiQps = env(
  Flag.Int("kube-api-qps"),
  Config.Int("ARK_KUBE_API_QPS"),
  50,
  "With --storage kubernetes: requests per second to kube-apiserver, sustained (client-go's QPS; a 429 is retried after its Retry-After) (ARK_KUBE_API_QPS)"
)

export const kubeApiBurst = env(
  Flag.Int("kube-api-burst"),
  Config.Int("ARK_KUBE_API_BURST"),
  100,
  "With --storage kubernetes: requests to kube-apiserver allowed at once above --kube-api-qps (ARK_KUBE_API_BURST)"
)

export const dataDir = env(
  Flag.String("data-dir"),
  Config.String("ARK_DATA_DIR"),
  ".ark",
  "Directory for the embedded PostgreSQL, certificates and kubeconfig (ARK_DATA_DIR)"
)

export const postgresUrl = env(
  Flag.String("postgres-url"),
  Config.String("ARK_POSTGRES_URL"),
  "",
  "PostgreSQL connection URL, with --storage postgresql (ARK_POSTGRES_URL)"
)

export const etcdEndpoints = env(
  Flag.String("etcd-endpoints"),
  Config.String("ARK_ETCD_ENDPOINTS"),
  "",
  "etcd client URLs, comma-separated, with --storage etcd (ARK_ETCD_ENDPOINTS)"
)

export const etcdCaFile = env(
  Flag.String("etcd-cafile"),
  Config.String("ARK_ETCD_CAFILE"),
  "",
  "CA bundle that signs the etcd members' certificates, for https:// endpoints (ARK_ETCD_CAFILE)"
)

export const etcdCertFile = env(
  Flag.String("etcd-certfile"),
  Config.String("ARK_ETCD_CERTFILE"),
  "",
  "Client certificate for etcd, with --etcd-keyfile, when etcd checks clients (ARK_ETCD_CERTFILE)"
)

export const etcdKeyFile = env(
  Flag.String("etcd-keyfile"),
  Config.String("ARK_ETCD_KEYFILE"),
  "",
  "Private key of --etcd-certfile (ARK_ETCD_KEYFILE)"
)

export const poolSize = env(
  Flag.Int("pool-size"),
  Config.Int("ARK_POOL_SIZE"),
  40,
  "PostgreSQL connections per replica (ARK_POOL_SIZE)"
)

export const host = env(
  Flag.String("host"),
  Config.String("ARK_HOST"),
  "127.0.0.1",
  "Address to listen on (ARK_HOST)"
)

export const port = env(Flag.Int("port"), Config.Int("ARK_PORT"), 6443, "Port to listen on; 0 picks a free one (ARK_PORT)")

export const insecureHttp = env(
  Flag.Boolean("insecure-http"),
  Config.Boolean("ARK_INSECURE_HTTP"),
  false,
  "Serve plain HTTP without authentication, on loopback only: for local tests (ARK_INSECURE_HTTP)"
)

export const modules = env(
  Flag.String("modules"),
  Config.String("ARK_MODULES"),
  "",
  "Modules this replica runs, comma-separated: apiserver, controller (runs on the elected leader), query-workers, webhook, metrics; empty: all of them, except apiserver with --storage kubernetes (kube-apiserver serves the CRDs) (ARK_MODULES)"
)

export const leaderElection = choice(
  "leader-election",
  "ARK_LEADER_ELECTION",
  ["auto", "lease", "postgres", "none"],
  "auto",
  "How replicas elect the one that runs the controller: postgres (advisory lock), lease (coordination.k8s.io/v1 Lease), none (every replica leads); auto: postgres on PostgreSQL, lease on kubernetes, none on etcd (ARK_LEADER_ELECTION)"
)

export const leaderElectionKubeconfig = env(
  Flag.String("leader-election-kubeconfig"),
  Config.String("ARK_LEADER_ELECTION_KUBECONFIG"),
  "",
  "Kubeconfig of the API server holding the Lease, with --leader-election lease; empty: in-cluster or $KUBECONFIG (ARK_LEADER_ELECTION_KUBECONFIG)"
)

export const webhookPort = env(
  Flag.Int("webhook-port"),
  Config.Int("ARK_WEBHOOK_PORT"),
  9443,
  "HTTPS port of the admission webhooks (module webhook); 0 picks a free one (ARK_WEBHOOK_PORT)"
)

export const webhookCertDir = env(
  Flag.String("webhook-cert-dir"),
  Config.String("ARK_WEBHOOK_CERT_DIR"),
  "",
  "Directory with tls.crt and tls.key for the webhook server; default: the generated server certificate in --data-dir (ARK_WEBHOOK_CERT_DIR)"
)

export const metricsPort = env(
  Flag.Int("metrics-port"),
  Config.Int("ARK_METRICS_PORT"),
  9090,
  "Plain-HTTP port of /metrics and the health checks (module metrics); 0 picks a free one (ARK_METRICS_PORT)"
)

export const queryConcurrency = env(
  Flag.Int("query-concurrency"),
  Config.Int("ARK_QUERY_CONCURRENCY"),
  64,
  "Queries a replica's workers run at once (ARK_QUERY_CONCURRENCY)"
)

export const completionsUrl = env(
  Flag.String("completions-url"),
  Config.String("ARK_COMPLETIONS_URL"),
  "",
  "A2A completions engine for targets without an ExecutionEngine (ARK_COMPLETIONS_URL)"
)

export const demoEngine = env(
  Flag.Boolean("demo-engine"),
  Config.Boolean("ARK_DEMO_ENGINE"),
  false,
  "Run the built-in demo completions engine and use it when no --completions-url is given (ARK_DEMO_ENGINE)"
)

export const demoFallback = env(
  Flag.Boolean("demo-fallback"),
  Config.Boolean("ARK_DEMO_FALLBACK"),
  false,
  "With the built-in completions engine: the demo engine answers Queries whose target has no usable model (the Model, or its Secret, does not exist) (ARK_DEMO_FALLBACK)"
)

export const engineKubeconfig = env(
  Flag.String("engine-kubeconfig"),
  Config.String("ARK_ENGINE_KUBECONFIG"),
  "",
  "Where the built-in completions engine reads Queries, Agents, Models, Tools and Secrets: a kubeconfig; default: in a pod the cluster, else this server's own <data-dir>/kubeconfig (ARK_ENGINE_KUBECONFIG)"
)

/** `ark engine`: the completions engine as its own A2A service. */
export const engineFlags = {
  host,
  port: env(Flag.Int("port"), Config.Int("ARK_ENGINE_PORT"), 9090, "Port of the A2A service; 0 picks a free one (ARK_ENGINE_PORT)"),
  kubeconfig: env(
    Flag.String("kubeconfig"),
    Config.String("ARK_ENGINE_KUBECONFIG"),
    "",
    "The Kubernetes API to read Queries, Agents, Models, Tools and Secrets from: a kubeconfig (e.g. an ark serve's); default: $KUBECONFIG, ~/.kube/config, or in a pod the cluster (ARK_ENGINE_KUBECONFIG)"
  )
}

/** Read replicas, repeatable; ARK_POSTGRES_READ_URLS takes a comma-separated list. */
export const postgresReadUrls = Flag.String("postgres-read-url").pipe(
  Flag.atLeast(1),
  Flag.withFallbackConfig(
    Config.String("ARK_POSTGRES_READ_URLS").pipe(Config.map((s) => s.split(",").map((u) => u.trim()).filter((u) => u !== "")))
  ),
  Flag.withDefault([]),
  Flag.withDescription(
    "A PostgreSQL streaming replica for reads that allow an older state (resourceVersion \"0\" or not older than N); repeatable (ARK_POSTGRES_READ_URLS, comma-separated)"
  )
)

export const postgresReadMaxLag = env(
  Flag.String("postgres-read-max-lag"),
  Config.String("ARK_POSTGRES_READ_MAX_LAG"),
  "5s",
  "A read replica further behind the primary than this serves no reads until it catches up (ARK_POSTGRES_READ_MAX_LAG)"
).pipe(Flag.filterMap(
  (text) => {
    const ms = parseGoDuration(text)
    return ms === undefined || ms < 0 ? Option.none() : Option.some(Duration.millis(ms))
  },
  (text) => `invalid --postgres-read-max-lag "${text}": a duration such as 5s or 500ms`
))

export const readReplicaFlags = { postgresReadUrls, postgresReadMaxLag }

/** `ark migrate-resources`: the servers to copy from and to. */
export const migrateResourcesFlags = {
  from: Flag.String("from").pipe(
    Flag.withDescription("The server to copy Ark resources from: a kubeconfig file (its current context) or an http(s) URL")
  ),
  to: Flag.String("to").pipe(
    Flag.withDescription("The server to copy them to: a kubeconfig file (its current context) or an http(s) URL")
  ),
  concurrency: Flag.Int("concurrency").pipe(Flag.withDefault(8), Flag.withDescription("Objects written at once"))
}

export const logFormat = choice(
  "log-format",
  "ARK_LOG_FORMAT",
  ["auto", "json", "text"],
  "auto",
  "Log lines on stderr: json (one object per line), text (human-readable), or auto: text on a terminal, json otherwise (ARK_LOG_FORMAT)"
)

export const logLevel = choice(
  "log-level",
  "ARK_LOG_LEVEL",
  ["debug", "info", "warn", "error"],
  "info",
  "Lowest level logged; debug adds a line per request (ARK_LOG_LEVEL)"
)

export const logFlags = { logFormat, logLevel }

export const databaseFlags = { storage, dataDir, postgresUrl, etcdEndpoints, etcdCaFile, etcdCertFile, etcdKeyFile, poolSize, kubeconfig, kubeApiQps, kubeApiBurst }
