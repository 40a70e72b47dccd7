/**
 * The controller's reconcilers through the HTTP API of a real `ark serve` (controller module,
 * PostgreSQL leader election): status conditions turn True and False as the objects they refer
 * to appear and disappear, and a Query's condition sits beside the query workers' fields.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually } from "../support/leader.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { parsePrometheus } from "../support/prometheus.ts"

const base = "/apis/ark.mckinsey.com/v1alpha1/namespaces/ctl"
let server: RunningServer

beforeAll(async () => {
  server = await startServer({ insecureHttp: true, modules: "apiserver,controller" })
})
afterAll(() => server?.stop())

const send = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${server.url}${base}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
  })
  const json = await res.json() as any
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

const object = (kind: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind,
  metadata: { name },
  spec
})

/** The condition of `type` on an object, as "Status/Reason". */
const condition = async (plural: string, name: string, type: string) => {
  const obj = await send("GET", `/${plural}/${name}`)
  const c = (obj.status?.conditions ?? []).find((x: { type: string }) => x.type === type)
  return c === undefined ? "none" : `${c.status}/${c.reason}`
}

const expectCondition = (plural: string, name: string, type: string, wanted: string) =>
  eventually(`${plural}/${name} ${type}`, () => condition(plural, name, type), (c) => c === wanted, 20_000)

const model = (name: string) =>
  object("Model", name, {
    provider: "openai",
    model: { value: "gpt-4o" },
    config: { openai: { baseUrl: { value: "https://api.openai.com/v1" }, apiKey: { value: "sk-test" } } }
  })

describe("controller reconcilers", () => {
  it("Agent Available follows its Model", async () => {
    await send("POST", "/agents", object("Agent", "writer", { prompt: "Write.", modelRef: { name: "m1" } }))
    await expectCondition("agents", "writer", "Available", "False/ModelNotFound")
    const agent = await send("GET", "/agents/writer")
    const available = agent.status.conditions.find((c: { type: string }) => c.type === "Available")
    expect(available.message).toBe("Model 'm1' not found in namespace 'ctl'")
    expect(available.observedGeneration).toBe(agent.metadata.generation)
    // The controller's status write is recorded as its own Update of /status, as kube's controllers' are.
    expect(agent.metadata.managedFields).toContainEqual(expect.objectContaining({
      manager: "ark-controller",
      operation: "Update",
      subresource: "status",
      fieldsV1: { "f:status": { ".": {}, "f:conditions": expect.anything() } }
    }))
    await send("POST", "/models", model("m1"))
    await expectCondition("agents", "writer", "Available", "True/Available")
    await send("DELETE", "/models/m1")
    await expectCondition("agents", "writer", "Available", "False/ModelNotFound")
  })

  it("Team Available follows its members (existing and Available)", async () => {
    await send("POST", "/models", model("m2"))
    await send("POST", "/teams", object("Team", "crew", { strategy: "sequential", members: [{ name: "a2", type: "agent" }] }))
    await expectCondition("teams", "crew", "Available", "False/MemberNotFound")
    await send("POST", "/agents", object("Agent", "a2", { prompt: "Help.", modelRef: { name: "m2" } }))
    await expectCondition("teams", "crew", "Available", "True/Available")
    // A member whose own dependencies vanish makes the team unavailable too.
    await send("DELETE", "/models/m2")
    await expectCondition("teams", "crew", "Available", "False/MemberNotAvailable")
    await send("DELETE", "/agents/a2")
    await expectCondition("teams", "crew", "Available", "False/MemberNotFound")
  })

  it("Query TargetFound follows its target, leaving the rest of the status alone", async () => {
    await send("POST", "/queries", object("Query", "ask", { input: "hi", target: { type: "agent", name: "later" } }))
    await expectCondition("queries", "ask", "TargetFound", "False/TargetNotFound")
    const q = await send("GET", "/queries/ask")
    expect(q.status.phase).toBe("pending")
    await send("POST", "/agents", object("Agent", "later", { prompt: "Answer.", modelRef: { name: "m3" } }))
    await expectCondition("queries", "ask", "TargetFound", "True/TargetFound")
    expect((await send("GET", "/queries/ask")).status.phase).toBe("pending")
  })

  it("a spec change is reconciled again (observedGeneration)", async () => {
    await send("POST", "/models", model("m4"))
    await send("POST", "/agents", object("Agent", "mover", { prompt: "Move.", modelRef: { name: "m4" } }))
    await expectCondition("agents", "mover", "Available", "True/Available")
    const res = await fetch(`${server.url}${base}/agents/mover`, {
      method: "PATCH",
      body: JSON.stringify({ spec: { modelRef: { name: "nowhere" } } }),
      headers: { "content-type": "application/merge-patch+json" }
    })
    expect(res.status).toBe(200)
    await expectCondition("agents", "mover", "Available", "False/ModelNotFound")
    // The Model it names now is followed from then on: its creation makes the Agent Available.
    await send("POST", "/models", model("nowhere"))
    await expectCondition("agents", "mover", "Available", "True/Available")
  })
})

