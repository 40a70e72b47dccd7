/**
 * The etcd configuration against a member that speaks TLS and checks client certificates, as
 * kubeadm's etcd does: `ark serve --etcd-cafile/--etcd-certfile/--etcd-keyfile` (kube-apiserver's
 * flags) stores and reads objects; without a client certificate it says at start that etcd is
 * unreachable and exits 1.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { issue, makeCa } from "../support/certs.ts"
import type { RunningEtcd } from "../support/etcd.ts"
import { startEtcd } from "../support/etcd.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const dir = mkdtempSync(join(tmpdir(), "ark-etcd-tls-"))
const file = (name: string, pem: string) => {
  writeFileSync(join(dir, name), pem)
  return join(dir, name)
}

describe("etcd over TLS with client certificates", () => {
  let etcd: RunningEtcd
  let server: RunningServer | undefined
  let flags: { ca: string; cert: string; key: string }

  beforeAll(async () => {
    const ca = await makeCa("etcd-ca")
    const client = await issue(ca, { cn: "ark-effect" })
    etcd = await startEtcd({ tls: { ca: ca.certPem, server: await issue(ca, { cn: "etcd", hosts: ["127.0.0.1", "localhost"] }), client } })
    flags = { ca: file("ca.crt", ca.certPem), cert: file("client.crt", client.certPem), key: file("client.key", client.keyPem) }
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
    await etcd?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("stores and reads objects with the client certificate", async () => {
    expect(etcd.endpoint).toMatch(/^https:/)
    server = await startServer({
      etcdEndpoint: etcd.endpoint,
      insecureHttp: true,
      args: ["--etcd-cafile", flags.ca, "--etcd-certfile", flags.cert, "--etcd-keyfile", flags.key]
    })
    const path = "/apis/ark.mckinsey.com/v1alpha1/namespaces/secure/agents"
    const created = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "tls" }, spec: { prompt: "Over TLS." } })
    })
    expect(created.status).toBe(201)
    const listed = await (await fetch(`${server.url}${path}`)).json() as { items: Array<{ metadata: { name: string } }> }
    expect(listed.items.map((i) => i.metadata.name)).toEqual(["tls"])
  }, 60_000)

  it("says at start that etcd is unreachable without a client certificate, and when only one of the pair is given", async () => {
    const ark = (extra: ReadonlyArray<string>) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [
          join(import.meta.dirname, "..", "..", "src", "programs", "main.ts"),
          "serve", "--storage", "etcd", "--etcd-endpoints", etcd.endpoint, "--insecure-http", "--port", "0", "--data-dir", dir, ...extra
        ], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, KUBERNETES_SERVICE_HOST: "" } })
        let stderr = ""
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
        child.once("exit", (code) => resolve({ code, stderr }))
      })
    const anonymous = await ark(["--etcd-cafile", flags.ca])
    expect(anonymous.code).toBe(1)
    // Node may warn first that gRPC sets an IP address as the TLS server name: the last line is ark's.
    expect(anonymous.stderr.trim().split("\n").at(-1)).toMatch(new RegExp(`^ark: etcd at ${etcd.endpoint.replaceAll(".", "\\.")} (is unreachable: .*bad certificate.*|did not answer within 5 s)$`))
    const half = await ark(["--etcd-cafile", flags.ca, "--etcd-certfile", flags.cert])
    expect(half.code).toBe(1)
    expect(half.stderr.trim()).toBe("ark: --etcd-certfile and --etcd-keyfile go together")
  }, 60_000)
})
