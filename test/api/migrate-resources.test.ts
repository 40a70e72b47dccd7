/**
 * The etcd -> PostgreSQL migration path: objects created on `ark serve --storage etcd` copied to
 * `ark serve` on PostgreSQL by `ark migrate-resources` (twice: the second run changes nothing),
 * compared field by field (the six kinds added for upstream among them); and the seed's kubectl
 * pipeline (`kubectl get -A -o yaml | kubectl apply -f -`), which carries specs and metadata but
 * not statuses, completed by the tool.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { join } from "node:path"
import YAML from "yaml"
import { resources } from "../../src/domain/registry.ts"
import type { RunningEtcd } from "../support/etcd.ts"
import { startEtcd } from "../support/etcd.ts"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const main = join(import.meta.dirname, "..", "..", "src", "programs", "main.ts")
const arkKinds = resources.filter((r) => r.group === "ark.mckinsey.com").map((r) => `${r.plural}.${r.group}`).join(",")

interface Obj {
  readonly kind: string
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly uid: string
    readonly resourceVersion: string
    readonly labels?: Record<string, string>
    readonly annotations?: Record<string, string>
    readonly finalizers?: ReadonlyArray<string>
    readonly ownerReferences?: ReadonlyArray<{ readonly kind: string; readonly name: string; readonly uid: string }>
  }
  readonly spec?: unknown
  readonly status?: unknown
}

const migrate = (from: string, to: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [main, "migrate-resources", "--from", from, "--to", to], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })

/** Objects of Ark kinds old and new (the six added for upstream among them), in two namespaces. */
const seed = `
apiVersion: ark.mckinsey.com/v1alpha1
kind: Model
metadata: { name: default, namespace: team-a, labels: { tier: gold } }
spec:
  provider: openai
  model: { value: gpt-4.1-mini }
  config: { openai: { baseUrl: { value: "https://api.openai.com/v1" }, apiKey: { value: sk-test } } }
---
apiVersion: ark.mckinsey.com/v1alpha1
kind: Agent
metadata:
  name: reporter
  namespace: team-a
  labels: { app: weather }
  annotations: { example.com/owner: platform }
  finalizers: [example.com/keep]
spec:
  description: Reports the weather
  modelRef: { name: default }
  prompt: You report the weather.
---
apiVersion: ark.mckinsey.com/v1alpha1
kind: Tool
metadata: { name: weather, namespace: team-b }
spec:
  type: http
  description: Current weather
  http: { method: GET, url: "https://example.com/weather" }
---
apiVersion: ark.mckinsey.com/v1alpha1
kind: Team
metadata: { name: desk, namespace: team-b }
spec:
  strategy: sequential
  members: [{ name: reporter, type: agent }]
---
apiVersion: ark.mckinsey.com/v1alpha1
kind: Workspace
metadata: { name: repo, namespace: team-b }
spec:
  content: { git: { url: "https://github.com/example/repo.git" } }
---
apiVersion: ark.mckinsey.com/v1alpha1
kind: ToolApprovalRequest
metadata: { name: approve-delete, namespace: team-a }
spec:
  queryRef: { name: q1, namespace: team-a }
  executionContext: { agentName: reporter, agentNamespace: team-a, conversationHistory: W10=, pendingToolCallIndex: 0 }
  toolCalls: [{ id: call-1, name: delete-file, type: mcp, arguments: "{}" }]
---
apiVersion: ark.mckinsey.com/v1alpha1
kind: ToolInteraction
metadata: { name: choose-region, namespace: team-a }
spec:
  type: selection
  queryRef: { name: q1, namespace: team-a }
  executionContext: { agentName: reporter, agentNamespace: team-a, conversationHistory: W10=, pendingToolCallIndex: 0 }
  toolCalls: [{ id: call-2, name: pick-region, type: http, arguments: "{}" }]
  selection: { prompt: "Which region?", options: [{ label: EU, value: eu-west-1 }] }
---
apiVersion: ark.mckinsey.com/v1alpha1
kind: Evaluator
metadata: { name: judge, namespace: team-a }
spec:
  address: { valueFrom: { serviceRef: { name: ark-evaluator, port: http } } }
---
apiVersion: ark.mckinsey.com/v1alpha1
kind: Evaluation
metadata: { name: sums, namespace: team-a }
spec:
  type: direct
  evaluator: { name: judge }
  config: { input: "What is 2+2?", output: "4" }
---
apiVersion: ark.mckinsey.com/v1prealpha1
kind: ExecutionProfile
metadata: { name: code-change, namespace: team-b }
spec:
  workspace: { type: git, git: { defaultBranch: main } }
`

