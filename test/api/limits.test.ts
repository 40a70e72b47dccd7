/**
 * Limits and TLS of `ark serve` as kube-apiserver has them: in-flight limits (429 with
 * Retry-After; watches and system:masters exempt), the request timeout (504 Status), header size,
 * TLS 1.2+ only, and a --tls-cert-file that is picked up when it changes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import type { ClientRequest } from "node:http"
import { request } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect } from "node:tls"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Ca, Issued } from "../support/certs.ts"
import { issue, makeCa } from "../support/certs.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import type { Answer } from "../support/net.ts"
import { readAnswer } from "../support/net.ts"

const queries = "/apis/ark.mckinsey.com/v1alpha1/namespaces/limits/queries"
const dir = mkdtempSync(join(tmpdir(), "ark-limits-"))
const certFile = join(dir, "tls.crt")
const keyFile = join(dir, "tls.key")
let serverCa: Ca
let bob: Issued
let root: Issued
let ark: RunningServer

const writeServing = (pair: Issued) => {
  writeFileSync(keyFile, pair.keyPem)
  writeFileSync(certFile, pair.certPem)
}

beforeAll(async () => {
  serverCa = await makeCa("test-serving-ca")
  const clientCa = await makeCa("test-client-ca")
  bob = await issue(clientCa, { cn: "bob", o: ["devs"] })
  root = await issue(clientCa, { cn: "root", o: ["system:masters"] })
  writeServing(await issue(serverCa, { cn: "ark-first", hosts: ["127.0.0.1", "localhost"] }))
  const clientCaFile = join(dir, "client-ca.crt")
  writeFileSync(clientCaFile, clientCa.certPem)
  ark = await startServer({
    args: [
      "--tls-cert-file", certFile, "--tls-private-key-file", keyFile, "--client-ca-file", clientCaFile,
      "--max-requests-inflight", "1", "--max-mutating-requests-inflight", "1", "--request-timeout", "3s"
    ]
  })
})

afterAll(async () => {
  await ark?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** Starts a request and hands it back unfinished; the answer comes when the server sends one. */
const open = (method: string, path: string, cert: Issued, headers: Record<string, string> = {}) => {
  let req!: ClientRequest
  const answered = new Promise<Answer>((resolve, reject) => {
    req = request(new URL(path, ark.url), { method, agent: false, ca: serverCa.certPem, cert: cert.certPem, key: cert.keyPem, headers }, (res) => {
      void readAnswer(res).then(resolve, reject)
    })
    req.on("error", reject)
  })
  return { req, answered }
}

const call = (method: string, path: string, cert: Issued, body?: string) => {
  const { req, answered } = open(method, path, cert, body === undefined ? {} : { "content-type": "application/json" })
  req.end(body)
  return answered
}

