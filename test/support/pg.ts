/** A fresh database per test file on the run's PostgreSQL, migrated, as a Layer. */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import * as PgDatabase from "../../src/layers/postgres/PgDatabase.ts"
import * as PostgresStorage from "../../src/layers/postgres/PostgresStorage.ts"
import type { Storage } from "../../src/services/Storage.ts"

const adminUrl = () => inject("pgAdminUrl")

/** Creates database `name` (dropping an old one) and returns its URL. */
export const freshDatabase = (prefix: string) =>
  Effect.gen(function*() {
    const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`CREATE DATABASE "${name}"`).unprepared
    const url = new URL(adminUrl())
    url.pathname = `/${name}`
    return url.toString()
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(adminUrl()), maxConnections: 1 })), Effect.orDie)

/** A migrated pool to a new database. */
export const testDatabase = (prefix: string, poolSize = 20) =>
  Layer.unwrap(Effect.map(freshDatabase(prefix), (url) => PgDatabase.layer({ url, poolSize }))).pipe(Layer.orDie)

/** Runs an effect that needs Storage against the database at `url` (e.g. a running server's). */
export const withStorage = <A, E>(url: string, effect: Effect.Effect<A, E, Storage>) =>
  Effect.runPromise(effect.pipe(Effect.provide(PostgresStorage.layer.pipe(Layer.provide(PgDatabase.layer({ url, poolSize: 2 }))))))
