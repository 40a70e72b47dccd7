/**
 * Admission, metrics and health as clients meet them: kubectl gets 422 causes and prints
 * warnings; kube-apiserver's AdmissionReview calls over HTTPS get allowed, denied and a patch;
 * /metrics parses strictly and moves with requests; the health endpoints answer as kube's.
 */
import { readFileSync } from "node:fs"
import { request as httpsRequest } from "node:https"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import { parsePrometheus } from "../support/prometheus.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

let server: RunningServer
let webhook: string
let metrics: string
beforeAll(async () => {
  server = await startServer({
    insecureHttp: true,
    modules: "apiserver,webhook,metrics",
    args: ["--webhook-port", "0", "--metrics-port", "0"]
  })
  // The other modules print their addresses too; they may come a moment after the API's.
  for (let i = 0; i < 100 && !/webhook serving.*\n[^]*metrics serving|metrics serving.*\n[^]*webhook serving/.test(server.output()); i++) {
    await new Promise((r) => setTimeout(r, 100))
  }
  webhook = /ark: webhook serving (\S+)/.exec(server.output())![1]!
  metrics = /ark: metrics serving (\S+)/.exec(server.output())![1]!
})
afterAll(() => server?.stop())

const queries = "/apis/ark.mckinsey.com/v1alpha1/namespaces/default/queries"