describe("leadership of a single replica", () => {
  it("is recorded in the Lease and the leader_election_master_status metric", async () => {
    const lease = await eventually("the Lease record", async () => {
      const res = await fetch(`${server.url}/apis/coordination.k8s.io/v1/namespaces/ark-system/leases/ark-effect-controller`)
      return res.status === 200 ? await res.json() as { spec: { holderIdentity: string; leaseTransitions: number } } : undefined
    }, (l) => l !== undefined)
    expect(lease!.spec.holderIdentity).not.toBe("")
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toContain(`leader_election_master_status{name="ark-system/ark-effect-controller"} 1`)
  })
})

describe("a controller restarted with every object up to date", () => {
  it("reads no object and writes nothing to resync, and still reconciles what changes", async () => {
    const first = await startServer({ insecureHttp: true, modules: "apiserver,controller" })
    const agents = 200
    const call = (s: RunningServer, method: string, path: string, body?: unknown) =>
      fetch(`${s.url}${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) })
    const listed = async (s: RunningServer) => (await (await call(s, "GET", "/agents")).json() as { items: Array<any> }).items
    let before: Map<string, string>
    try {
      await Promise.all(Array.from({ length: agents }, (_, i) => call(first, "POST", "/agents", object("Agent", `a-${i}`, { prompt: "p", modelRef: { name: "later" } }))))
      const reconciled = await eventually("every Agent reconciled", () => listed(first), (items) =>
        items.length === agents && items.every((a) => a.status?.conditions?.some((c: { type: string }) => c.type === "Available")), 60_000)
      before = new Map(reconciled.map((a) => [a.metadata.name, a.metadata.resourceVersion]))
    } finally {
      await first.stop()
    }
    const restarted = await startServer({ insecureHttp: true, modules: "apiserver,controller", databaseUrl: first.databaseUrl! })
    try {
      // An Agent created after the restart is reconciled after the initial state was gone through.
      await call(restarted, "POST", "/agents", object("Agent", "marker", { prompt: "p", modelRef: { name: "later" } }))
      const readyMarker = async () => (await (await call(restarted, "GET", "/agents/marker")).json() as any).status?.conditions?.length ?? 0
      await eventually("the marker reconciled", readyMarker, (n) => n > 0, 60_000)
      const metrics = parsePrometheus(await (await fetch(`${restarted.url}/metrics`)).text())
      const gets = metrics.value("ark_storage_operation_duration_seconds_count", { operation: "get", resource: "agents" }) ?? 0
      // The marker's own reconcile reads it (and is the only one); 200 up-to-date Agents cost nothing.
      expect(gets).toBeLessThan(10)
      const after = await listed(restarted)
      for (const a of after) if (a.metadata.name !== "marker") expect(a.metadata.resourceVersion).toBe(before.get(a.metadata.name))
      // What changes after the restart is reconciled: the Model appears, every Agent turns Available.
      await call(restarted, "POST", "/models", model("later"))
      await eventually("every Agent Available", () => listed(restarted), (items) =>
        items.every((a) => a.status.conditions.find((c: { type: string }) => c.type === "Available").status === "True"), 60_000)
    } finally {
      await restarted.stop()
    }
  }, 240_000)

  it("looks again at a Team whose member Team was created while no controller ran (the member comes later in the initial state)", async () => {
    const call = (s: RunningServer, method: string, path: string, body: unknown) =>
      fetch(`${s.url}${base}${path}`, { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    const teamCondition = async (s: RunningServer) => {
      const team = await (await fetch(`${s.url}${base}/teams/a-outer`)).json() as any
      const c = (team.status?.conditions ?? []).find((x: { type: string }) => x.type === "Available")
      return c === undefined ? "none" : `${c.status}/${c.reason}`
    }
    const first = await startServer({ insecureHttp: true, modules: "apiserver,controller" })
    try {
      await call(first, "POST", "/teams", object("Team", "a-outer", { strategy: "sequential", members: [{ name: "z-inner", type: "team" }] }))
      await eventually("a-outer MemberNotFound", () => teamCondition(first), (c) => c === "False/MemberNotFound", 20_000)
    } finally {
      await first.stop()
    }
    const apiOnly = await startServer({ insecureHttp: true, modules: "apiserver", databaseUrl: first.databaseUrl! })
    try {
      expect((await call(apiOnly, "POST", "/teams", object("Team", "z-inner", { strategy: "sequential", members: [] }))).status).toBe(201)
    } finally {
      await apiOnly.stop()
    }
    const restarted = await startServer({ insecureHttp: true, modules: "apiserver,controller", databaseUrl: first.databaseUrl! })
    try {
      await eventually("a-outer Available", () => teamCondition(restarted), (c) => c === "True/Available", 20_000)
    } finally {
      await restarted.stop()
    }
  }, 120_000)
})
