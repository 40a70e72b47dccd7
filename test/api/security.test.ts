/**
 * Who gets in, over real TLS with CAs made here: front-proxy identity headers only from a
 * front-proxy certificate with an allowed name, client certificates of the client CA, bearer
 * tokens through TokenReview, SubjectAccessReview for every request (with caches), and kube's
 * 401/403 Status bodies. The CAs come from a kube-apiserver double's
 * extension-apiserver-authentication ConfigMap, as in a cluster.
 *
 * The same behaviour runs against a real kube-apiserver in test/cluster/aggregation.test.ts (real
 * CAs, TokenReview, RBAC, the aggregator's front proxy). What stays here needs the double: the
 * exact reviews ark sends (front-proxy extra headers decoded into `extra`, an impersonated user's
 * groups, ark asking with its own credentials, denials cached), and a CA rotated in the ConfigMap,
 * which a real kube-apiserver owns and rewrites from its own flags.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Agent, request } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Ca, Issued } from "../support/certs.ts"
import { issue, makeCa } from "../support/certs.ts"
import type { KubeApiDouble } from "../support/kubeApi.ts"
import { startKubeApi } from "../support/kubeApi.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { eventually } from "../support/leader.ts"
import type { Answer } from "../support/net.ts"
import { readAnswer } from "../support/net.ts"

const base = "/apis/ark.mckinsey.com/v1alpha1"

const dir = mkdtempSync(join(tmpdir(), "ark-security-"))
let kube: KubeApiDouble
let ark: RunningServer
let frontProxy: Issued
let bob: Issued
let root: Issued
let clientCa: Ca
/** The double's extension-apiserver-authentication data: a test may rewrite it, as kube does on a CA rotation. */
const configMap: Record<string, string> = {}

beforeAll(async () => {
  clientCa = await makeCa("test-client-ca")
  const proxyCa = await makeCa("test-front-proxy-ca")
  frontProxy = await issue(proxyCa, { cn: "front-proxy-client" })
  bob = await issue(clientCa, { cn: "bob", o: ["devs"] })
  root = await issue(clientCa, { cn: "root", o: ["system:masters"] })
  kube = await startKubeApi({
    tokens: { "good-token": { username: "tina", groups: ["token-users"] } },
    // Only bob may impersonate; the namespace "forbidden" is closed to everyone.
    decide: (spec) =>
      spec.resourceAttributes?.verb === "impersonate"
        ? { allowed: spec.user === "bob" }
        : spec.resourceAttributes?.namespace === "forbidden"
        ? { allowed: false }
        : { allowed: true },
    configMap: Object.assign(configMap, {
      "client-ca-file": clientCa.certPem,
      "requestheader-client-ca-file": proxyCa.certPem,
      "requestheader-allowed-names": JSON.stringify(["front-proxy-client"]),
      "requestheader-username-headers": JSON.stringify(["X-Remote-User"]),
      "requestheader-group-headers": JSON.stringify(["X-Remote-Group"]),
      "requestheader-extra-headers-prefix": JSON.stringify(["X-Remote-Extra-"])
    })
  })
  const kubeconfig = kube.kubeconfig(dir)
  ark = await startServer({
    args: ["--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig],
    env: { ARK_AUTHENTICATION_CONFIGMAP_RESYNC: "200 millis" }
  })
})

afterAll(async () => {
  await ark?.stop()
  await kube?.close()
  rmSync(dir, { recursive: true, force: true })
})

const call = (
  method: string,
  path: string,
  options: { cert?: Issued; headers?: Record<string, string | Array<string>>; body?: unknown } = {}
) =>
  new Promise<Answer>((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body)
    const req = request(new URL(path, ark.url), {
      method,
      agent: false,
      ca: readFileSync(join(ark.dataDir, "pki", "ca.crt")),
      ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem }),
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...options.headers }
    }, (res) => void readAnswer(res).then(resolve, reject))
    req.on("error", reject)
    req.end(body)
  })