describe("inline admission through kubectl", () => {
  it("refuses a bad Query with 422 and its causes, and prints warnings of an accepted Agent", async () => {
    const { kubectl } = await kubectlBinaries()
    const run = (args: ReadonlyArray<string>, input: string) => runKubectl(kubectl, ["--kubeconfig", server.kubeconfig, ...args], { input })
    const bad = await run(["create", "-f", "-"], JSON.stringify({
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Query",
      metadata: { name: "bad-query" },
      spec: { input: "hi", timeout: "soon" }
    }))
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('The Query "bad-query" is invalid')
    expect(bad.stderr).toContain("spec: Required value: target or selector must be specified")
    expect(bad.stderr).toContain('spec.timeout: Invalid value: "soon"')
    const got = await run(["get", "query", "bad-query"], "")
    expect(got.stderr).toContain("NotFound")

    const agent = await run(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Agent",
      metadata: { name: "legacy-tools" },
      spec: { prompt: "p", tools: [{ type: "custom", name: "search" }] }
    }))
    expect(agent.code, agent.stderr).toBe(0)
    expect(agent.stderr).toContain("Warning: agent 'legacy-tools' tool 'search': type 'custom' is deprecated")
    // The mutating rules ran inline too: the Agent got the default model.
    const model = await run(["get", "agent", "legacy-tools", "-o", "jsonpath={.spec.modelRef.name}"], "")
    expect(model.stdout).toBe("default")
  })

  it("applies the defaults on server-side apply and on patches, and validates patched objects", async () => {
    const created = await fetch(`${server.url}${queries}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ metadata: { name: "patched" }, spec: { input: "x", target: { type: "agent", name: "a" } } })
    })
    expect(created.status).toBe(201)
    expect(((await created.json()) as { spec: { ttl: string } }).spec.ttl).toBe("720h")
    const patched = await fetch(`${server.url}${queries}/patched`, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { target: null, ttl: "later" } })
    })
    expect(patched.status).toBe(422)
    const status = (await patched.json()) as { details: { causes: Array<{ field: string }> } }
    expect(status.details.causes.map((c: { field: string }) => c.field)).toEqual(["spec", "spec.ttl"])
  })
})

/** One AdmissionReview over HTTPS, trusting only the CA of the server's data directory. */
const review = (path: string, request: Record<string, unknown>) =>
  new Promise<{ status: number; body: any }>((resolve, reject) => {
    const ca = readFileSync(join(server.dataDir, "pki", "ca.crt"))
    const body = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request })
    const req = httpsRequest(new URL(path, webhook), { method: "POST", ca, headers: { "content-type": "application/json" } }, (res) => {
      let text = ""
      res.on("data", (c: Buffer) => (text += c.toString()))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on("error", reject)
    req.end(body)
  })

const queryReview = (uid: string, spec: Record<string, unknown>) => ({
  uid,
  kind: { group: "ark.mckinsey.com", version: "v1alpha1", kind: "Query" },
  resource: { group: "ark.mckinsey.com", version: "v1alpha1", resource: "queries" },
  operation: "CREATE",
  object: { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Query", metadata: { name: "q", namespace: "default" }, spec }
})

describe("admission webhooks over HTTPS", () => {
  it("allows a good Query and denies a bad one with kube's Invalid Status", async () => {
    const path = "/validate-ark-mckinsey-com-v1alpha1-query"
    const good = await review(path, queryReview("u-good", { input: "hi", target: { type: "agent", name: "a" } }))
    expect(good.status).toBe(200)
    expect(good.body).toEqual({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "u-good", allowed: true } })
    const bad = await review(path, queryReview("u-bad", { input: "hi", target: { type: "agent", name: "a" }, timeout: "forever" }))
    expect(bad.body.response).toMatchObject({
      uid: "u-bad",
      allowed: false,
      status: { code: 422, reason: "Invalid", details: { causes: [{ field: "spec.timeout", reason: "FieldValueInvalid" }] } }
    })
    const team = await review("/validate-ark-mckinsey-com-v1alpha1-team", {
      uid: "u-team",
      resource: { group: "ark.mckinsey.com", version: "v1alpha1", resource: "teams" },
      operation: "UPDATE",
      object: { metadata: { name: "t", annotations: { "ark.mckinsey.com/migration-warning-round-robin": "migrated" } }, spec: { members: [], strategy: "sequential" } }
    })
    expect(team.body.response).toEqual({ uid: "u-team", allowed: true, warnings: ["migrated"] })
  })

  it("answers the mutating call with a base64 JSONPatch of the defaults", async () => {
    const path = "/mutate-ark-mckinsey-com-v1alpha1-query"
    const mutated = await review(path, queryReview("u-m", { input: "hi", target: { type: "agent", name: "a" } }))
    expect(mutated.body.response).toMatchObject({ uid: "u-m", allowed: true, patchType: "JSONPatch" })
    expect(JSON.parse(Buffer.from(mutated.body.response.patch, "base64").toString())).toEqual([{ op: "add", path: "/spec/ttl", value: "720h" }])
    const untouched = await review(path, queryReview("u-n", { input: "hi", target: { type: "agent", name: "a" }, ttl: "1h" }))
    expect(untouched.body.response).toEqual({ uid: "u-n", allowed: true })
  })

  it("answers a malformed review with a 400 Status", async () => {
    const bad = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(new URL("/validate-x", webhook), { method: "POST", ca: readFileSync(join(server.dataDir, "pki", "ca.crt")) }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end("{not json")
    })
    expect(bad).toBe(400)
  })
})

describe("metrics", () => {
  const scrape = async (base: string) => {
    const res = await fetch(`${base}/metrics`)
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    return parsePrometheus(await res.text())
  }

  it("are valid Prometheus text on both ports and move with requests", async () => {
    const create = { verb: "CREATE", resource: "queries", code: "201" }
    const before = await scrape(metrics)
    expect(before.types.get("apiserver_request_total")).toBe("counter")
    expect(before.types.get("apiserver_request_duration_seconds")).toBe("histogram")
    const created = before.value("apiserver_request_total", create) ?? 0
    for (const name of ["m1", "m2", "m3"]) {
      const res = await fetch(`${server.url}${queries}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ metadata: { name }, spec: { input: "x", target: { type: "agent", name: "a" } } })
      })
      expect(res.status).toBe(201)
    }
    const watch = await fetch(`${server.url}${queries}?watch=true`)
    const after = await scrape(server.url)
    expect(after.value("apiserver_request_total", create)).toBe(created + 3)
    expect(after.value("apiserver_request_duration_seconds_count", { verb: "CREATE", resource: "queries" })).toBeGreaterThanOrEqual(3)
    expect(after.value("ark_storage_operation_duration_seconds_count", { operation: "create", resource: "queries" })).toBeGreaterThanOrEqual(3)
    // The watcher registers as its stream starts, just after the response headers.
    let watched = after
    for (let i = 0; i < 50 && (watched.value("apiserver_registered_watchers", { resource: "queries" }) ?? 0) < 1; i++) {
      await new Promise((r) => setTimeout(r, 100))
      watched = await scrape(metrics)
    }
    expect(watched.value("apiserver_registered_watchers", { resource: "queries" })).toBeGreaterThanOrEqual(1)
    expect(after.value("apiserver_request_total", { verb: "WATCH", resource: "queries", code: "200" })).toBe(1)
    await watch.body?.cancel()
  })
})

describe("health", () => {
  it("answers livez, readyz and healthz as kube-apiserver does", async () => {
    const get = async (path: string) => {
      const res = await fetch(`${server.url}${path}`)
      return { status: res.status, text: await res.text() }
    }
    expect(await get("/livez")).toEqual({ status: 200, text: "ok" })
    expect(await get("/readyz?verbose")).toEqual({ status: 200, text: "[+]ping ok\n[+]storage ok\n[+]shutdown ok\nreadyz check passed\n" })
    expect(await get("/healthz?verbose&exclude=storage")).toEqual({ status: 200, text: "[+]ping ok\n[+]storage excluded: ok\nhealthz check passed\n" })
    expect(await get("/readyz/storage")).toEqual({ status: 200, text: "ok" })
    expect((await get("/readyz/nothing")).status).toBe(404)
    expect((await fetch(`${server.url}/readyz`, { method: "POST" })).status).toBe(405)
    expect((await fetch(`${metrics}/readyz`)).status).toBe(200)
  })
})
