/**
 * The standalone PKI against real TLS stacks: Node's for mutual TLS and name checks, kubectl's
 * (Go) for the kubeconfig, since that is the client users point at `ark serve`.
 */
import { Effect } from "effect"
import { X509Certificate } from "node:crypto"
import { mkdtemp, readFile, rm, stat } from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from "node:tls"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { ensurePki, type Pki, writeInsecureKubeconfig, writeKubeconfig } from "../src/layers/Pki.ts"
import { kubectlBinaries, runKubectl } from "./support/kubectl.ts"

const hosts = ["localhost", "127.0.0.1"]

let dataDir: string
let pki: Pki
let server: https.Server
let port: number

/** Answers /hello to authenticated clients and tells who the client certificate names on /whoami. */
const handler: http.RequestListener = (req, res) => {
  const socket = req.socket as TLSSocket
  if (!socket.authorized) {
    res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: socket.authorizationError }))
    return
  }
  const peer = socket.getPeerCertificate()
  const body = req.url === "/hello" ? { ok: true } : { cn: peer.subject.CN, o: peer.subject.O }
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body))
}

const listen = (s: http.Server | https.Server) =>
  new Promise<number>((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)))

const close = (s: http.Server | https.Server) =>
  new Promise<void>((resolve) => {
    s.closeAllConnections()
    s.close(() => resolve())
  })

const get = (path: string, options: https.RequestOptions) =>
  new Promise<{ status: number; body: string; peer: PeerCertificate }>((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path, agent: false, ...options }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          peer: (res.socket as TLSSocket).getPeerCertificate()
        })
      )
    })
    req.on("error", reject)
    req.end()
  })

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "ark-pki-"))
  pki = await Effect.runPromise(ensurePki({ dataDir, hosts }))
  server = https.createServer({
    key: pki.serverKeyPem,
    cert: pki.serverCertPem,
    ca: pki.caCertPem,
    requestCert: true,
    // Unauthenticated clients get a 401 from the handler instead of a failed handshake.
    rejectUnauthorized: false
  }, handler)
  port = await listen(server)
})

afterAll(async () => {
  if (server !== undefined) await close(server)
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
})

describe("ensurePki", () => {
  it("issues an admin client certificate the server authenticates as CN ark-admin, O system:masters", async () => {
    const res = await get("/whoami", { ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual({ cn: "ark-admin", o: "system:masters" })

    const anonymous = await get("/whoami", { ca: pki.caCertPem })
    expect(anonymous.status).toBe(401)
  })

  it("issues a server certificate valid for each requested host and no other", async () => {
    const viaIp = await get("/hello", { ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem })
    expect(viaIp.status).toBe(200)
    const viaName = await get("/hello", {
      ca: pki.caCertPem,
      cert: pki.adminCertPem,
      key: pki.adminKeyPem,
      servername: "localhost"
    })
    expect(viaName.status).toBe(200)
    expect(checkServerIdentity("localhost", viaName.peer)).toBeUndefined()
    expect(checkServerIdentity("127.0.0.1", viaName.peer)).toBeUndefined()
    expect(checkServerIdentity("elsewhere.example", viaName.peer)).toBeInstanceOf(Error)

    const ca = new X509Certificate(pki.caCertPem)
    expect(ca.ca).toBe(true)
    expect(ca.subject).toBe("CN=ark-effect-ca")
    expect(new X509Certificate(pki.serverCertPem).checkIssued(ca)).toBe(true)
  })

  it("keeps private keys private", async () => {
    for (const file of [pki.serverKeyFile, pki.adminKeyFile]) {
      expect((await stat(file)).mode & 0o777).toBe(0o600)
    }
  })

  it("reuses the stored certificates on a later run", async () => {
    const again = await Effect.runPromise(ensurePki({ dataDir, hosts: ["127.0.0.1"] }))
    expect(again).toEqual(pki)
  })

  it("reissues only the server certificate when a host is added, and everything under a new CA", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ark-pki-"))
    try {
      const first = await Effect.runPromise(ensurePki({ dataDir: dir, hosts }))
      const wider = await Effect.runPromise(ensurePki({ dataDir: dir, hosts: [...hosts, "ark.example.test", "::1"] }))
      expect(wider.caCertPem).toBe(first.caCertPem)
      expect(wider.adminCertPem).toBe(first.adminCertPem)
      expect(wider.serverCertPem).not.toBe(first.serverCertPem)
      const cert = new X509Certificate(wider.serverCertPem)
      expect(cert.checkHost("ark.example.test")).toBe("ark.example.test")
      expect(cert.checkIP("::1")).toBe("::1")
      expect(cert.checkHost("localhost")).toBe("localhost")

      await rm(first.caFile)
      const rekeyed = await Effect.runPromise(ensurePki({ dataDir: dir, hosts }))
      expect(rekeyed.caCertPem).not.toBe(first.caCertPem)
      expect(rekeyed.serverCertPem).not.toBe(wider.serverCertPem)
      expect(rekeyed.adminCertPem).not.toBe(first.adminCertPem)
      const ca = new X509Certificate(rekeyed.caCertPem)
      expect(new X509Certificate(rekeyed.serverCertPem).verify(ca.publicKey)).toBe(true)
      expect(new X509Certificate(rekeyed.adminCertPem).verify(ca.publicKey)).toBe(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe("writeKubeconfig", () => {
  it("writes the CA and admin credentials as base64 PEM under a current context", async () => {
    const file = join(dataDir, "kube", "config")
    await Effect.runPromise(writeKubeconfig({ file, server: `https://127.0.0.1:${port}`, pki }))
    const config = parse(await readFile(file, "utf8"))
    const decode = (s: string) => Buffer.from(s, "base64").toString("utf8")
    expect(config["current-context"]).toBe("ark")
    expect(config.contexts[0].context).toEqual({ cluster: "ark", user: "ark", namespace: "default" })
    expect(config.clusters[0].cluster.server).toBe(`https://127.0.0.1:${port}`)
    expect(decode(config.clusters[0].cluster["certificate-authority-data"])).toBe(pki.caCertPem)
    expect(decode(config.users[0].user["client-certificate-data"])).toBe(pki.adminCertPem)
    expect(decode(config.users[0].user["client-key-data"])).toBe(pki.adminKeyPem)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })

  it("works with kubectl 1.35 (Go's TLS stack) over mutual TLS", async () => {
    const file = join(dataDir, "kubeconfig-tls")
    await Effect.runPromise(writeKubeconfig({ file, server: `https://localhost:${port}`, pki, contextName: "ark-test" }))
    const { kubectl } = await kubectlBinaries()
    const result = await runKubectl(kubectl, ["--kubeconfig", file, "get", "--raw", "/hello"])
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ ok: true })
  })

  it("writes an insecure kubeconfig kubectl uses against a plain http server", async () => {
    const plain = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(`{"ok":true}`))
    const plainPort = await listen(plain)
    try {
      const file = join(dataDir, "kubeconfig-http")
      await Effect.runPromise(writeInsecureKubeconfig({ file, server: `http://127.0.0.1:${plainPort}` }))
      const { kubectl } = await kubectlBinaries()
      const result = await runKubectl(kubectl, ["--kubeconfig", file, "get", "--raw", "/hello"])
      expect(result.code, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toEqual({ ok: true })
    } finally {
      await close(plain)
    }
  })
})
