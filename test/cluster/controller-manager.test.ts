/**
 * kube-controller-manager's namespace and garbage-collector controllers on Ark objects that ark
 * serves behind kube-apiserver: they find the kinds through ark's discovery and delete through its
 * API (deletecollection, delete with propagation policies). And the chart's manifests, both
 * backends, validated and admitted by the real kube-apiserver.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { namespace as releaseNamespace, startArkCluster, waitForApiServices } from "../support/arkInCluster.ts"
import type { KubeCluster } from "../support/cluster.ts"
import { peersBuildTimeout, startCluster } from "../support/cluster.ts"
import { helm, chartDir } from "../support/helm.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("kube-controller-manager on Ark objects", () => {
  let cluster: KubeCluster
  let stop: (() => Promise<void>) | undefined

  beforeAll(async () => {
    ;({ cluster, stop } = await startArkCluster())
    await waitForApiServices(cluster)
  }, peersBuildTimeout)
  afterAll(() => stop?.())

  const ok = (args: ReadonlyArray<string>, input?: string) => cluster.ok(args, input)
  async function until(args: ReadonlyArray<string>, done: (out: string, code: number) => boolean, ms = 40_000) {
    const deadline = Date.now() + ms
    let last = ""
    while (Date.now() < deadline) {
      const r = await cluster.kubectl(args)
      last = `${r.code} ${r.stdout}${r.stderr}`
      if (done(r.stdout, r.code)) return r.stdout
      await sleep(500)
    }
    throw new Error(
      `kubectl ${args.join(" ")} never satisfied the condition; last:\n${last}\nkube-controller-manager:\n${cluster.controllerManagerLog().slice(-3000)}`
    )
  }
  const uidOf = async (resource: string, ns: string) => (await ok(["get", resource, "-n", ns, "-o", "jsonpath={.metadata.uid}"])).trim()
  const agent = (name: string, ns: string, extra = "") =>
    `apiVersion: ark.mckinsey.com/v1alpha1\nkind: Agent\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${extra}spec:\n  prompt: hi\n`

  it("deleting a namespace deletes its Agents, Teams and Queries, then the namespace", async () => {
    await ok(["create", "namespace", "doomed"])
    await ok(["apply", "-f", "-"], [
      agent("a1", "doomed"),
      agent("a2", "doomed"),
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Team\nmetadata:\n  name: t1\n  namespace: doomed\nspec:\n  strategy: sequential\n  members:\n    - name: a1\n      type: agent\n",
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Query\nmetadata:\n  name: q1\n  namespace: doomed\nspec:\n  input: hello\n  target:\n    type: agent\n    name: a1\n"
    ].join("---\n"))
    expect((await ok(["get", "agents,teams,queries", "-n", "doomed", "-o", "name"])).trim().split("\n")).toHaveLength(4)
    await ok(["delete", "namespace", "doomed", "--wait=false"])
    await until(["get", "namespace", "doomed"], (_out, code) => code !== 0, 60_000)
    // Gone from ark's store too, not only hidden by the namespace's absence.
    expect(await ok(["get", "agents,teams,queries", "-A", "-o", "name"])).not.toMatch(/a1|a2|t1|q1/)
  })

  it("the garbage collector deletes an Agent whose owner ConfigMap is deleted", async () => {
    await ok(["create", "configmap", "owner", "-n", "default", "--from-literal=k=v"])
    const uid = await uidOf("configmap/owner", "default")
    await ok(["apply", "-f", "-"], agent("owned-by-cm", "default", `  ownerReferences:\n    - apiVersion: v1\n      kind: ConfigMap\n      name: owner\n      uid: ${uid}\n`))
    await ok(["delete", "configmap", "owner", "-n", "default"])
    await until(["get", "agent", "owned-by-cm", "-n", "default"], (_out, code) => code !== 0)
  })

  it("foreground deletion of an Agent waits for its dependent Agent, then the collector removes its finalizer", async () => {
    await ok(["apply", "-f", "-"], agent("parent", "default"))
    const uid = await uidOf("agent/parent", "default")
    await ok(["apply", "-f", "-"], agent(
      "child",
      "default",
      `  finalizers: [example.com/hold]\n  ownerReferences:\n    - apiVersion: ark.mckinsey.com/v1alpha1\n      kind: Agent\n      name: parent\n      uid: ${uid}\n      blockOwnerDeletion: true\n`
    ))
    await ok(["delete", "agent", "parent", "-n", "default", "--cascade=foreground", "--wait=false"])
    // The owner stays, marked for foreground deletion, while its dependent is held by a finalizer.
    expect(await ok(["get", "agent", "parent", "-n", "default", "-o", "jsonpath={.metadata.finalizers}"])).toContain("foregroundDeletion")
    await until(["get", "agent", "child", "-n", "default", "-o", "jsonpath={.metadata.deletionTimestamp}"], (out) => out !== "")
    expect(await ok(["get", "agent", "parent", "-n", "default", "-o", "name"])).toBe("agent.ark.mckinsey.com/parent\n")
    await ok(["patch", "agent", "child", "-n", "default", "--type", "merge", "-p", "{\"metadata\":{\"finalizers\":null}}"])
    await until(["get", "agent", "parent", "-n", "default"], (_out, code) => code !== 0)
  })

  it("orphan deletion leaves the dependent in place without its owner reference", async () => {
    await ok(["apply", "-f", "-"], agent("orphaner", "default"))
    const uid = await uidOf("agent/orphaner", "default")
    await ok(["apply", "-f", "-"], agent("orphan", "default", `  ownerReferences:\n    - apiVersion: ark.mckinsey.com/v1alpha1\n      kind: Agent\n      name: orphaner\n      uid: ${uid}\n`))
    await ok(["delete", "agent", "orphaner", "-n", "default", "--cascade=orphan"])
    await until(["get", "agent", "orphan", "-n", "default", "-o", "jsonpath={.metadata.ownerReferences}"], (out, code) => code === 0 && out === "")
  })
})

describe("the chart against the real API", () => {
  let cluster: KubeCluster
  beforeAll(async () => {
    cluster = await startCluster()
    const ns = await cluster.kubectl(["create", "namespace", releaseNamespace])
    expect(ns.code, ns.stderr).toBe(0)
  }, peersBuildTimeout)
  afterAll(() => cluster?.stop())

  it.each([
    ["postgresql", ["--set", "storage.backend=postgresql", "--set", "controllerManager.replicas=2"]],
    // The default (etcd through kube-apiserver): the Lease's leader runs the workers, so replicas may be added.
    ["etcd", ["--set", "controllerManager.replicas=2"]],
    // Reaching etcd directly keeps the queue in one process: two replicas run the rest.
    ["etcd (direct)", ["--set", "storage.etcd.direct=true", "--set", "storage.etcd.endpoints=https://etcd.kube-system.svc:2379", "--set", "controllerManager.replicas=2", "--set", "controllerManager.modules={controller,webhook,metrics}"]]
  ])("every object helm template renders for %s is admitted by kube-apiserver (--dry-run=server)", async (_backend, values) => {
    const rendered = await helm(["template", "ark", chartDir, "--namespace", releaseNamespace, ...values])
    expect(rendered.code, rendered.stderr).toBe(0)
    const r = await cluster.kubectl(["apply", "--dry-run=server", "-f", "-"], { input: rendered.stdout })
    expect(r.code, r.stderr).toBe(0)
    for (const kind of ["deployment.apps/ark", "poddisruptionbudget.policy/ark", "clusterrole.rbac.authorization.k8s.io/ark-controller", "serviceaccount/ark"]) {
      expect(r.stdout).toContain(`${kind} created (server dry run)`)
    }
    expect(r.stdout).toMatch(/(apiservice\.apiregistration\.k8s\.io\/v1alpha1\.ark\.mckinsey\.com|validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/ark-validating) created \(server dry run\)/)
  })
})