/** Requests on one kept-alive TLS connection with `cert`; each answer says whether it reused the connection. */
const connection = (cert: Issued) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(join(ark.dataDir, "pki", "ca.crt")), cert: cert.certPem, key: cert.keyPem })
  const get = (path: string) =>
    new Promise<Answer & { reused: boolean }>((resolve, reject) => {
      const req = request(new URL(path, ark.url), { agent }, (res) => void readAnswer(res).then((a) => resolve({ ...a, reused: req.reusedSocket }), reject))
      req.on("error", reject)
      req.end()
    })
  return { get, close: () => agent.destroy() }
}

const proxyHeaders = {
  "X-Remote-User": "alice",
  "X-Remote-Group": ["admins", "system:authenticated"],
  "X-Remote-Extra-Scopes": ["read", "write"],
  "X-Remote-Extra-Acme.com%2Fproject": "p1"
}

const reviewsOf = (kind: "TokenReview" | "SubjectAccessReview") => kube.reviews.filter((r) => r.kind === kind)
const lastReview = () => reviewsOf("SubjectAccessReview").at(-1)!.spec

const expectStatus = (a: Answer, code: number, reason: string) => {
  expect(a.status, a.text).toBe(code)
  expect(a.headers["content-type"]).toContain("application/json")
  expect(a.json).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason })
  return a.json as { message: string }
}

describe("front-proxy authentication", () => {
  it("takes user, groups and extra from the headers of a front-proxy certificate with an allowed name", async () => {
    const a = await call("GET", `${base}/namespaces/team-a/queries`, { cert: frontProxy, headers: proxyHeaders })
    expect(a.status, a.text).toBe(200)
    expect(lastReview()).toEqual({
      user: "alice",
      groups: ["admins", "system:authenticated"],
      extra: { scopes: ["read", "write"], "acme.com/project": ["p1"] },
      resourceAttributes: { group: "ark.mckinsey.com", version: "v1alpha1", resource: "queries", subresource: "", namespace: "team-a", name: "", verb: "list" }
    })
  })

  it("ignores the headers on a plain client certificate: the certificate's CN and O are the user", async () => {
    const a = await call("GET", `${base}/namespaces/team-b/agents`, { cert: bob, headers: proxyHeaders })
    expect(a.status, a.text).toBe(200)
    // As kube's AuthenticatedGroupAdder: every authenticated user is also in system:authenticated.
    expect(lastReview()).toMatchObject({ user: "bob", groups: ["devs", "system:authenticated"], extra: {} })
  })

  it("refuses a front-proxy certificate that names no user", async () => {
    expectStatus(await call("GET", `${base}/namespaces/team-a/queries`, { cert: frontProxy }), 401, "Unauthorized")
  })

  it("keeps health checks open", async () => {
    expect((await call("GET", "/livez")).status).toBe(200)
    expect((await call("GET", "/readyz")).status).toBe(200)
    expect((await call("GET", "/healthz")).status).toBe(200)
  })
})

describe("bearer tokens", () => {
  it("authenticates a token TokenReview accepts, and asks once while the answer is cached", async () => {
    const before = reviewsOf("TokenReview").length
    for (let i = 0; i < 3; i++) {
      const a = await call("GET", `${base}/namespaces/tokens/models`, { headers: { authorization: "Bearer good-token" } })
      expect(a.status, a.text).toBe(200)
      expect(lastReview()).toMatchObject({ user: "tina", groups: ["token-users", "system:authenticated"] })
    }
    expect(reviewsOf("TokenReview").slice(before).map((r) => r.spec.token)).toEqual(["good-token"])
    // ark asks with its own credentials, never the caller's
    expect(reviewsOf("TokenReview").at(-1)!.authorization).toBe("Bearer ark-service-account-token")
  })

  it("refuses a token TokenReview rejects (401), also cached", async () => {
    const before = reviewsOf("TokenReview").length
    for (let i = 0; i < 2; i++) {
      expectStatus(await call("GET", `${base}/namespaces/tokens/models`, { headers: { authorization: "Bearer forged" } }), 401, "Unauthorized")
    }
    expect(reviewsOf("TokenReview").slice(before).map((r) => r.spec.token)).toEqual(["forged"])
  })
})

