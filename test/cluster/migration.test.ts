/**
 * The seed's migration path on one real kube-apiserver, in the README's order: Ark resources made
 * in the CRD configuration (ark through kube-apiserver's API) are copied to ark on PostgreSQL
 * (the seed's kubectl pipeline, then `ark migrate-resources` for the statuses), the APIServices
 * take the group over from the CRDs, ark serves every object, status and watch and its controller
 * reconciles, and the CRDs are removed.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { stringify } from "yaml"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { resources } from "../../src/domain/registry.ts"
import type { ArkInstall, ArkReplica } from "../support/arkInCluster.ts"
import { directKubeconfig, installChart, namespace as releaseNamespace, registerEndpoints, startReplica, waitForApiServices } from "../support/arkInCluster.ts"
import type { KubeCluster } from "../support/cluster.ts"
import { peersBuildTimeout, startCluster } from "../support/cluster.ts"
import { helmTemplate, ofKind } from "../support/helm.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import { freshDatabase } from "../support/pg.ts"

const main = join(import.meta.dirname, "..", "..", "src", "programs", "main.ts")
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const run = (command: string, args: ReadonlyArray<string>, input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(input ?? "")
  })

describe("migrating the CRD configuration to ark on PostgreSQL, on one kube-apiserver", () => {
  let cluster: KubeCluster
  let install: ArkInstall
  const replicas: Array<ArkReplica> = []

  beforeAll(async () => {
    cluster = await startCluster()
  }, peersBuildTimeout)
  afterAll(async () => {
    for (const r of replicas) await r.kill().catch(() => undefined)
    await cluster?.stop()
  })

  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      const got = await probe()
      if (got !== undefined) return got
      await sleep(300)
    }
    throw new Error(`${what} did not happen in ${ms / 1000} s\n${replicas.map((r) => r.output().slice(-2000)).join("\n---\n")}`)
  }
  const get = async (args: ReadonlyArray<string>) => (await cluster.kubectl(args)).stdout

  it("copies every object and status, hands the group to ark's APIServices, and drops the CRDs", async () => {
    // The CRD configuration, as the chart's default installs it.
    install = await installChart(cluster, ["storage.backend=etcd"])
    const crdArk = await startReplica(cluster, install, {
      storage: ["--storage", "kubernetes", "--kubeconfig", install.serviceAccountKubeconfig],
      modules: "controller,query-workers,webhook,metrics",
      args: ["--demo-engine", "--webhook-port", "9443", "--webhook-cert-dir", install.tlsDir],
      env: { ARK_LEADER_ELECTION_NAMESPACE: releaseNamespace },
      ready: /ark: webhook serving /
    })
    replicas.push(crdArk)
    await registerEndpoints(cluster, install, [{ address: crdArk.address, ports: { webhook: 9443, metrics: crdArk.metricsPort } }])
    await cluster.ok(["create", "namespace", "team-a"])
    const objects = [
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Agent\nmetadata:\n  name: helper\n  labels: {tier: gold}\nspec:\n  prompt: You help.\n",
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Team\nmetadata:\n  name: desk\nspec:\n  strategy: sequential\n  members:\n    - {name: helper, type: agent}\n",
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Query\nmetadata:\n  name: before\nspec:\n  input: hello\n  target: {type: agent, name: helper}\n"
    ].join("---\n")
    await until("the webhook to answer", async () => ((await cluster.kubectl(["apply", "-n", "team-a", "-f", "-"], { input: objects })).code === 0 ? true : undefined))
    await until("the Query done in the CRD configuration", async () => ((await get(["get", "query", "before", "-n", "team-a", "-o", "jsonpath={.status.phase}"])) === "done" ? true : undefined))
    const crdQuery = JSON.parse(await cluster.ok(["get", "query", "before", "-n", "team-a", "-o", "json"]))

    // 1. ark on PostgreSQL, serving the API only, not registered yet: reached directly.
    const databaseUrl = new URL(await Effect.runPromise(freshDatabase("migration")))
    databaseUrl.port = String(await cluster.reach(Number(databaseUrl.port)))
    const storage = ["--storage", "postgresql", "--postgres-url", databaseUrl.toString()]
    const pgApi = await startReplica(cluster, install, { storage, modules: "apiserver", port: 8443, metricsPort: 8081 })
    replicas.push(pgApi)
    const toArk = await directKubeconfig(cluster, install, pgApi, { cn: "migrator", groups: ["system:masters"] })

    // 2. Nothing changes Ark objects while they are copied: the CRD configuration's ark-core stops.
    await crdArk.stop()
    // 3. The seed's pipeline (specs and metadata), then ark migrate-resources (statuses, and anything the pipeline missed).
    const kinds = (await cluster.ok(["api-resources", "--api-group=ark.mckinsey.com", "-o", "name"])).trim().split("\n").join(",")
    expect(kinds.split(",").sort()).toEqual(resources.map((r) => `${r.plural}.${r.group}`).sort())
    const exported = await cluster.ok(["get", kinds, "-A", "-o", "yaml"])
    const imported = await cluster.kubectl(["apply", "-f", "-"], { input: exported, kubeconfig: toArk })
    expect(imported.code, imported.stderr).toBe(0)
    const migrated = await run(process.execPath, [main, "migrate-resources", "--from", cluster.admin, "--to", toArk])
    expect(migrated.code, migrated.stderr).toBe(0)

    // 4. The APIServices take the group over from the CRDs: the chart's postgresql Service and
    // APIServices, trusting the release's CA (its Secret), put in place with `kubectl replace`,
    // which drops kube's automanaged label from its registration of the CRD group, so kube leaves
    // ark's registration alone.
    const pgRender = await helmTemplate("ark", ["--namespace", releaseNamespace, "--set", "storage.backend=postgresql"])
    const ca = (await cluster.ok(["get", "secret", "-n", releaseNamespace, "ark-tls", "-o", "jsonpath={.data.ca\\.crt}"])).trim()
    const apiServices = ofKind(pgRender, "APIService").map((a) => ({ ...a, spec: { ...a["spec"], caBundle: ca } }))
    expect(apiServices.length).toBe(2)
    const service = ofKind(pgRender, "Service")[0]!
    await cluster.ok(["apply", "-f", "-"], stringify({ ...service, spec: { ...service["spec"], selector: undefined } }))
    await cluster.ok(["replace", "-f", "-"], apiServices.map((a) => stringify(a)).join("---\n"))
    await registerEndpoints(cluster, install, [{ address: pgApi.address, ports: { https: pgApi.port, metrics: pgApi.metricsPort } }])
    await waitForApiServices(cluster)

    // 5. Through kube-apiserver, ark serves every object with its status.
    const served = JSON.parse(await cluster.ok(["get", "query", "before", "-n", "team-a", "-o", "json"]))
    expect(served.metadata.uid).not.toBe(crdQuery.metadata.uid) // ark's copy, not the CRD object
    expect(served.status.phase).toBe("done")
    expect(served.status.response).toEqual(crdQuery.status.response)
    expect(await get(["get", "agent", "helper", "-n", "team-a", "-o", "jsonpath={.metadata.labels.tier}"])).toBe("gold")
    expect(await get(["get", "team", "desk", "-n", "team-a", "-o", "jsonpath={.spec.strategy}"])).toBe("sequential")
    // ... and its watches, and its controller and workers once they run.
    const pgAll = await startReplica(cluster, install, { storage, modules: "apiserver,controller,query-workers,metrics", port: 8444, metricsPort: 8082 })
    replicas.push(pgAll)
    await registerEndpoints(cluster, install, [{ address: pgAll.address, ports: { https: pgAll.port, metrics: pgAll.metricsPort } }])
    await pgApi.stop()
    await waitForApiServices(cluster)
    const { kubectl } = await kubectlBinaries("v35")
    const watcher = spawn(kubectl, ["--kubeconfig", cluster.admin, "get", "queries", "-n", "team-a", "--watch-only", "-o", "name"], { stdio: ["ignore", "pipe", "pipe"] })
    let seen = ""
    watcher.stdout.on("data", (c: Buffer) => (seen += c.toString()))
    await sleep(2_000)
    await cluster.ok(["apply", "-n", "team-a", "-f", "-"], "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Query\nmetadata:\n  name: after\nspec:\n  input: still here?\n  target: {type: agent, name: helper}\n")
    await until("the watch through kube-apiserver to see the new Query", async () => (seen.includes("query.ark.mckinsey.com/after") ? true : undefined)).finally(() => watcher.kill())
    await until("a Query done on ark", async () => ((await get(["get", "query", "after", "-n", "team-a", "-o", "jsonpath={.status.phase}"])) === "done" ? true : undefined))
    await until("the Agent's conditions from ark's controller", async () => ((await get(["get", "agent", "helper", "-n", "team-a", "-o", "jsonpath={.status.conditions[*].type}"])).includes("Available") ? true : undefined))

    // 6. The CRDs go; ark keeps serving the group.
    const crds = (await cluster.ok(["get", "crd", "-o", "name"])).split("\n").filter((n) => n.includes("ark.mckinsey.com"))
    expect(crds.length).toBe(resources.length)
    await cluster.ok(["delete", ...crds])
    await sleep(3_000)
    expect(await get(["get", "apiservice", "v1alpha1.ark.mckinsey.com", "-o", "jsonpath={.spec.service.name}"])).toBe("ark")
    expect(await get(["get", "query", "before", "-n", "team-a", "-o", "jsonpath={.status.phase}"])).toBe("done")
  }, 400_000)
})
