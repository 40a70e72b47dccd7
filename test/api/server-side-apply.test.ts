/**
 * Server-side apply against `ark serve`, with kubectl 1.35 and @kubernetes/client-node unmodified:
 * managedFields on every write, ownership, conflicts, removal, /status, and kubectl's move from
 * client-side to server-side apply.
 */
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node"
import type { KubernetesObject } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import type { RunningServer } from "../support/server.ts"
import { startServerOn } from "../support/server.ts"

let server: RunningServer
let bin: string
const kubectl = (args: ReadonlyArray<string>, input?: string) =>
  runKubectl(bin, ["--kubeconfig", server.kubeconfig, ...args], input === undefined ? {} : { input })

const ok = async (args: ReadonlyArray<string>, input?: string) => {
  const r = await kubectl(args, input)
  expect(r.code, `kubectl ${args.join(" ")}\n${r.stderr}`).toBe(0)
  return r.stdout
}

interface ManagedFieldsEntry {
  manager: string
  operation: string
  apiVersion: string
  time?: string
  fieldsType: string
  fieldsV1: Record<string, unknown>
  subresource?: string
}

interface Obj {
  metadata: { managedFields?: Array<ManagedFieldsEntry>; annotations?: Record<string, string>; labels?: Record<string, string> }
  spec: Record<string, unknown>
  status?: Record<string, unknown>
}

const getJson = async (kind: string, name: string): Promise<Obj> =>
  JSON.parse(await ok(["get", kind, name, "-o", "json", "--show-managed-fields"])) as Obj

const entry = (obj: Obj, manager: string, subresource?: string) =>
  obj.metadata.managedFields?.find((e) => e.manager === manager && e.subresource === subresource)

const agentYaml = (name: string, spec: string, metadata = "") => `apiVersion: ark.mckinsey.com/v1alpha1
kind: Agent
metadata:
  name: ${name}
  namespace: default
${metadata}spec:
${spec}`