describe("authorization", () => {
  it("answers a denial with kube's 403 Status, and caches it", async () => {
    const before = reviewsOf("SubjectAccessReview").length
    for (let i = 0; i < 2; i++) {
      const listed = await call("GET", `${base}/namespaces/forbidden/queries`, { cert: frontProxy, headers: proxyHeaders })
      expect(expectStatus(listed, 403, "Forbidden").message).toBe(
        `queries.ark.mckinsey.com is forbidden: User "alice" cannot list resource "queries" in API group "ark.mckinsey.com" in the namespace "forbidden"`
      )
      expect(listed.json.details).toEqual({ group: "ark.mckinsey.com", kind: "queries" })
    }
    expect(reviewsOf("SubjectAccessReview").length).toBe(before + 1)
    const got = await call("GET", `${base}/namespaces/forbidden/queries/q1/status`, { cert: bob })
    expect(expectStatus(got, 403, "Forbidden").message).toBe(
      `queries.ark.mckinsey.com "q1" is forbidden: User "bob" cannot get resource "queries/status" in API group "ark.mckinsey.com" in the namespace "forbidden"`
    )
    expect(got.json.details).toEqual({ name: "q1", group: "ark.mckinsey.com", kind: "queries" })
  })

  it("sends kube's verbs and non-resource paths", async () => {
    const model = { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Model", metadata: { name: "m1" }, spec: { model: { value: "gpt" }, type: "openai", config: { openai: { baseUrl: { value: "http://x" }, apiKey: { value: "k" } } } } }
    const verbs = async (method: string, path: string, body?: unknown) => {
      await call(method, path, { cert: bob, ...(body === undefined ? {} : { body }) })
      return lastReview()
    }
    expect((await verbs("POST", `${base}/namespaces/verbs/models`, model)).resourceAttributes).toMatchObject({ verb: "create", resource: "models", namespace: "verbs" })
    expect((await verbs("GET", `${base}/namespaces/verbs/models/m1`)).resourceAttributes).toMatchObject({ verb: "get", name: "m1" })
    expect((await verbs("DELETE", `${base}/namespaces/verbs/models`)).resourceAttributes).toMatchObject({ verb: "deletecollection", name: "" })
    expect((await verbs("PATCH", `${base}/arkconfigs/default`, {})).resourceAttributes).toMatchObject({ verb: "patch", name: "default", namespace: "", resource: "arkconfigs" })
    expect((await verbs("GET", "/apis")).nonResourceAttributes).toEqual({ path: "/apis", verb: "get" })
    const watching = await new Promise<any>((resolve, reject) => {
      const req = request(new URL(`${base}/namespaces/verbs/models?watch=true`, ark.url), {
        agent: false,
        ca: readFileSync(join(ark.dataDir, "pki", "ca.crt")),
        cert: bob.certPem,
        key: bob.keyPem
      }, (res) => {
        resolve(res.statusCode)
        res.destroy()
      })
      req.on("error", reject)
      req.end()
    })
    expect(watching).toBe(200)
    expect(lastReview().resourceAttributes).toMatchObject({ verb: "watch", resource: "models", namespace: "verbs" })
  })

  it("lets system:masters in without asking", async () => {
    const before = reviewsOf("SubjectAccessReview").length
    expect((await call("GET", `${base}/namespaces/forbidden/queries`, { cert: root })).status).toBe(200)
    expect(reviewsOf("SubjectAccessReview").length).toBe(before)
  })
})

describe("impersonation (kubectl --as, --as-group)", () => {
  it("runs the request as the impersonated user once each impersonation is authorized", async () => {
    const before = reviewsOf("SubjectAccessReview").length
    const listed = await call("GET", `${base}/namespaces/as-carol/agents`, {
      cert: bob,
      headers: { "Impersonate-User": "carol", "Impersonate-Group": ["auditors", "readers"], "Impersonate-Extra-Scopes": "view" }
    })
    expect(listed.status, listed.text).toBe(200)
    const asked = reviewsOf("SubjectAccessReview").slice(before).map((r) => r.spec)
    expect(asked.slice(0, 4).map((spec) => [spec.user, spec.resourceAttributes.verb, spec.resourceAttributes.resource, spec.resourceAttributes.name])).toEqual([
      ["bob", "impersonate", "users", "carol"],
      ["bob", "impersonate", "groups", "auditors"],
      ["bob", "impersonate", "groups", "readers"],
      ["bob", "impersonate", "userextras", "view"]
    ])
    // The request itself is authorized for carol, with her groups and system:authenticated.
    expect(asked.at(-1)).toMatchObject({
      user: "carol",
      groups: ["auditors", "readers", "system:authenticated"],
      extra: { scopes: ["view"] },
      resourceAttributes: { verb: "list", resource: "agents", namespace: "as-carol" }
    })
  })

  it("refuses an impersonation the authorizer denies (403), and impersonated groups without a user (400)", async () => {
    const denied = await call("GET", `${base}/namespaces/team-a/agents`, { cert: frontProxy, headers: { ...proxyHeaders, "Impersonate-User": "carol" } })
    expect(expectStatus(denied, 403, "Forbidden").message).toBe(
      `users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope`
    )
    // system:masters may impersonate without asking, as in kube.
    expect((await call("GET", `${base}/namespaces/team-a/agents`, { cert: root, headers: { "Impersonate-User": "carol" } })).status).toBe(200)
    const groupsOnly = await call("GET", `${base}/namespaces/team-a/agents`, { cert: bob, headers: { "Impersonate-Group": "admins" } })
    expect(expectStatus(groupsOnly, 400, "BadRequest").message).toBe("requested impersonation of groups, uid or extra fields without impersonating a user")
  })
})

// Last: it rewrites the ConfigMap the other tests rely on.
describe("a client CA rotated in extension-apiserver-authentication", () => {
  it("is trusted without a restart once the ConfigMap lists it, and the old CA's certificates still work", async () => {
    const rotated = await makeCa("rotated-client-ca")
    const dave = await issue(rotated, { cn: "dave", o: ["devs"] })
    const path = `${base}/namespaces/team-a/agents`
    expectStatus(await call("GET", path, { cert: dave }), 401, "Unauthorized")
    configMap["client-ca-file"] = clientCa.certPem + rotated.certPem
    const deadline = Date.now() + 20_000
    let status = 401
    while (status === 401 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      status = (await call("GET", path, { cert: dave })).status
    }
    expect(status).toBe(200)
    expect((await call("GET", path, { cert: bob })).status).toBe(200)
  })

  it("stops trusting a kept-alive connection's certificate once its CA leaves the ConfigMap, or once it expires", async () => {
    const path = `${base}/namespaces/team-a/agents`
    const passing = await makeCa("passing-client-ca")
    const erin = await issue(passing, { cn: "erin" })
    // Valid for a few seconds: it expires while its connection is open.
    const expiry = new Date(Date.now() + 4_000)
    const frank = await issue(clientCa, { cn: "frank", notAfter: expiry })
    configMap["client-ca-file"] = clientCa.certPem + passing.certPem
    const erins = connection(erin)
    const franks = connection(frank)
    try {
      await eventually("erin trusted", () => erins.get(path), (a) => a.status === 200, 20_000)
      expect((await franks.get(path)).status).toBe(200)

      configMap["client-ca-file"] = clientCa.certPem
      const later = await eventually("erin distrusted", () => erins.get(path), (a) => a.status !== 200, 20_000)
      expect(later.reused).toBe(true)
      expectStatus(later, 401, "Unauthorized")

      // Asked every 100 ms (the connection never idles out): 200 until the certificate expires, then 401.
      const expired = await eventually("frank's certificate expired", () => franks.get(path), (a) => a.status !== 200, 15_000)
      expect(expired.reused).toBe(true)
      expectStatus(expired, 401, "Unauthorized")
      // Certificates keep whole seconds.
      expect(Date.now()).toBeGreaterThanOrEqual(expiry.getTime() - 1_000)
    } finally {
      erins.close()
      franks.close()
    }
  })
})
