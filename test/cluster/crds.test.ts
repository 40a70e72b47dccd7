/**
 * `ark crds` on a real kube-apiserver (the etcd/CRD configuration): kube accepts every Ark CRD
 * (structural schemas, defaults, printer columns, short names), serves the kinds, and stores
 * upstream's manifests against them. Objects that need upstream's mutating webhook first (a
 * deprecated Query type or Model provider-in-type) are left out: without ark's webhook, kube
 * sees them as upstream does without its own.
 */
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { resources } from "../../src/domain/registry.ts"
import type { KubeCluster } from "../support/cluster.ts"
import { peersBuildTimeout, startCluster } from "../support/cluster.ts"

const root = join(import.meta.dirname, "..", "..")
const accepted = join(root, "test", "fixtures", "upstream-manifests", "accepted")

describe("ark crds on kube-apiserver", () => {
  let cluster: KubeCluster

  beforeAll(async () => {
    cluster = await startCluster()
  }, peersBuildTimeout)
  afterAll(() => cluster?.stop())

  const ok = async (args: ReadonlyArray<string>) => {
    const r = await cluster.kubectl(args)
    expect(r.code, `kubectl ${args.join(" ")}\n${r.stderr}`).toBe(0)
    return r.stdout
  }

  it("establishes every CRD and stores upstream's manifests against them", async () => {
    await ok(["apply", "--server-side", "-f", join(root, "chart", "files", "crds.yaml")])
    const names = resources.map((r) => `crd/${r.plural}.${r.group}`)
    await ok(["wait", "--for=condition=Established", "--timeout=60s", ...names])
    await ok(["create", "namespace", "upstream"])
    for (const file of ["agents.yaml", "teams.yaml", "tools.yaml", "servers.yaml", "others.yaml"]) {
      await ok(["apply", "-n", "upstream", "-f", join(accepted, file)])
    }
    const workspace = JSON.parse(await ok(["get", "-n", "upstream", "workspace", "repo", "-o", "json"]))
    // kube applied the CRD's defaults, as ark applies them from the same schema.
    expect(workspace.spec).toMatchObject({ mountPath: "/workspace", persistent: true, storage: { size: "2Gi", accessMode: "ReadWriteOnce" } })
    expect(await ok(["get", "-n", "upstream", "tar"])).toMatch(/NAME\s+QUERY\s+PHASE\s+TOOLS\s+AGE\s+approve-delete\s+weather-berlin/)
    expect(await ok(["explain", "executionprofiles.spec.critic.mode"])).toContain("subagent")
  }, 180_000)
})
