/**
 * The command line the chart renders for the ark-core container, run for real: `helm template`
 * with storage.backend=postgresql pointing at this test run's PostgreSQL, then the migration
 * Job's args and the Deployment's args and env, verbatim, as `node <flags> src/programs/main.ts <args>`
 * (the image's entrypoint, see Dockerfile). Only what must differ outside a pod is substituted:
 *   - `--host 0.0.0.0` becomes 127.0.0.1 (test servers bind loopback only);
 *   - `--data-dir` (the pod's emptyDir) becomes a temporary directory;
 *   - paths under the TLS Secret's mount become a directory holding the rendered Secret's files;
 *   - env `valueFrom`: the password Secret's key becomes the test database's password, the
 *     downward-API POD_NAME/POD_NAMESPACE become fixed strings.
 * The ports come from the values (storage.apiserver.port, controllerManager.ports.metrics) set to
 * free ports, and the database from storage.postgresql.*.
 */
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { get as httpGet } from "node:http"
import { request as httpsRequest } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { arkContainer, flagValue, helmTemplate, ofKind, one } from "../support/helm.ts"
import type { Manifest } from "../support/helm.ts"
import { freePort } from "../support/net.ts"
import { freshDatabase } from "../support/pg.ts"

const root = join(import.meta.dirname, "..", "..")
/** The image's entrypoint (Dockerfile's ENTRYPOINT), run from the repository instead of /app. */
const entrypoint = (JSON.parse(/^ENTRYPOINT (.*)$/m.exec(readFileSync(join(root, "Dockerfile"), "utf8"))![1]!) as Array<string>)
  .slice(1)
  .map((a) => a.endsWith(".ts") ? join(root, a) : a)
const dir = mkdtempSync(join(tmpdir(), "ark-chart-run-"))
const started: Array<ChildProcess> = []
afterAll(async () => {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      await exited
    }
  }
  rmSync(dir, { recursive: true, force: true })
})

const secretName = "postgresql-credentials"

/** The rendered args with the local substitutions (see the file comment); each one is counted. */
const localArgs = (args: ReadonlyArray<string>, paths: { dataDir: string; tlsMount: string; tlsDir: string }) => {
  const substituted: Array<string> = []
  const out = args.map((arg, i) => {
    const flag = args[i - 1]
    if (flag === "--host") {
      substituted.push(`${arg} -> 127.0.0.1`)
      return "127.0.0.1"
    }
    if (flag === "--data-dir") {
      substituted.push(`${arg} -> ${paths.dataDir}`)
      return paths.dataDir
    }
    if (arg.startsWith(paths.tlsMount)) {
      const local = paths.tlsDir + arg.slice(paths.tlsMount.length)
      substituted.push(`${arg} -> ${local}`)
      return local
    }
    return arg
  })
  return { args: out, substituted }
}

const localEnv = (env: ReadonlyArray<Manifest>, password: string) =>
  Object.fromEntries(env.map((e): [string, string] => {
    if (e["value"] !== undefined) return [e["name"], String(e["value"])]
    const ref = e["valueFrom"]["secretKeyRef"] as Manifest | undefined
    if (ref !== undefined) {
      expect(ref).toEqual({ name: secretName, key: "password" })
      return [e["name"], password]
    }
    return [e["name"], `local-${String(e["valueFrom"]["fieldRef"]["fieldPath"]).replace(/\W/g, "-")}`]
  }))

/** GET a health path: 200 and the body, or undefined while nothing answers (yet). */
const health = (url: string) =>
  new Promise<{ status: number; body: string } | undefined>((resolve) => {
    const req = httpGet(url, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString()))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", () => resolve(undefined))
  })

