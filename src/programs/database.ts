/** The PostgreSQL a deployment uses: `--postgres-url`, or an embedded server in the data directory. */
import { Effect, Layer } from "effect"
import * as EmbeddedPostgres from "../layers/EmbeddedPostgres.ts"
import * as PgDatabase from "../layers/PgDatabase.ts"

export interface DatabaseOptions {
  readonly storage: "embedded" | "postgresql"
  readonly dataDir: string
  readonly postgresUrl: string
  readonly poolSize: number
}

export class MissingPostgresUrl extends Error {
  override readonly message = "--storage postgresql needs --postgres-url (or ARK_POSTGRES_URL)"
}

/** A migrated pool; with the embedded server, the server's lifetime is the layer's. */
export const databaseLayer = (o: DatabaseOptions) =>
  Layer.unwrap(Effect.gen(function*() {
    if (o.storage === "postgresql") {
      if (o.postgresUrl === "") return yield* Effect.die(new MissingPostgresUrl())
      return PgDatabase.layer({ url: o.postgresUrl, poolSize: o.poolSize })
    }
    const pg = yield* EmbeddedPostgres.start({ dataDir: o.dataDir })
    return PgDatabase.layer({ url: pg.url, poolSize: o.poolSize })
  }))
