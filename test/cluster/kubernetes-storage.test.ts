/**
 * The chart's default configuration end to end on a real kube-apiserver: `helm install ark
 * ./chart` with no values is admitted by the server; the CRDs (`ark crds`) and the chart's webhook
 * configurations are applied, and two `ark serve --storage kubernetes` replicas run the
 * controller, the query workers (on the Lease's leader), the webhook and metrics with the chart's
 * ServiceAccount, reached by kube-apiserver through the chart's Service and an EndpointSlice.
 * Users only ever talk to kube-apiserver.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createServer as createHttpsServer, request as httpsRequest } from "node:https"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as KubeRestClient from "../../src/layers/KubeRestClient.ts"
import type { ArkInstall, ArkReplica, ReplicaOptions } from "../support/arkInCluster.ts"
import { installChart, namespace as releaseNamespace, registerEndpoints, startReplica } from "../support/arkInCluster.ts"
import type { KubeCluster } from "../support/cluster.ts"
import { issue } from "../support/certs.ts"
import { kubeBinaries, peersBuildTimeout, startCluster } from "../support/cluster.ts"
import type { ScriptedEngine } from "../support/engine.ts"
import { startScriptedEngine } from "../support/engine.ts"
import { chartDir, helm } from "../support/helm.ts"
import { kubectlBinaries } from "../support/kubectl.ts"

const root = join(import.meta.dirname, "..", "..")
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const terminal = new Set(["done", "error", "canceled"])

describe("the default chart configuration: ark through kube-apiserver's API (--storage kubernetes)", () => {
  let cluster: KubeCluster
  let install: ArkInstall
  let engine: ScriptedEngine
  let engineUrl: string
  const replicas: Array<ArkReplica> = []

  beforeAll(async () => {
    cluster = await startCluster()
    // Each Query takes a while, so a leader can die with Queries running.
    engine = await startScriptedEngine((input) => ({ delayMs: input.startsWith("slow") ? 5_000 : 0, then: `answer to ${input}` }))
    engineUrl = `http://127.0.0.1:${await cluster.reach(Number(new URL(engine.url).port))}`
  }, peersBuildTimeout)
  afterAll(async () => {
    for (const r of replicas) await r.kill().catch(() => undefined)
    await engine?.stop()
    await cluster?.stop()
  })

  const ok = (args: ReadonlyArray<string>, input?: string) => cluster.ok(args, input)
  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      const got = await probe()
      if (got !== undefined) return got
      await sleep(300)
    }
    throw new Error(`${what} did not happen in ${ms / 1000} s\n${replicas.map((r) => r.output().slice(-2000)).join("\n---\n")}`)
  }

  /**
   * kube-apiserver as helm reaches it, reporting the release it was built from: the harness builds
   * it without the version stamp (`/version` says v0.0.0-master), which the chart's kubeVersion
   * check refuses. Everything else is passed through to the real server, as the cluster admin.
   */
  const stampedVersion = async () => {
    const version = /kubernetes-(v\d+\.\d+\.\d+)/.exec(await kubeBinaries())![1]!
    const [major, minor] = version.slice(1).split(".")
    const serving = await issue(cluster.ca, { cn: "version-stamp", hosts: ["localhost", "127.0.0.1"] })
    const admin = await issue(cluster.ca, { cn: "helm", o: ["system:masters"] })
    const upstream = new URL(cluster.url)
    const server = createHttpsServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      const forwarded = httpsRequest({
        host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host },
        ca: cluster.ca.certPem, cert: admin.certPem, key: admin.keyPem
      }, (answer) => {
        if (new URL(req.url ?? "/", "https://x").pathname !== "/version") {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
          return
        }
        let body = ""
        answer.on("data", (c: Buffer) => (body += c.toString()))
        answer.on("end", () => {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ ...JSON.parse(body), major, minor, gitVersion: version }))
        })
      })
      forwarded.on("error", () => res.destroy())
      req.pipe(forwarded)
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const kubeconfig = await cluster.kubeconfig("helm", { token: "unused" }, {
      server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      caPem: cluster.ca.certPem,
      serverName: "localhost"
    })
    return { kubeconfig, close: () => server.close() }
  }

  it("helm install ark ./chart with no values installs against kube-apiserver (--dry-run=server)", async () => {
    const front = await stampedVersion()
    const r = await helm(["install", "ark", chartDir, "--kubeconfig", front.kubeconfig, "--dry-run=server"]).finally(front.close)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("--storage kubernetes")
    expect(r.stdout).not.toContain("--etcd-endpoints")
    expect(r.stdout).toContain("kind: ValidatingWebhookConfiguration")
  }, 120_000)

  /** A replica as a pod of the chart's Deployment would run it. */
  const replica = async (identity: string, webhookPort: number, metricsPort: number) => {
    const options: ReplicaOptions = {
      storage: ["--storage", "kubernetes", "--kubeconfig", install.serviceAccountKubeconfig],
      modules: "controller,query-workers,webhook,metrics",
      port: 0,
      metricsPort,
      args: ["--completions-url", engineUrl, "--webhook-port", String(webhookPort), "--webhook-cert-dir", install.tlsDir],
      env: { ARK_LEADER_ELECTION_IDENTITY: identity, ARK_LEADER_ELECTION_NAMESPACE: releaseNamespace },
      ready: /ark: webhook serving /
    }
    const r = await startReplica(cluster, install, options)
    replicas.push(r)
    return r
  }
  const endpoint = (r: ArkReplica, webhookPort: number) => ({ address: r.address, ports: { webhook: webhookPort, metrics: r.metricsPort } })

  it("serves examples/ through kube-apiserver with ark's webhooks; a leader's death loses no Query and runs none twice", async () => {
    install = await installChart(cluster, ["storage.backend=etcd"])
    const a = await replica("replica-a", 9443, 8080)
    const b = await replica("replica-b", 9444, 8081)
    await registerEndpoints(cluster, install, [endpoint(a, 9443)])

    // Every example, as a user applies it, to kube-apiserver.
    await ok(["create", "namespace", "demo"])
    await until("the webhook to answer", async () => {
      const r = await cluster.kubectl(["apply", "-n", "demo", "--dry-run=server", "-f", join(root, "examples", "agent-copy-editor.yaml")])
      return r.code === 0 ? true : undefined
    })
    await ok(["apply", "-n", "demo", "-f", join(root, "examples")])
    const queries = (await ok(["get", "queries", "-n", "demo", "-o", "jsonpath={.items[*].metadata.name}"])).split(" ").filter((n) => n !== "")
    expect(queries.length).toBeGreaterThan(0)
    for (const q of queries) {
      await until(`Query ${q} done`, async () => {
        const phase = (await cluster.kubectl(["get", "query", q, "-n", "demo", "-o", "jsonpath={.status.phase}"])).stdout
        return phase === "done" ? phase : undefined
      })
    }
    // The controller gives Agents and Teams their conditions.
    for (const kind of ["agents", "teams"]) {
      const names = (await ok(["get", kind, "-n", "demo", "-o", "jsonpath={.items[*].metadata.name}"])).split(" ").filter((n) => n !== "")
      expect(names.length, kind).toBeGreaterThan(0)
      for (const n of names) {
        await until(`${kind}/${n} conditions`, async () => {
          const types = (await cluster.kubectl(["get", kind, n, "-n", "demo", "-o", "jsonpath={.status.conditions[*].type}"])).stdout
          return types !== "" ? types : undefined
        })
      }
    }
    // The mutating webhook's defaults are stored: an Agent without a model gets the default one, a Query its ttl.
    await ok(["apply", "-n", "demo", "-f", "-"], [
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Agent\nmetadata:\n  name: bare\nspec:\n  prompt: hi\n",
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Query\nmetadata:\n  name: bare\nspec:\n  input: hi\n  target:\n    type: agent\n    name: bare\n"
    ].join("---\n"))
    expect(await ok(["get", "agent", "bare", "-n", "demo", "-o", "jsonpath={.spec.modelRef.name}"])).toBe("default")
    expect(await ok(["get", "query", "bare", "-n", "demo", "-o", "jsonpath={.spec.ttl}"])).toBe("720h")
    // Invalid objects are refused by kube-apiserver with ark's webhook message, and not stored.
    const kube = await Effect.runPromise(KubeRestClient.connect(cluster.admin))
    const refused = async (plural: string, body: Record<string, unknown>, webhook: string, rule: string) => {
      const r = await Effect.runPromise(kube.request("POST", `/apis/ark.mckinsey.com/v1alpha1/namespaces/demo/${plural}`, body))
      const status = JSON.parse(r.body) as { code: number; message: string }
      expect(r.status, r.body).toBe(422)
      expect(status.message).toContain(`admission webhook "${webhook}" denied the request`)
      expect(status.message).toContain(rule)
      // kubectl shows the rule too (it words an Invalid Status from its causes).
      const viaKubectl = await cluster.kubectl(["create", "-n", "demo", "-f", "-"], { input: JSON.stringify(body) })
      expect(viaKubectl.code).not.toBe(0)
      expect(viaKubectl.stderr).toContain(rule)
      const name = (body["metadata"] as { name: string }).name
      expect((await cluster.kubectl(["get", plural, name, "-n", "demo"])).code).not.toBe(0)
    }
    await refused("teams", {
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Team",
      metadata: { name: "no-picker" },
      spec: { strategy: "selector", maxTurns: 3, members: [{ name: "bare", type: "agent" }] }
    }, "vteam.ark.mckinsey.com", "selector strategy requires selector.agent to be specified")
    await refused("queries", {
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Query",
      metadata: { name: "blank" },
      spec: { input: "  ", target: { type: "agent", name: "bare" } }
    }, "vquery.ark.mckinsey.com", "input must not be empty")

    // Failover: every phase every Query goes through, as kube-apiserver's watch reports it.
    const { kubectl } = await kubectlBinaries("v35")
    await ok(["create", "namespace", "failover"])
    const watcher = spawn(kubectl, [
      "--kubeconfig", cluster.admin, "get", "queries", "-n", "failover", "--watch", "--output-watch-events",
      "-o", "jsonpath={.type} {.object.metadata.name} {.object.status.phase}{\"\\n\"}"
    ], { stdio: ["ignore", "pipe", "pipe"] })
    const phases = new Map<string, Array<string>>()
    let buffer = ""
    watcher.stdout.on("data", (c: Buffer) => {
      buffer += c.toString()
      let nl: number
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const [, name, phase] = buffer.slice(0, nl).split(" ")
        buffer = buffer.slice(nl + 1)
        if (name === undefined) continue
        const seen = phases.get(name) ?? []
        if (phase !== undefined && phase !== "" && seen[seen.length - 1] !== phase) seen.push(phase)
        phases.set(name, seen)
      }
    })
    try {
      const lease = ["get", "lease", "ark-effect-controller", "-n", releaseNamespace, "-o", "jsonpath={.spec.holderIdentity}"]
      const holder = await until("a leader", async () => {
        const h = (await cluster.kubectl(lease)).stdout
        return h === "replica-a" || h === "replica-b" ? h : undefined
      })
      const [leader, follower, followerPort] = holder === "replica-a" ? [a, b, 9444] : [b, a, 9443]
      const names = Array.from({ length: 12 }, (_, i) => `slow-${i}`)
      await ok(["apply", "-n", "failover", "-f", "-"], names.map((n) =>
        `apiVersion: ark.mckinsey.com/v1alpha1\nkind: Query\nmetadata:\n  name: ${n}\nspec:\n  input: ${n}\n  target:\n    type: agent\n    name: bare\n`
      ).join("---\n"))
      // The leader dies with Queries running at the engine.
      await until("Queries running at the engine", async () => (engine.calls.filter((c) => c.input.startsWith("slow")).length >= 3 ? true : undefined))
      // (Long before any of them can be answered: a leader killed between an answer and its status
      // write would rightly have that Query asked again.)
      await leader.kill()
      await registerEndpoints(cluster, install, [endpoint(follower, followerPort)])
      await until("the follower to lead", async () => ((await cluster.kubectl(lease)).stdout !== holder ? true : undefined), 60_000)
      for (const n of names) {
        await until(`Query ${n} done after the failover`, async () => ((phases.get(n) ?? []).includes("done") ? true : undefined), 90_000)
      }
      await sleep(2_000)
      for (const n of names) {
        const seen = phases.get(n)!
        // Exactly one terminal phase, never left again.
        expect(seen.filter((p) => terminal.has(p)), `${n}: ${seen.join(" -> ")}`).toEqual(["done"])
        expect(seen[seen.length - 1]).toBe("done")
        // The engine answered it once: only an attempt the dead leader had running may have been cut.
        const answered = engine.calls.filter((c) => c.input === n && !c.aborted)
        expect(answered.length, `${n} answered: ${JSON.stringify(engine.calls.filter((c) => c.input === n))}; phases ${seen.join(" -> ")}\n${replicas.map((r) => r.output().split("\n").filter((l) => l.includes(n)).join("\n")).join("\n---\n")}`).toBeLessThanOrEqual(1)
      }
    } finally {
      watcher.kill()
    }
  }, 400_000)
})
