/**
 * The store a deployment uses: PostgreSQL (`--postgres-url`, or an embedded server in the data
 * directory) or etcd (`--etcd-endpoints`).
 */
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import { readFileSync } from "node:fs"
import * as EtcdClient from "../layers/etcd/EtcdClient.ts"
import * as PgDatabase from "../layers/postgres/PgDatabase.ts"

export interface DatabaseOptions {
  readonly storage: "embedded" | "postgresql" | "etcd"
  readonly dataDir: string
  readonly postgresUrl: string
  readonly etcdEndpoints: string
  /** TLS to etcd: the CA of its members, and this client's certificate and key (empty: none). */
  readonly etcdCaFile: string
  readonly etcdCertFile: string
  readonly etcdKeyFile: string
  readonly poolSize: number
}

export class MissingPostgresUrl extends Error {
  override readonly message = "--storage postgresql needs --postgres-url (or ARK_POSTGRES_URL)"
}

export class MissingEtcdEndpoints extends Error {
  override readonly message = "--storage etcd needs --etcd-endpoints (or ARK_ETCD_ENDPOINTS)"
}

export class EtcdClientPair extends Error {
  override readonly message = "--etcd-certfile and --etcd-keyfile go together"
}

export class UnreadableFile extends Error {}

export class NotPostgres extends Error {
  override readonly message = "--storage etcd keeps no PostgreSQL database (nothing to migrate)"
}

/**
 * ARK_POSTGRES_PASSWORD (e.g. a Kubernetes Secret's key, as the Helm chart passes it) is the
 * password for --postgres-url when the URL carries none; it is percent-encoded into the URL, so
 * any characters work. A password written in the URL wins.
 */
export const withPassword = (url: string, password: Option.Option<Redacted.Redacted<string>>): string => {
  if (Option.isNone(password)) return url
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url
  }
  if (parsed.password !== "") return url
  parsed.password = encodeURIComponent(Redacted.value(password.value))
  return parsed.toString()
}

/** A migrated pool; with the embedded server, the server's lifetime is the layer's. */
export const databaseLayer = (o: DatabaseOptions) =>
  Layer.unwrap(Effect.gen(function*() {
    if (o.storage === "etcd") return yield* Effect.die(new NotPostgres())
    if (o.storage === "postgresql") {
      if (o.postgresUrl === "") return yield* Effect.die(new MissingPostgresUrl())
      const password = yield* Config.Redacted("ARK_POSTGRES_PASSWORD").pipe(Config.option)
      return PgDatabase.layer({ url: withPassword(o.postgresUrl, password), poolSize: o.poolSize })
    }
    // Loaded only here: a cluster image leaves the embedded server's binaries out.
    const EmbeddedPostgres = yield* Effect.promise(() => import("../layers/postgres/EmbeddedPostgres.ts"))
    const restarts = yield* Config.Int("ARK_EMBEDDED_POSTGRES_RESTARTS").pipe(Config.withDefault(5))
    const restartDelay = yield* Config.Duration("ARK_EMBEDDED_POSTGRES_RESTART_DELAY").pipe(Config.withDefault(Duration.millis(500)))
    const pg = yield* EmbeddedPostgres.start({ dataDir: o.dataDir, restarts, restartDelay })
    return PgDatabase.layer({ url: pg.url, poolSize: o.poolSize })
  }))

/** The etcd client for `--storage etcd`, checked at start. */
export const etcdLayer = (o: DatabaseOptions) =>
  Layer.unwrap(Effect.gen(function*() {
    const endpoints = o.etcdEndpoints.split(",").map((e) => e.trim()).filter((e) => e !== "")
    if (endpoints.length === 0) return yield* Effect.die(new MissingEtcdEndpoints())
    if ((o.etcdCertFile === "") !== (o.etcdKeyFile === "")) return yield* Effect.die(new EtcdClientPair())
    const read = (flag: string, file: string) =>
      file === "" ? Effect.succeed(undefined) : Effect.try({
        try: () => readFileSync(file),
        catch: (e) => new UnreadableFile(`${flag} ${file}: ${e instanceof Error ? e.message : String(e)}`)
      })
    const [ca, cert, key] = yield* Effect.all([read("--etcd-cafile", o.etcdCaFile), read("--etcd-certfile", o.etcdCertFile), read("--etcd-keyfile", o.etcdKeyFile)]).pipe(Effect.orDie)
    return EtcdClient.layer({ endpoints, ...(ca === undefined && cert === undefined ? {} : { tls: { ca, cert, key } }) })
  }))