// Both stores: the etcd configuration serves the same API (issue: the kubectl tests pass with --storage etcd).
describe.each(["postgresql", "etcd"] as const)("server-side apply on %s", (storage) => {
  beforeAll(async () => {
    server = await startServerOn(storage)
    bin = (await kubectlBinaries("v35")).kubectl
  })
  afterAll(() => server?.stop())

  describe("kubectl apply --server-side", () => {
    it("creates, then updates, with an Apply entry owning exactly the applied fields", async () => {
      const first = agentYaml("ssa-agent", "  prompt: first\n  modelRef:\n    name: default\n", "  labels:\n    app: weather\n")
      expect(await ok(["apply", "--server-side", "-f", "-"], first)).toContain("agent.ark.mckinsey.com/ssa-agent serverside-applied")
      const created = await getJson("agent", "ssa-agent")
      expect(created.spec).toEqual({ prompt: "first", modelRef: { name: "default" } })
      const applied = entry(created, "kubectl")!
      expect(applied).toMatchObject({ operation: "Apply", apiVersion: "ark.mckinsey.com/v1alpha1", fieldsType: "FieldsV1" })
      expect(applied.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      expect(applied.fieldsV1).toEqual({
        "f:metadata": { "f:labels": { "f:app": {} } },
        "f:spec": { "f:modelRef": { "f:name": {} }, "f:prompt": {} }
      })
      // Without --show-managed-fields kubectl hides them, as against kube.
      expect(await ok(["get", "agent", "ssa-agent", "-o", "yaml"])).not.toContain("managedFields")

      const second = agentYaml("ssa-agent", "  prompt: second\n  modelRef:\n    name: default\n", "  labels:\n    app: weather\n")
      expect(await ok(["apply", "--server-side", "-f", "-"], second)).toContain("serverside-applied")
      const updated = await getJson("agent", "ssa-agent")
      expect(updated.spec["prompt"]).toBe("second")
      expect(updated.metadata.managedFields!.map((e) => e.manager)).toEqual(["kubectl"])
    })

    it("previews with --dry-run=server and kubectl diff --server-side without changing anything", async () => {
      await ok(["apply", "--server-side", "-f", "-"], agentYaml("previewed", "  prompt: before\n"))
      const changed = agentYaml("previewed", "  prompt: after\n")
      expect(await ok(["apply", "--server-side", "--dry-run=server", "-f", "-"], changed)).toContain("serverside-applied (server dry run)")
      const diff = await kubectl(["diff", "--server-side", "-f", "-"], changed)
      expect(diff.code, diff.stderr).toBe(1)
      expect(diff.stdout).toMatch(/-\s+prompt: before/)
      expect(diff.stdout).toMatch(/\+\s+prompt: after/)
      expect((await getJson("agent", "previewed")).spec["prompt"]).toBe("before")
      expect(await ok(["apply", "--server-side", "--dry-run=server", "-f", "-"], agentYaml("not-created", "  prompt: p\n"))).toContain("serverside-applied")
      expect((await kubectl(["get", "agent", "not-created"])).code).toBe(1)
    })

    it("reports a conflict with another manager as kube does, and --force-conflicts takes the field over", async () => {
      const mine = agentYaml("shared", "  prompt: from-ci\n  description: owned by ci\n")
      await ok(["apply", "--server-side", "--field-manager", "ci", "-f", "-"], mine)
      const theirs = agentYaml("shared", "  prompt: from-operator\n")
      const conflict = await kubectl(["apply", "--server-side", "--field-manager", "operator", "-f", "-"], theirs)
      expect(conflict.code).toBe(1)
      expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "ci": .spec.prompt')
      expect(conflict.stderr).toContain("--force-conflicts")
      expect((await getJson("agent", "shared")).spec["prompt"]).toBe("from-ci")

      await ok(["apply", "--server-side", "--field-manager", "operator", "--force-conflicts", "-f", "-"], theirs)
      const taken = await getJson("agent", "shared")
      // modelRef is Ark's admission default for an Agent that names no model.
      expect(taken.spec).toEqual({ prompt: "from-operator", description: "owned by ci", modelRef: { name: "default" } })
      expect(entry(taken, "operator")!.fieldsV1).toEqual({ "f:spec": { "f:prompt": {} } })
      expect(entry(taken, "ci")!.fieldsV1).toEqual({ "f:spec": { "f:description": {} } })
    })

    it("removes a field the manager stops applying, unless another manager owns it", async () => {
      await ok(["apply", "--server-side", "-f", "-"], agentYaml("pruned", "  prompt: p\n  description: d\n  modelRef:\n    name: m\n"))
      await ok(["apply", "--server-side", "--field-manager", "other", "-f", "-"], agentYaml("pruned", "  modelRef:\n    name: m\n"))
      await ok(["apply", "--server-side", "-f", "-"], agentYaml("pruned", "  prompt: p\n"))
      const after = await getJson("agent", "pruned")
      expect(after.spec).toEqual({ prompt: "p", modelRef: { name: "m" } })
    })

    it("takes ownership for other writers: kubectl edit-style patches and labels get Update entries", async () => {
      await ok(["apply", "--server-side", "-f", "-"], agentYaml("updated", "  prompt: applied\n"))
      await ok(["patch", "agent", "updated", "--type", "merge", "-p", '{"spec":{"prompt":"patched"}}'])
      await ok(["label", "agent", "updated", "tier=gold"])
      const obj = await getJson("agent", "updated")
      expect(entry(obj, "kubectl-patch")).toMatchObject({ operation: "Update", fieldsV1: { "f:spec": { "f:prompt": {} } } })
      expect(entry(obj, "kubectl-label")).toMatchObject({ operation: "Update", fieldsV1: { "f:metadata": { "f:labels": { ".": {}, "f:tier": {} } } } })
      // The applier lost the field it no longer decides, so re-applying it is a conflict.
      const again = await kubectl(["apply", "--server-side", "-f", "-"], agentYaml("updated", "  prompt: applied\n"))
      expect(again.stderr).toContain('conflict with "kubectl-patch" using ark.mckinsey.com/v1alpha1: .spec.prompt')
    })

    it("applies /status with --subresource=status, keyed by condition type", async () => {
      await ok(["apply", "--server-side", "-f", "-"], agentYaml("with-status", "  prompt: p\n"))
      const condition = (type: string, status: string) =>
        `    - type: ${type}\n      status: "${status}"\n      reason: Checked\n      message: ""\n      lastTransitionTime: "2025-01-01T00:00:00Z"\n`
      const statusYaml = (conditions: string) =>
        `apiVersion: ark.mckinsey.com/v1alpha1\nkind: Agent\nmetadata:\n  name: with-status\n  namespace: default\nstatus:\n  conditions:\n${conditions}`
      await ok(["apply", "--server-side", "--subresource=status", "--field-manager", "controller-a", "-f", "-"], statusYaml(condition("Available", "True")))
      await ok(["apply", "--server-side", "--subresource=status", "--field-manager", "controller-b", "-f", "-"], statusYaml(condition("Ready", "False")))
      const obj = await getJson("agent", "with-status")
      expect((obj.status!["conditions"] as Array<{ type: string }>).map((c) => c.type)).toEqual(["Available", "Ready"])
      expect(entry(obj, "controller-a", "status")!.fieldsV1).toEqual({
        "f:status": {
          "f:conditions": {
            'k:{"type":"Available"}': { ".": {}, "f:lastTransitionTime": {}, "f:message": {}, "f:reason": {}, "f:status": {}, "f:type": {} }
          }
        }
      })
      const conflict = await kubectl(
        ["apply", "--server-side", "--subresource=status", "--field-manager", "controller-b", "-f", "-"],
        statusYaml(condition("Available", "False"))
      )
      expect(conflict.stderr).toContain('conflict with "controller-a" with subresource "status": .status.conditions[type="Available"].status')
      expect(obj.spec).toEqual({ prompt: "p", modelRef: { name: "default" } })
    })

    it("moves from client-side apply: kubectl takes over its fields and drops the ones no longer applied", async () => {
      await ok(["apply", "-f", "-"], agentYaml("migrated", "  prompt: client-side\n  description: to be dropped\n"))
      const csa = await getJson("agent", "migrated")
      expect(entry(csa, "kubectl-client-side-apply")!.operation).toBe("Update")
      expect(csa.metadata.annotations!["kubectl.kubernetes.io/last-applied-configuration"]).toContain("client-side")

      await ok(["apply", "--server-side", "-f", "-"], agentYaml("migrated", "  prompt: server-side\n"))
      const ssa = await getJson("agent", "migrated")
      expect(ssa.spec).toEqual({ prompt: "server-side", modelRef: { name: "default" } })
      expect(ssa.metadata.managedFields!.map((e) => `${e.manager}/${e.operation}`).sort()).toEqual(["kubectl-last-applied/Apply", "kubectl/Apply"])
      expect(JSON.parse(ssa.metadata.annotations!["kubectl.kubernetes.io/last-applied-configuration"]!).spec).toEqual({ prompt: "server-side" })
    })
  })

  describe("@kubernetes/client-node server-side apply", () => {
    interface Team extends KubernetesObject {
      spec: { strategy: string; loops: boolean; members: Array<{ name: string; type: string }>; maxTurns?: number }
    }
    const team = (spec: Partial<Team["spec"]>): Team => ({
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Team",
      metadata: { name: "node-team", namespace: "default" },
      // As upstream, maxTurns needs loops.
      spec: { strategy: "sequential", loops: true, members: [{ name: "a", type: "agent" }], ...spec }
    })

    it("creates and updates with PatchStrategy.ServerSideApply, answers conflicts with FieldManagerConflict causes, and forces", async () => {
      const kc = new KubeConfig()
      kc.loadFromFile(server.kubeconfig)
      const objects = KubernetesObjectApi.makeApiClient(kc)
      const created = await objects.patch(team({ maxTurns: 3 }), undefined, undefined, "node-app", false, PatchStrategy.ServerSideApply)
      expect(created.spec.maxTurns).toBe(3)
      expect(created.metadata?.managedFields?.map((e) => [e.manager, e.operation])).toEqual([["node-app", "Apply"]])

      const error = await objects.patch(team({ maxTurns: 5 }), undefined, undefined, "other-app", false, PatchStrategy.ServerSideApply)
        .then(() => undefined, (e: unknown) => e as { code: number; body: string })
      expect(error?.code).toBe(409)
      const status = JSON.parse(error!.body) as { reason: string; message: string; details: { causes: Array<unknown> } }
      expect(status.reason).toBe("Conflict")
      expect(status.message).toBe('Apply failed with 1 conflict: conflict with "node-app": .spec.maxTurns')
      expect(status.details.causes).toEqual([{ reason: "FieldManagerConflict", message: 'conflict with "node-app"', field: ".spec.maxTurns" }])

      const forced = await objects.patch(team({ maxTurns: 5 }), undefined, undefined, "other-app", true, PatchStrategy.ServerSideApply)
      expect(forced.spec.maxTurns).toBe(5)
      // Team members are atomic, as upstream declares no list type for them: the last applier's list wins whole.
      expect(forced.spec.members).toEqual([{ name: "a", type: "agent" }])
    })

    it("requires a field manager for apply and rejects force on other patches, as kube's PatchOptions validation", async () => {
      const kc = new KubeConfig()
      kc.loadFromFile(server.kubeconfig)
      const objects = KubernetesObjectApi.makeApiClient(kc)
      const missing = await objects.patch(team({}), undefined, undefined, undefined, undefined, PatchStrategy.ServerSideApply)
        .then(() => undefined, (e: unknown) => e as { code: number; body: string })
      expect(missing?.code).toBe(422)
      expect(JSON.parse(missing!.body).message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch')
      const forcedMerge = await objects.patch(team({}), undefined, undefined, "m", true, PatchStrategy.MergePatch)
        .then(() => undefined, (e: unknown) => e as { code: number; body: string })
      expect(forcedMerge?.code).toBe(422)
      expect(JSON.parse(forcedMerge!.body).message).toContain("force: Forbidden: may not be specified for non-apply patch")
    })
  })
})
