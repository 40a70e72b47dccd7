/**
 * `ark serve` as a laptop user runs it: the embedded PostgreSQL lives in the data directory,
 * survives restarts, and stops with the server on SIGTERM (no orphan process).
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { kubectlBinaries, runKubectl } from "./support/kubectl.ts"
import { freePort } from "./support/net.ts"
import { startServer } from "./support/server.ts"

const dataDir = mkdtempSync(join(tmpdir(), "ark-embedded-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** The postmaster's pid, from the file PostgreSQL keeps while it runs. */
const postmasterPid = () => {
  const file = join(dataDir, "postgres", "postmaster.pid")
  return existsSync(file) ? Number(readFileSync(file, "utf8").split("\n")[0]) : undefined
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
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

describe("ark's answers to bad invocations", () => {
  const ark = (args: ReadonlyArray<string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, "..", "src", "programs", "main.ts"), ...args], { stdio: ["ignore", "ignore", "pipe"] })
      let stderr = ""
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
      child.once("exit", (code) => resolve({ code, stderr }))
    })

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
    const migrateEtcd = await ark(["migrate", "--storage", "etcd"])
    expect(migrateEtcd.code).toBe(1)
    expect(migrateEtcd.stderr.trim()).toBe("ark: --storage etcd keeps no PostgreSQL database (nothing to migrate)")
  })
})