describe("the chart's ark-core command line, run", () => {
  it("migrates with the hook's args and serves ready with the Deployment's args and env", async () => {
    const url = new URL(await Effect.runPromise(freshDatabase("chart")))
    const apiPort = await freePort()
    const metricsPort = await freePort()
    const m = await helmTemplate("ark", [
      "-n", "ark-system",
      "--set", "storage.backend=postgresql",
      "--set", `storage.postgresql.host=${url.hostname}`,
      "--set", `storage.postgresql.port=${url.port}`,
      "--set", `storage.postgresql.database=${url.pathname.slice(1)}`,
      "--set", `storage.postgresql.user=${decodeURIComponent(url.username)}`,
      "--set", `storage.postgresql.passwordSecretName=${secretName}`,
      "--set", "storage.postgresql.sslMode=disable",
      "--set", "storage.postgresql.poolSize=5",
      "--set", `storage.apiserver.port=${apiPort}`,
      "--set", `controllerManager.ports.metrics=${metricsPort}`
    ])
    const password = decodeURIComponent(url.password)
    expect(password).not.toBe("") // the test server asks for it: a wrong or missing password fails

    // The TLS Secret's files, as the pod sees them at the mount.
    const container = arkContainer(m)
    const tlsMount = (container["volumeMounts"] as Array<Manifest>).find((v) => v["name"] === "tls")!["mountPath"] as string
    const tlsDir = join(dir, "tls")
    const secret = one(m, "Secret")
    rmSync(tlsDir, { recursive: true, force: true })
    mkdirSync(tlsDir, { recursive: true })
    for (const [file, b64] of Object.entries(secret["data"] as Record<string, string>)) writeFileSync(join(tlsDir, file), Buffer.from(b64, "base64"))
    const paths = { dataDir: join(dir, "data"), tlsMount, tlsDir }

    // The pre-install hook: `ark migrate` with the Job's args and env.
    const job = one(m, "Job")["spec"]["template"]["spec"]["containers"][0] as Manifest
    const jobRun = localArgs(job["args"], paths)
    expect(jobRun.substituted).toEqual([])
    const migrate = spawnSync(process.execPath, [...entrypoint, ...jobRun.args], {
      encoding: "utf8",
      env: { ...process.env, ...localEnv(job["env"], password) },
      timeout: 60_000
    })
    expect(migrate.status, migrate.stderr).toBe(0)
    expect(migrate.stdout).toContain("ark: database schema is up to date")

    // The Deployment's container.
    const run = localArgs(container["args"], paths)
    expect(run.substituted).toEqual([
      `0.0.0.0 -> 127.0.0.1`,
      `/var/lib/ark -> ${paths.dataDir}`,
      `${tlsMount}/tls.crt -> ${tlsDir}/tls.crt`,
      `${tlsMount}/tls.key -> ${tlsDir}/tls.key`
    ])
    const env = localEnv(container["env"], password)
    expect(Object.keys(env)).toContain("ARK_POSTGRES_PASSWORD")
    let output = ""
    const child = spawn(process.execPath, [...entrypoint, ...run.args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } })
    started.push(child)
    child.stdout!.on("data", (c: Buffer) => (output += c.toString()))
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))

    // The readiness probe's request (path and port from the probe), until it answers or ark exits.
    const probe = container["readinessProbe"]["httpGet"] as Manifest
    const probePort = (container["ports"] as Array<Manifest>).find((p) => p["name"] === probe["port"])!["containerPort"]
    const readyUrl = `http://127.0.0.1:${probePort}${probe["path"]}`
    let ready: { status: number; body: string } | undefined
    for (let i = 0; i < 300 && child.exitCode === null; i++) {
      ready = await health(readyUrl)
      if (ready?.status === 200) break
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(ready?.status, output).toBe(200)
    expect(child.exitCode, output).toBeNull()

    // The API port answers over TLS with the chart's certificate: what kube-apiserver verifies
    // with the APIServices' caBundle, for the Service's name (the port they point at).
    expect(flagValue(run.args, "--port")).toBe(String(apiPort))
    const caBundle = Buffer.from(ofKind(m, "APIService")[0]!["spec"]["caBundle"] as string, "base64").toString("utf8")
    const service = one(m, "Service")["metadata"] as Manifest
    const livez = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: "127.0.0.1", port: apiPort, path: "/livez", ca: caBundle, servername: `${service["name"]}.${service["namespace"]}.svc` }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end()
    })
    expect(livez).toBe(200)

    // SIGTERM (what kubelet sends): a clean stop within the grace period, exit 0.
    child.kill("SIGTERM")
    expect(await exited, output).toBe(0)
  })
})