describe("in-flight limits and the request timeout", () => {
  it("answers 429 with Retry-After over the mutating limit, exempts reads, watches and system:masters, and times the held request out with 504", async () => {
    // A create whose body never finishes holds the one mutating slot.
    const held = open("POST", queries, bob, { "content-type": "application/json", "content-length": "1000" })
    held.req.write(`{"apiVersion":`)
    // Wait (bounded) until the server has admitted it: a second create is then refused.
    let refused: Answer | undefined
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const a = await call("POST", queries, bob, "{not json")
      if (a.status === 429) refused = a
      else expect(a.status).toBe(400)
    }
    expect(refused?.headers["retry-after"]).toBe("1")
    expect(refused?.json).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "TooManyRequests",
      code: 429,
      message: "Too many requests, please try again later.",
      details: { retryAfterSeconds: 1 }
    })
    // system:masters is not limited; reads have their own limit; a watch takes no slot of it.
    expect((await call("POST", queries, root, "{not json")).status).toBe(400)
    const watch = open("GET", `${queries}?watch=true`, bob)
    watch.req.end()
    expect((await call("GET", queries, bob)).status).toBe(200)
    expect((await call("GET", queries, bob)).status).toBe(200)
    watch.req.destroy()
    watch.answered.catch(() => undefined)

    const timedOut = await held.answered
    expect(timedOut.status).toBe(504)
    expect(timedOut.json).toMatchObject({
      kind: "Status",
      reason: "Timeout",
      code: 504,
      message: "Timeout: request did not complete within requested timeout - context deadline exceeded"
    })
    // As in kube, the handler runs on after the 504 and keeps its slot until it ends: here when
    // the client gives up on the body. Then the slot is free again, and nothing was stored.
    held.req.destroy()
    let after = 429
    for (let i = 0; i < 100 && after === 429; i++) {
      await new Promise((r) => setTimeout(r, 50))
      after = (await call("POST", queries, bob, "{not json")).status
    }
    expect(after).toBe(400)
    expect((await call("GET", queries, bob)).json.items).toEqual([])
  })

  it("answers 429 over the read limit while a read is held, exempting system:masters and writes, and frees the slot when it ends", async () => {
    // A LIST at a resourceVersion the store has not reached waits for it (3 s) and holds the one read slot.
    const held = call("GET", `${queries}?resourceVersion=999999999&resourceVersionMatch=NotOlderThan`, bob)
    let refused: Answer | undefined
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const a = await call("GET", queries, bob)
      if (a.status === 429) refused = a
      else expect(a.status).toBe(200)
    }
    expect(refused?.headers["retry-after"]).toBe("1")
    expect(refused?.json).toMatchObject({ kind: "Status", reason: "TooManyRequests", code: 429 })
    expect((await call("GET", queries, root)).status).toBe(200)
    expect((await call("POST", queries, bob, "{not json")).status).toBe(400)
    expect((await held).status).toBe(504)
    let after = 429
    for (let i = 0; i < 100 && after === 429; i++) {
      await new Promise((r) => setTimeout(r, 50))
      after = (await call("GET", queries, bob)).status
    }
    expect(after).toBe(200)
  })

  it("refuses oversized headers", async () => {
    const big = open("GET", queries, bob, { "x-filler": "x".repeat(100 * 1024) })
    big.req.end()
    // Node answers 431 and closes; the client may see the close first while it still writes.
    const outcome = await big.answered.then((a) => a.status, (e: NodeJS.ErrnoException) => e.code)
    expect([431, "ECONNRESET", "EPIPE"]).toContain(outcome)
    expect((await call("GET", queries, bob)).status).toBe(200)
  })
})

describe("TLS", () => {
  const peer = (options: { minVersion?: "TLSv1" | "TLSv1.2"; maxVersion?: "TLSv1.1" | "TLSv1.3" } = {}) =>
    new Promise<{ cn: string; protocol: string | null }>((resolve, reject) => {
      const url = new URL(ark.url)
      const socket = connect({ host: url.hostname, port: Number(url.port), ca: serverCa.certPem, servername: "localhost", ...options }, () => {
        const result = { cn: socket.getPeerCertificate().subject.CN as string, protocol: socket.getProtocol() }
        socket.end()
        resolve(result)
      })
      socket.on("error", reject)
    })

  it("speaks TLS 1.2 and 1.3, never older", async () => {
    expect((await peer({ maxVersion: "TLSv1.3" })).protocol).toBe("TLSv1.3")
    expect((await peer({ minVersion: "TLSv1.2", maxVersion: "TLSv1.3" })).protocol).toMatch(/^TLSv1\.[23]$/)
    await expect(peer({ minVersion: "TLSv1", maxVersion: "TLSv1.1" })).rejects.toThrow()
  })

  it("serves a new --tls-cert-file once it is written, without a restart", async () => {
    expect((await peer()).cn).toBe("ark-first")
    writeServing(await issue(serverCa, { cn: "ark-rotated", hosts: ["127.0.0.1", "localhost"] }))
    let cn = ""
    for (let i = 0; i < 100 && cn !== "ark-rotated"; i++) {
      await new Promise((r) => setTimeout(r, 100))
      cn = (await peer()).cn
    }
    expect(cn).toBe("ark-rotated")
    expect((await call("GET", queries, bob)).status).toBe(200)
  })
})
