/**
 * coordination.k8s.io/v1 Leases served by the standalone `ark serve`: kubectl 1.35 (discovery,
 * get, client-side and server-side apply, delete, watch) and @kubernetes/client-node's
 * CoordinationV1Api (CRUD with resourceVersion compare-and-swap), as against kube-apiserver.
 */
import { ApiException, CoordinationV1Api, KubeConfig, V1MicroTime, Watch } from "@kubernetes/client-node"
import type { V1Lease } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import type { RunningServer } from "../support/server.ts"
import { startServerOn } from "../support/server.ts"

let server: RunningServer
let bin: string
let leases: CoordinationV1Api

const kubectl = async (args: ReadonlyArray<string>, input?: string) => {
  const r = await runKubectl(bin, ["--kubeconfig", server.kubeconfig, ...args], input === undefined ? {} : { input })
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`)
  return r.stdout
}

const leaseYaml = (name: string, holder: string) => `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: ${name}
  namespace: default
spec:
  holderIdentity: ${holder}
  leaseDurationSeconds: 15
`

// Both stores: the etcd configuration serves the same API (issue: the kubectl tests pass with --storage etcd).
describe.each(["postgresql", "etcd"] as const)("Leases on %s", (storage) => {
  beforeAll(async () => {
    server = await startServerOn(storage)
    bin = (await kubectlBinaries("v35")).kubectl
    const kc = new KubeConfig()
    kc.loadFromFile(server.kubeconfig)
    leases = kc.makeApiClient(CoordinationV1Api)
  })
  afterAll(() => server?.stop())

  describe("Leases through kubectl", () => {
    it("lists the group in discovery and explains the kind", async () => {
      const resources = await kubectl(["api-resources", "--api-group", "coordination.k8s.io"])
      expect(resources).toMatch(/^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease\s*$/m)
      const explained = await kubectl(["explain", "lease.spec.holderIdentity"])
      expect(explained).toContain("holderIdentity contains the identity of the holder")
    })

    it("applies, shows, updates and deletes a Lease", async () => {
      expect(await kubectl(["apply", "-f", "-"], leaseYaml("demo", "replica-a"))).toContain("lease.coordination.k8s.io/demo created")
      // A second client-side apply sends a strategic merge patch, as kubectl does for built-in kinds.
      expect(await kubectl(["apply", "-f", "-"], leaseYaml("demo", "replica-b"))).toContain("lease.coordination.k8s.io/demo configured")
      const table = await kubectl(["get", "leases", "-n", "default"])
      expect(table).toMatch(/^NAME\s+HOLDER\s+AGE$/m)
      expect(table).toMatch(/^demo\s+replica-b\s+\S+$/m)
      expect(await kubectl(["get", "lease", "demo", "-n", "default", "-o", "jsonpath={.spec.holderIdentity}/{.spec.leaseDurationSeconds}"])).toBe("replica-b/15")
      expect(await kubectl(["apply", "--server-side", "--field-manager", "ssa", "--force-conflicts", "-f", "-"], leaseYaml("demo", "replica-c")))
        .toContain("serverside-applied")
      expect(await kubectl(["get", "lease", "demo", "-n", "default", "-o", "jsonpath={.spec.holderIdentity}"])).toBe("replica-c")
      expect(await kubectl(["delete", "lease", "demo", "-n", "default"])).toContain(`lease.coordination.k8s.io "demo" deleted`)
      const gone = await runKubectl(bin, ["--kubeconfig", server.kubeconfig, "get", "lease", "demo", "-n", "default"])
      expect(gone.code).not.toBe(0)
      expect(gone.stderr).toContain(`leases.coordination.k8s.io "demo" not found`)
    })

    it("refuses a status subresource and unknown fields as kube does", async () => {
      await kubectl(["apply", "-f", "-"], leaseYaml("strict", "x"))
      const status = await runKubectl(bin, ["--kubeconfig", server.kubeconfig, "get", "--raw", "/apis/coordination.k8s.io/v1/namespaces/default/leases/strict/status"])
      expect(status.code).not.toBe(0)
      expect(status.stderr).toContain("NotFound")
      const unknown = await runKubectl(bin, ["--kubeconfig", server.kubeconfig, "apply", "-f", "-"], {
        input: `${leaseYaml("strict2", "x")}status:\n  foo: bar\n`
      })
      expect(unknown.code).not.toBe(0)
      expect(unknown.stderr).toContain(`unknown field "status"`)
    })
  })

  describe("Leases through @kubernetes/client-node", () => {
    const lease = (name: string, holder: string): V1Lease => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: "default" },
      spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new V1MicroTime(), leaseTransitions: 0 }
    })

    it("creates, reads, replaces with compare-and-swap, lists and deletes", async () => {
      const created = await leases.createNamespacedLease({ namespace: "default", body: lease("cas", "a") })
      expect(created.spec?.holderIdentity).toBe("a")
      expect(String(created.spec?.renewTime)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)
      const read = await leases.readNamespacedLease({ name: "cas", namespace: "default" })
      expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion)
      const replaced = await leases.replaceNamespacedLease({
        name: "cas",
        namespace: "default",
        body: { ...read, spec: { ...read.spec, holderIdentity: "b", leaseTransitions: 1 } }
      })
      expect(replaced.spec?.holderIdentity).toBe("b")
      // A writer holding the old version loses: 409, as a second candidate racing for the lease.
      const stale = await leases.replaceNamespacedLease({
        name: "cas",
        namespace: "default",
        body: { ...read, spec: { ...read.spec, holderIdentity: "c" } }
      }).then(() => undefined, (e: unknown) => e)
      expect(stale).toBeInstanceOf(ApiException)
      expect((stale as ApiException<unknown>).code).toBe(409)
      const listed = await leases.listNamespacedLease({ namespace: "default" })
      expect(listed.items.map((l) => `${l.metadata?.name}=${l.spec?.holderIdentity}`)).toContain("cas=b")
      await leases.deleteNamespacedLease({ name: "cas", namespace: "default" })
      const gone = await leases.readNamespacedLease({ name: "cas", namespace: "default" }).then(() => undefined, (e: unknown) => e)
      expect((gone as ApiException<unknown>).code).toBe(404)
    })

    it("watches Leases: client-node's Watch sees a Lease created and deleted after it started", async () => {
      const kc = new KubeConfig()
      kc.loadFromFile(server.kubeconfig)
      const events: Array<string> = []
      const seen = (wanted: string) => new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (events.includes(wanted)) {
            clearInterval(check)
            resolve()
          }
        }, 20)
      })
      const listed = await leases.listNamespacedLease({ namespace: "default" })
      const request = await new Watch(kc).watch(
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        { resourceVersion: listed.metadata?.resourceVersion },
        (type: string, obj: { metadata?: { name?: string } }) => events.push(`${type} ${obj.metadata?.name}`),
        () => undefined
      )
      try {
        await leases.createNamespacedLease({ namespace: "default", body: lease("watched", "a") })
        await seen("ADDED watched")
        await leases.deleteNamespacedLease({ name: "watched", namespace: "default" })
        await seen("DELETED watched")
        expect(events.filter((e) => e.endsWith(" watched"))).toEqual(["ADDED watched", "DELETED watched"])
      } finally {
        request.abort()
      }
    })
  })
})
