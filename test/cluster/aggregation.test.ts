/**
 * ark-effect behind a real kube-apiserver's aggregation layer, registered by the chart's
 * APIServices (PostgreSQL configuration), driven by kubectl 1.35 pointed at kube-apiserver only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { request } from "node:https"
import { join } from "node:path"
import type { ArkInstall, ArkReplica } from "../support/arkInCluster.ts"
import { startArkCluster } from "../support/arkInCluster.ts"
import type { KubeCluster } from "../support/cluster.ts"
import { issue, makeCa } from "../support/certs.ts"
import { peersBuildTimeout } from "../support/cluster.ts"

const examples = join(import.meta.dirname, "..", "..", "examples")
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("ark-effect behind kube-apiserver (PostgreSQL configuration)", () => {
  let cluster: KubeCluster
  let install: ArkInstall
  let ark: ArkReplica
  let stop: (() => Promise<void>) | undefined

  beforeAll(async () => {
    ;({ cluster, install, ark, stop } = await startArkCluster())
  }, peersBuildTimeout)
  afterAll(() => stop?.())

  const ok = (args: ReadonlyArray<string>, input?: string) => cluster.ok(args, input)
  /** Polls kubectl until `done` accepts its output (bounded), returning the last output. */
  const until = async (args: ReadonlyArray<string>, done: (out: string) => boolean, ms = 60_000) => {
    const deadline = Date.now() + ms
    let last = ""
    while (Date.now() < deadline) {
      const r = await cluster.kubectl(args)
      last = `${r.stdout}${r.stderr}`
      if (r.code === 0 && done(r.stdout)) return r.stdout
      await sleep(500)
    }
    throw new Error(`kubectl ${args.join(" ")} never satisfied the condition; last:\n${last}\n${ark.output().slice(-3000)}`)
  }

  /** A request straight to ark's port (not through the aggregator), as a pod in the cluster could send it. */
  const direct = async (path: string, headers: Record<string, string>) => {
    const port = await cluster.forward(ark.address, ark.port)
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`https://127.0.0.1:${port}${path}`, {
        ca: readFileSync(join(install.tlsDir, "ca.crt")),
        servername: "ark.ark-system.svc",
        headers
      }, (res) => {
        let body = ""
        res.on("data", (c: Buffer) => (body += c.toString()))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on("error", reject)
      req.end()
    })
  }

  const agentYaml = (name: string) => `apiVersion: ark.mckinsey.com/v1alpha1\nkind: Agent\nmetadata:\n  name: ${name}\nspec:\n  prompt: hi\n`

  it("both APIServices become Available", async () => {
    for (const version of ["v1alpha1", "v1prealpha1"]) {
      await until(
        ["get", "apiservice", `${version}.ark.mckinsey.com`, "-o", "jsonpath={.status.conditions[?(@.type=='Available')].status}"],
        (out) => out === "True"
      )
    }
  })

  it("kubectl api-resources lists every Ark kind with its versions", async () => {
    const out = await ok(["api-resources", "--api-group", "ark.mckinsey.com", "-o", "wide"])
    for (const [plural, version] of [["agents", "v1alpha1"], ["queries", "v1alpha1"], ["teams", "v1alpha1"], ["models", "v1alpha1"], ["tools", "v1alpha1"], ["a2aservers", "v1prealpha1"], ["executionengines", "v1prealpha1"]]) {
      expect(out).toMatch(new RegExp(`^${plural}\\s.*ark\\.mckinsey\\.com/${version}\\s`, "m"))
    }
  })

  it("applies the examples; Queries reach done; tables show ark's printer columns", async () => {
    const applied = await ok(["apply", "-f", examples])
    expect(applied).toContain("query.ark.mckinsey.com/lisbon-weather created")
    await until(["get", "query", "lisbon-weather", "-o", "jsonpath={.status.phase}"], (out) => out === "done")
    const tables = await ok(["get", "queries,agents"])
    expect(tables).toMatch(/NAME\s+TYPE\s+PHASE\s+DURATION\s+AGE/)
    expect(tables).toMatch(/query\.ark\.mckinsey\.com\/lisbon-weather\s+user\s+done/)
    const yaml = await ok(["get", "query", "lisbon-weather", "-o", "yaml"])
    expect(yaml).toContain("kind: Query")
    expect(yaml).toMatch(/resourceVersion: "\d+"/)
    expect(yaml).toMatch(/content: .+/)
  })

  it("kubectl get -w sees a change made through kube-apiserver", async () => {
    const watch = cluster.kubectl(["get", "agents", "weather-reporter", "-w", "--output-watch-events", "-o", "jsonpath={.type} {.object.metadata.labels.round}{\"\\n\"}", "--request-timeout", "8s"])
    await sleep(3_000)
    await ok(["label", "agent", "weather-reporter", "round=two"])
    const r = await watch
    expect(r.stdout).toMatch(/MODIFIED two/)
  })

  it("kubectl explain reads the Ark schemas from kube-apiserver's merged OpenAPI v2 and v3", async () => {
    const v3 = await ok(["explain", "queries.spec.target"])
    expect(v3).toContain("GROUP:      ark.mckinsey.com")
    expect(v3).toMatch(/FIELDS:[\s\S]*name\s+<string>/)
    const v2 = await ok(["explain", "queries.spec.target", "--output", "plaintext-openapiv2"])
    expect(v2).toContain("RESOURCE: target <Object>")
    expect(v2).toMatch(/FIELDS:[\s\S]*name\s+<string>/)
  })

  it("server-side apply: a conflict between managers is a 409 until --force-conflicts", async () => {
    const agent = (prompt: string) => `apiVersion: ark.mckinsey.com/v1alpha1\nkind: Agent\nmetadata:\n  name: ssa\nspec:\n  prompt: ${prompt}\n`
    await ok(["apply", "--server-side", "--field-manager", "alice", "-f", "-"], agent("from alice"))
    const conflict = await cluster.kubectl(["apply", "--server-side", "--field-manager", "bob", "-f", "-"], { input: agent("from bob") })
    expect(conflict.code).not.toBe(0)
    expect(conflict.stderr).toMatch(/conflict with "alice"/)
    await ok(["apply", "--server-side", "--field-manager", "bob", "--force-conflicts", "-f", "-"], agent("from bob"))
    expect(await ok(["get", "agent", "ssa", "-o", "jsonpath={.spec.prompt}"])).toBe("from bob")
  })

  it("delete waits for a finalizer; removing it completes the delete", async () => {
    await ok(["apply", "-f", "-"], "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Agent\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\nspec:\n  prompt: held\n")
    await ok(["delete", "agent", "held", "--wait=false"])
    expect(await ok(["get", "agent", "held", "-o", "jsonpath={.metadata.deletionTimestamp}"])).not.toBe("")
    await ok(["patch", "agent", "held", "--type", "merge", "-p", "{\"metadata\":{\"finalizers\":null}}"])
    await until(["get", "agents", "-o", "name"], (out) => !out.includes("agent.ark.mckinsey.com/held"))
  })

  it("kubectl get -o yaml | kubectl apply -f - round-trips every Ark object", async () => {
    const kinds = "agents,models,teams,tools,queries"
    const exported = await ok(["get", kinds, "-o", "yaml"])
    const applied = await ok(["apply", "-f", "-"], exported)
    expect(applied).toMatch(/agent\.ark\.mckinsey\.com\/weather-reporter (configured|unchanged)/)
    expect(applied).toMatch(/query\.ark\.mckinsey\.com\/lisbon-weather (configured|unchanged)/)
    expect(await ok(["get", "query", "lisbon-weather", "-o", "jsonpath={.status.phase}"])).toBe("done")
  })

  describe("authentication and authorization, decided by the real kube-apiserver", () => {
    it("a user without RBAC is forbidden with kube's message; the aggregated edit and view roles grant what they say", async () => {
      const alice = await cluster.kubeconfig("alice", { cn: "alice", groups: ["developers"] })
      const denied = await cluster.kubectl(["get", "queries"], { kubeconfig: alice })
      expect(denied.code).not.toBe(0)
      expect(denied.stderr).toContain(
        `queries.ark.mckinsey.com is forbidden: User "alice" cannot list resource "queries" in API group "ark.mckinsey.com" in the namespace "default"`
      )
      await ok(["create", "rolebinding", "alice-edit", "--clusterrole", "edit", "--user", "alice", "-n", "default"])
      await until(["auth", "can-i", "create", "agents.ark.mckinsey.com", "--as", "alice", "-n", "default"], (out) => out.trim() === "yes")
      const created = await cluster.kubectl(["apply", "-f", "-"], { kubeconfig: alice, input: agentYaml("alices") })
      expect(created.code, created.stderr).toBe(0)
      expect((await cluster.kubectl(["get", "agent", "alices", "-o", "name"], { kubeconfig: alice })).stdout).toBe("agent.ark.mckinsey.com/alices\n")

      const bob = await cluster.kubeconfig("bob", { cn: "bob" })
      await ok(["create", "rolebinding", "bob-view", "--clusterrole", "view", "--user", "bob", "-n", "default"])
      await until(["auth", "can-i", "list", "agents.ark.mckinsey.com", "--as", "bob", "-n", "default"], (out) => out.trim() === "yes")
      const listed = await cluster.kubectl(["get", "agents", "-o", "name"], { kubeconfig: bob })
      expect(listed.code, listed.stderr).toBe(0)
      expect(listed.stdout).toContain("agent.ark.mckinsey.com/alices")
      const refused = await cluster.kubectl(["apply", "-f", "-"], { kubeconfig: bob, input: agentYaml("bobs") })
      expect(refused.stderr).toContain(`User "bob" cannot create resource "agents" in API group "ark.mckinsey.com" in the namespace "default"`)
    })

    it("kubectl --as impersonation is decided by kube's RBAC and reaches ark as the impersonated user", async () => {
      const r = await cluster.kubectl(["get", "agents", "--as", "carol"])
      expect(r.stderr).toContain(`User "carol" cannot list resource "agents"`)
      await ok(["create", "rolebinding", "carol-view", "--clusterrole", "view", "--user", "carol", "-n", "default"])
      await until(["get", "agents", "--as", "carol", "-o", "name"], (out) => out.includes("agent.ark.mckinsey.com/weather-reporter"))
      // carol may read but not write: ark's own SubjectAccessReview sees carol, not the admin.
      const write = await cluster.kubectl(["label", "agent", "weather-reporter", "by=carol", "--as", "carol"])
      expect(write.stderr).toContain(`User "carol" cannot patch resource "agents"`)
    })

    it("a ServiceAccount token is accepted through TokenReview, with the ServiceAccount's RBAC", async () => {
      await ok(["create", "serviceaccount", "reader", "-n", "default"])
      const token = (await ok(["create", "token", "reader", "-n", "default"])).trim()
      const before = await direct("/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents", { authorization: `Bearer ${token}` })
      expect(before.status).toBe(403)
      expect(JSON.parse(before.body).message).toContain(`User "system:serviceaccount:default:reader" cannot list resource "agents"`)
      await ok(["create", "rolebinding", "reader-view", "--clusterrole", "view", "--serviceaccount", "default:reader", "-n", "default"])
      const deadline = Date.now() + 30_000
      let after = await direct("/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents", { authorization: `Bearer ${token}` })
      // ark caches a SubjectAccessReview's answer for a few seconds, as kube's webhook authorizer does.
      while (after.status !== 200 && Date.now() < deadline) {
        await sleep(1_000)
        after = await direct("/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents", { authorization: `Bearer ${token}` })
      }
      expect(after.status).toBe(200)
      expect(JSON.parse(after.body).items.map((i: { metadata: { name: string } }) => i.metadata.name)).toContain("weather-reporter")
      // Through kube-apiserver, the same token works as any client's.
      const viaKube = await cluster.kubeconfig("reader", { token })
      expect((await cluster.kubectl(["get", "agent", "weather-reporter", "-o", "name"], { kubeconfig: viaKube })).stdout).toBe(
        "agent.ark.mckinsey.com/weather-reporter\n"
      )
    })

    it("forged X-Remote-User headers without the front-proxy certificate are 401", async () => {
      const forged = await direct("/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents", {
        "X-Remote-User": "kubernetes-admin",
        "X-Remote-Group": "system:masters"
      })
      expect(forged.status).toBe(401)
      expect(JSON.parse(forged.body)).toMatchObject({ kind: "Status", code: 401, reason: "Unauthorized" })
    })

    it("/metrics on ark's API port needs the nonResourceURLs rule", async () => {
      await ok(["create", "serviceaccount", "scraper", "-n", "default"])
      const token = (await ok(["create", "token", "scraper", "-n", "default"])).trim()
      const denied = await direct("/metrics", { authorization: `Bearer ${token}` })
      expect(denied.status).toBe(403)
      await ok(["create", "clusterrole", "metrics-reader", "--verb", "get", "--non-resource-url", "/metrics"])
      await ok(["create", "clusterrolebinding", "scraper-metrics", "--clusterrole", "metrics-reader", "--serviceaccount", "default:scraper"])
      const deadline = Date.now() + 30_000
      let allowed = await direct("/metrics", { authorization: `Bearer ${token}` })
      while (allowed.status !== 200 && Date.now() < deadline) {
        await sleep(1_000)
        allowed = await direct("/metrics", { authorization: `Bearer ${token}` })
      }
      expect(allowed.status).toBe(200)
      expect(allowed.body).toContain("apiserver_request_total")
    })
  })

  describe("ark's own authentication and authorization, with the real CAs and RBAC", () => {
    const agents = "/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents"
    /** A request straight to ark, with a client certificate. */
    const as = async (cert: { certPem: string; keyPem: string }, method: string, path: string, headers: Record<string, string | Array<string>> = {}) => {
      const port = await cluster.forward(ark.address, ark.port)
      return new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`https://127.0.0.1:${port}${path}`, {
          method,
          ca: readFileSync(join(install.tlsDir, "ca.crt")),
          servername: "ark.ark-system.svc",
          cert: cert.certPem,
          key: cert.keyPem,
          headers,
          agent: false
        }, (res) => {
          // A watch answers 200 and stays open: its status is all this needs.
          if (path.includes("watch=true") && res.statusCode === 200) {
            res.destroy()
            return resolve({ status: 200, body: "" })
          }
          let body = ""
          res.on("data", (c: Buffer) => (body += c.toString()))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on("error", reject)
        req.end()
      })
    }
    const message = (r: { body: string }) => (JSON.parse(r.body) as { message: string }).message
    /** kube-apiserver's count of the reviews it answered (resource subjectaccessreviews or tokenreviews). */
    const reviewsAnswered = async (resource: string) => {
      const metrics = await ok(["get", "--raw", "/metrics"])
      return metrics.split("\n")
        .filter((l) => l.startsWith("apiserver_request_total{") && l.includes(`resource="${resource}"`) && l.includes(`verb="POST"`))
        .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0)
    }
    const grant = async (name: string, user: string, rules: ReadonlyArray<string>) => {
      await ok(["apply", "-f", "-"], [
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: ${name}\n  namespace: default\nrules:\n${rules.join("\n")}\n`,
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ${name}\n  namespace: default\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: ${name}\nsubjects:\n  - kind: User\n    name: ${user}\n`
      ].join("---\n"))
    }
    /** Retries while ark's cached denial (10 s) outlives a new grant. */
    const eventuallyAnswer = async (call: () => Promise<{ status: number; body: string }>, done: (r: { status: number; body: string }) => boolean) => {
      const deadline = Date.now() + 30_000
      let r = await call()
      while (!done(r) && Date.now() < deadline) {
        await sleep(1_000)
        r = await call()
      }
      return r
    }
    const eventuallyStatus = async (call: () => Promise<{ status: number; body: string }>, status: number) => {
      const r = await eventuallyAnswer(call, (a) => a.status === status)
      expect(r.status, r.body).toBe(status)
      return r
    }

    it("trusts client certificates of the cluster CA as kube publishes it, and no other CA's", async () => {
      const dora = await issue(cluster.ca, { cn: "dora", o: ["dora-team"] })
      const denied = await as(dora, "GET", agents)
      expect(denied.status).toBe(403)
      expect(message(denied)).toBe(`agents.ark.mckinsey.com is forbidden: User "dora" cannot list resource "agents" in API group "ark.mckinsey.com" in the namespace "default"`)
      const stranger = await issue(await makeCa("someone-elses-ca"), { cn: "kubernetes-admin", o: ["system:masters"] })
      expect((await as(stranger, "GET", agents)).status).toBe(401)
      // A front-proxy certificate of kube's front-proxy CA, but not with the allowed name.
      const proxy = await issue(cluster.frontProxyCa, { cn: "not-the-aggregator" })
      expect((await as(proxy, "GET", agents, { "X-Remote-User": "kubernetes-admin", "X-Remote-Group": "system:masters" })).status).toBe(401)
      // The aggregator's own name: the headers are believed.
      const aggregator = await issue(cluster.frontProxyCa, { cn: "front-proxy-client" })
      const proxied = await as(aggregator, "GET", agents, { "X-Remote-User": "dora", "X-Remote-Group": "dora-team" })
      expect(message(proxied)).toContain(`User "dora" cannot list resource "agents"`)
    })

    it("asks kube's RBAC with the verb and subresource of each request", async () => {
      const erin = await issue(cluster.ca, { cn: "erin" })
      await ok(["apply", "-f", "-"], agentYaml("erins"))
      await grant("erin", "erin", [
        `  - apiGroups: [ark.mckinsey.com]\n    resources: [agents]\n    verbs: [watch, deletecollection]`,
        `  - apiGroups: [ark.mckinsey.com]\n    resources: [agents/status]\n    verbs: [get]`
      ])
      await eventuallyStatus(() => as(erin, "GET", `${agents}?watch=true`), 200)
      const listed = await as(erin, "GET", agents)
      expect(message(listed)).toContain(`User "erin" cannot list resource "agents"`)
      const status = await as(erin, "GET", `${agents}/erins/status`)
      expect(status.status, status.body).toBe(200)
      const got = await as(erin, "GET", `${agents}/erins`)
      expect(message(got)).toBe(
        `agents.ark.mckinsey.com "erins" is forbidden: User "erin" cannot get resource "agents" in API group "ark.mckinsey.com" in the namespace "default"`
      )
      // DELETE on the collection is deletecollection (granted), on one object delete (not granted).
      const one = await as(erin, "DELETE", `${agents}/erins`)
      expect(message(one)).toContain(`User "erin" cannot delete resource "agents"`)
      expect((await as(erin, "DELETE", `${agents}?labelSelector=nothing%3Dmatches`)).status).toBe(200)
    })

    it("impersonation sent straight to ark is authorized by kube's RBAC, then runs as the impersonated user", async () => {
      const frank = await issue(cluster.ca, { cn: "frank" })
      const denied = await as(frank, "GET", agents, { "Impersonate-User": "gina" })
      expect(message(denied)).toBe(`users "gina" is forbidden: User "frank" cannot impersonate resource "users" in API group "" at the cluster scope`)
      await ok(["create", "clusterrole", "impersonate-gina", "--verb", "impersonate", "--resource", "users", "--resource-name", "gina"])
      await ok(["create", "clusterrolebinding", "frank-impersonates", "--clusterrole", "impersonate-gina", "--user", "frank"])
      const cannot = `User "gina" cannot list resource "agents"`
      const asGina = await eventuallyAnswer(() => as(frank, "GET", agents, { "Impersonate-User": "gina" }), (r) => r.body.includes(cannot))
      expect(message(asGina)).toContain(cannot)
      await grant("gina", "gina", [`  - apiGroups: [ark.mckinsey.com]\n    resources: [agents]\n    verbs: [list]`])
      await eventuallyStatus(() => as(frank, "GET", agents, { "Impersonate-User": "gina" }), 200)
    }, 120_000)

    it("caches kube's answers: a repeated request is not reviewed again", async () => {
      const hana = await issue(cluster.ca, { cn: "hana" })
      await grant("hana", "hana", [`  - apiGroups: [ark.mckinsey.com]\n    resources: [teams]\n    verbs: [list]`])
      const teams = "/apis/ark.mckinsey.com/v1alpha1/namespaces/default/teams"
      await eventuallyStatus(() => as(hana, "GET", teams), 200)
      const before = await reviewsAnswered("subjectaccessreviews")
      for (let i = 0; i < 5; i++) expect((await as(hana, "GET", teams)).status).toBe(200)
      expect(await reviewsAnswered("subjectaccessreviews")).toBe(before)

      await ok(["create", "serviceaccount", "cached", "-n", "default"])
      const token = (await ok(["create", "token", "cached", "-n", "default"])).trim()
      const tokensBefore = await reviewsAnswered("tokenreviews")
      for (let i = 0; i < 3; i++) await direct(agents, { authorization: `Bearer ${token}` })
      expect(await reviewsAnswered("tokenreviews")).toBe(tokensBefore + 1)
      const forged = await direct(agents, { authorization: "Bearer not-a-token" })
      expect(forged.status).toBe(401)
    })
  })
})