describe("ark migrate-resources from the etcd configuration to PostgreSQL", () => {
  let etcd: RunningEtcd
  let source: RunningServer
  let copy: RunningServer
  let piped: RunningServer
  let kubectl: string

  beforeAll(async () => {
    etcd = await startEtcd()
    ;[source, copy, piped, kubectl] = await Promise.all([
      startServer({ etcdEndpoint: etcd.endpoint }),
      startServer({ insecureHttp: true }),
      startServer({ insecureHttp: true }),
      kubectlBinaries("v35").then((b) => b.kubectl)
    ])
    const on = async (args: ReadonlyArray<string>, input?: string) => {
      const r = await runKubectl(kubectl, ["--kubeconfig", source.kubeconfig, ...args], input === undefined ? {} : { input })
      expect(r.code, `kubectl ${args.join(" ")}\n${r.stderr}`).toBe(0)
      return r.stdout
    }
    await on(["create", "namespace", "team-a"]).catch(() => undefined)
    await on(["apply", "-f", "-"], seed)
    const agent = JSON.parse(await on(["get", "agent", "reporter", "-n", "team-a", "-o", "json"])) as Obj
    // A Query owned by the Agent, with a finished status.
    await on(["create", "-f", "-"], JSON.stringify({
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Query",
      metadata: {
        name: "q1",
        namespace: "team-a",
        ownerReferences: [{ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", name: "reporter", uid: agent.metadata.uid }]
      },
      spec: { input: "Weather in Lisbon?", target: { type: "agent", name: "reporter" } }
    }))
    await on(["patch", "query", "q1", "-n", "team-a", "--subresource=status", "--type=merge", "-p", JSON.stringify({
      status: { phase: "done", duration: "1.5s", tokenUsage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 } }
    })])
    await on(["patch", "toolapprovalrequest", "approve-delete", "-n", "team-a", "--subresource=status", "--type=merge", "-p", JSON.stringify({
      status: { phase: "approved", decision: { action: "approved", decidedBy: "alice", decidedAt: "2026-11-24T10:01:00Z" } }
    })])
    await on(["patch", "agent", "reporter", "-n", "team-a", "--subresource=status", "--type=merge", "-p", JSON.stringify({
      status: { conditions: [{ type: "Available", status: "True", reason: "Ready", message: "ok", lastTransitionTime: "2026-11-24T10:00:00Z" }] }
    })])
  }, 120_000)

  afterAll(async () => {
    await Promise.all([source?.stop(), copy?.stop(), piped?.stop()])
    await etcd?.stop()
  })

  const objects = async (server: RunningServer) => {
    const r = await runKubectl(kubectl, ["--kubeconfig", server.kubeconfig, "get", arkKinds, "-A", "-o", "json"])
    expect(r.code, r.stderr).toBe(0)
    const items = (JSON.parse(r.stdout) as { items: ReadonlyArray<Obj> }).items
    return new Map(items.map((o) => [`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]))
  }

  /** Every source object has a copy with the same user fields and status; owners point at the copies. */
  const expectCopies = async (server: RunningServer) => {
    const from = await objects(source)
    const to = await objects(server)
    expect([...to.keys()].sort()).toEqual([...from.keys()].sort())
    expect(from.size).toBe(11)
    for (const [key, src] of from) {
      const dst = to.get(key)!
      expect(dst.metadata.uid, key).not.toBe(src.metadata.uid)
      expect(dst.metadata.labels ?? {}, key).toEqual(src.metadata.labels ?? {})
      expect(dst.metadata.annotations ?? {}, key).toEqual(src.metadata.annotations ?? {})
      expect(dst.metadata.finalizers ?? [], key).toEqual(src.metadata.finalizers ?? [])
      expect(dst.spec, key).toEqual(src.spec)
      expect(dst.status, key).toEqual(src.status)
      const owners = (dst.metadata.ownerReferences ?? []).map((r) => ({ ...r, uid: r.uid }))
      expect(owners.map((r) => [r.kind, r.name]), key).toEqual((src.metadata.ownerReferences ?? []).map((r) => [r.kind, r.name]))
      for (const r of owners) expect(r.uid, key).toBe(to.get(`${r.kind}/${dst.metadata.namespace ?? ""}/${r.name}`)!.metadata.uid)
    }
    const query = to.get("Query/team-a/q1")!
    expect((query.status as { phase?: string }).phase).toBe("done")
    expect((to.get("ToolApprovalRequest/team-a/approve-delete")!.status as { phase?: string }).phase).toBe("approved")
  }

  it("copies every object with metadata, spec and status, and a second run changes nothing", async () => {
    const first = await migrate(source.kubeconfig, copy.url)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toContain("ark: migrating [##############################] 11/11")
    expect(first.stdout).toMatch(/agents\.ark\.mckinsey\.com\s+1\s+0\s+0\s+0/)
    expect(first.stdout).toContain("11 objects from")
    expect(first.stdout).toContain("11 created, 0 updated, 0 unchanged, 0 failed")
    await expectCopies(copy)

    const before = await objects(copy)
    const second = await migrate(source.kubeconfig, copy.url)
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toContain("0 created, 0 updated, 11 unchanged, 0 failed")
    const after = await objects(copy)
    for (const [key, o] of after) expect(o.metadata.resourceVersion, key).toBe(before.get(key)!.metadata.resourceVersion)
  })

  it("the seed's kubectl pipeline copies specs and metadata; the tool then adds the statuses", async () => {
    const exported = await runKubectl(kubectl, ["--kubeconfig", source.kubeconfig, "get", arkKinds, "-A", "-o", "yaml"])
    expect(exported.code, exported.stderr).toBe(0)
    const list = YAML.parse(exported.stdout) as { kind: string; items: ReadonlyArray<unknown> }
    expect(list.kind).toBe("List")
    expect(list.items).toHaveLength(11)
    // The List goes to apply as exported, validated by kubectl against /openapi/v2 on the way.
    const applied = await runKubectl(kubectl, ["--kubeconfig", piped.kubeconfig, "apply", "-f", "-"], { input: exported.stdout })
    expect(applied.code, applied.stderr).toBe(0)
    expect(applied.stdout).toContain("agent.ark.mckinsey.com/reporter created")

    const from = await objects(source)
    const to = await objects(piped)
    expect([...to.keys()].sort()).toEqual([...from.keys()].sort())
    for (const [key, src] of from) {
      expect(to.get(key)!.spec, key).toEqual(src.spec)
      expect(to.get(key)!.metadata.labels ?? {}, key).toEqual(src.metadata.labels ?? {})
    }
    // apply does not carry status: the Query starts over as pending.
    expect((to.get("Query/team-a/q1")!.status as { phase?: string } | undefined)?.phase).not.toBe("done")

    const completed = await migrate(source.kubeconfig, piped.kubeconfig)
    expect(completed.code, completed.stderr).toBe(0)
    expect(completed.stdout).toContain("0 created, 11 updated, 0 unchanged, 0 failed")
    await expectCopies(piped)
  })
})
