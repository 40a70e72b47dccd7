/**
 * Queries run end to end: `ark serve` with query workers, a real A2A engine (the SDK's server,
 * scripted per test), real PostgreSQL. Happy path, timeout, cancel, retries, a worker killed
 * mid-call, and kubectl waiting for `done` with the built-in demo engine.
 */
import { findKind } from "../../src/domain/registry.ts"
import { Effect, Exit, Scope } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as EmbeddedPostgres from "../../src/layers/postgres/EmbeddedPostgres.ts"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import { issue, makeCa } from "../support/certs.ts"
import type { ScriptedEngine } from "../support/engine.ts"
import { startEtcd } from "../support/etcd.ts"
import { startScriptedEngine } from "../support/engine.ts"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import type { RunningServer } from "../support/server.ts"
import { freePort } from "../support/net.ts"
import { withStorage } from "../support/pg.ts"
import { startServer } from "../support/server.ts"

const base = "/apis/ark.mckinsey.com/v1alpha1"
const queries = storedResource(findKind("Query")!)
const workerEnv = { ARK_QUERY_LEASE: "2 seconds", ARK_QUERY_MAX_ATTEMPTS: "3", ARK_QUERY_RETRY_BASE: "100 millis", ARK_QUERY_TTL_SWEEP: "300 millis" }

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

const send = async (server: RunningServer, method: string, path: string, body?: unknown, type = "application/json") => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": type } })
  })
  const json = await res.json() as any
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

const query = (name: string, input: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Query",
  metadata: { name },
  spec: { input, target: { type: "agent", name: "helper" }, ...extra }
})

/** Polls a Query until its phase is one of `phases`. */
const waitPhase = async (server: RunningServer, ns: string, name: string, phases: ReadonlyArray<string>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const q = await send(server, "GET", `${base}/namespaces/${ns}/queries/${name}`)
    if (phases.includes(q.status?.phase)) return q
    if (Date.now() > deadline) throw new Error(`query ${ns}/${name} stayed ${JSON.stringify(q.status)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** How many stored versions of a Query moved it into a terminal phase: the database's own history. */
const terminalTransitions = (databaseUrl: string, ns: string, name: string) =>
  withStorage(databaseUrl, Effect.gen(function*() {
    const storage = yield* Storage
    const changes = yield* storage.changes(queries, "0", yield* storage.currentRevision)
    let previous = ""
    let count = 0
    for (const c of changes.filter((c) => c.namespace === ns && c.name === name)) {
      const phase = JSON.parse(c.object).status?.phase ?? ""
      if (["done", "error", "canceled"].includes(phase) && !["done", "error", "canceled"].includes(previous)) count++
      previous = phase
    }
    return count
  }))

describe("query workers", () => {
  let engine: ScriptedEngine
  let server: RunningServer

  beforeAll(async () => {
    engine = await startScriptedEngine((input) => {
      if (input.startsWith("slow:")) return { delayMs: Number(input.slice(5)), then: "slow answer" }
      if (input === "flaky") return { httpStatus: 503 }
      if (input === "question") return { inputRequired: "which city?" }
      if (input === "broken") return { failed: "the model refused" }
      return { answer: `answer to ${input}`, metadata: {} }
    })
    cleanups.push(() => engine.stop())
    server = await startServer({
      insecureHttp: true,
      // The controller (leader-elected) deletes Queries past their TTL.
      modules: "apiserver,query-workers,controller",
      args: ["--completions-url", engine.url],
      env: workerEnv
    })
    cleanups.push(() => server.stop())
  })

  it("runs a Query to done with the engine's response, duration and a Completed condition", async () => {
    const created = await send(server, "POST", `${base}/namespaces/w1/queries`, query("hello", "what is 2+2", { conversationId: "conv-1" }))
    expect(created.status.phase).toBe("pending")
    const done = await waitPhase(server, "w1", "hello", ["done", "error"])
    expect(done.status.phase).toBe("done")
    expect(done.status.response).toMatchObject({ content: "answer to what is 2+2", target: { type: "agent", name: "helper" }, a2a: { contextId: "conv-1" } })
    expect(JSON.parse(done.status.response.raw)).toBeTypeOf("object")
    expect(done.status.duration).toMatch(/^\d+(\.\d+)?s$/)
    expect(done.status.conditions[0]).toMatchObject({ type: "Completed", status: "True" })
    // The workers' status writes are recorded as their own Update of /status.
    const worker = done.metadata.managedFields.find((e: { manager: string }) => e.manager === "ark-query-worker")
    expect(worker).toMatchObject({ operation: "Update", subresource: "status", apiVersion: "ark.mckinsey.com/v1alpha1" })
    expect(Object.keys(worker.fieldsV1["f:status"])).toEqual(expect.arrayContaining(["f:phase", "f:response", "f:duration", "f:conditions"]))
    const call = engine.calls.find((c) => c.input === "what is 2+2")!
    expect(call.contextId).toBe("conv-1")
    expect(JSON.stringify(call.metadata)).toContain('"name":"hello"')
  })

  it("sends the input resolved from spec.parameters (a Secret's key too), and ends in error when a parameter cannot be resolved", async () => {
    await send(server, "POST", `${base}/namespaces/w1/queries`, query("templated", "weather in {{ .city }}", { parameters: [{ name: "city", value: "Oslo" }] }))
    const done = await waitPhase(server, "w1", "templated", ["done", "error"])
    expect(done.status.response.content).toBe("answer to weather in Oslo")
    expect(engine.calls.some((c) => c.input === "weather in Oslo")).toBe(true)
    await send(server, "POST", `${base}/namespaces/w1/queries`, query("secret-param", "key {{ .key }}", {
      parameters: [{ name: "key", valueFrom: { secretKeyRef: { name: "creds", key: "k" } } }]
    }))
    const failed = await waitPhase(server, "w1", "secret-param", ["done", "error"])
    expect(failed.status.phase).toBe("error")
    expect(failed.status.conditions[0]).toMatchObject({ type: "Completed", status: "False", reason: "InputUnresolvable" })
    expect(failed.status.conditions[0].message).toBe("secret w1/creds not found: parameter key of query w1/secret-param reads key k of it")
    expect(engine.calls.some((c) => c.input.startsWith("key "))).toBe(false)
    // Once the Secret exists (served by ark serve itself), the parameter resolves.
    await send(server, "POST", "/api/v1/namespaces/w1/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "creds" }, stringData: { k: "s3cret" } })
    await send(server, "POST", `${base}/namespaces/w1/queries`, query("secret-param-2", "key {{ .key }}", {
      parameters: [{ name: "key", valueFrom: { secretKeyRef: { name: "creds", key: "k" } } }]
    }))
    expect((await waitPhase(server, "w1", "secret-param-2", ["done", "error"])).status.phase).toBe("done")
    expect(engine.calls.some((c) => c.input === "key s3cret")).toBe(true)
  })

  it("runs a Query with spec.selector against the first matching Agent by name, else Team; ends in error when none matches", async () => {
    const ns = `${base}/namespaces/w8`
    const labelled = (kind: string, name: string, role: string, spec: Record<string, unknown>) =>
      send(server, "POST", `${ns}/${kind.toLowerCase()}s`, { apiVersion: "ark.mckinsey.com/v1alpha1", kind, metadata: { name, labels: { role } }, spec })
    await labelled("Agent", "b-helper", "helper", { prompt: "b" })
    await labelled("Agent", "a-helper", "helper", { prompt: "a" })
    await labelled("Agent", "other", "writer", { prompt: "o" })
    await labelled("Team", "crew", "crew", { strategy: "sequential", members: [{ name: "other", type: "agent" }] })
    const selecting = (name: string, selector: unknown) => ({
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Query",
      metadata: { name },
      spec: { input: `selected ${name}`, selector }
    })
    await send(server, "POST", `${ns}/queries`, selecting("by-labels", { matchLabels: { role: "helper" } }))
    await send(server, "POST", `${ns}/queries`, selecting("by-expression", { matchExpressions: [{ key: "role", operator: "In", values: ["crew", "nobody"] }] }))
    await send(server, "POST", `${ns}/queries`, selecting("unmatched", { matchLabels: { role: "nobody" } }))
    const byLabels = await waitPhase(server, "w8", "by-labels", ["done", "error"])
    expect(byLabels.status.response).toMatchObject({ content: "answer to selected by-labels", target: { type: "agent", name: "a-helper" } })
    const byExpression = await waitPhase(server, "w8", "by-expression", ["done", "error"])
    expect(byExpression.status.response).toMatchObject({ content: "answer to selected by-expression", target: { type: "team", name: "crew" } })
    const unmatched = await waitPhase(server, "w8", "unmatched", ["done", "error"])
    expect(unmatched.status.phase).toBe("error")
    expect(unmatched.status.conditions[0]).toMatchObject({ reason: "NoTarget", message: "no agent, team, model or tool in namespace w8 matches spec.selector" })
    expect(engine.calls.some((c) => c.input === "selected unmatched")).toBe(false)
  })

  it("sends an Agent's Queries to the ExecutionEngine it names, follows changes to the Agent, and refuses a missing engine", async () => {
    const other = await startScriptedEngine((input) => `engine two heard ${input}`)
    cleanups.push(() => other.stop())
    await send(server, "POST", "/apis/ark.mckinsey.com/v1prealpha1/namespaces/w5/executionengines", {
      apiVersion: "ark.mckinsey.com/v1prealpha1",
      kind: "ExecutionEngine",
      metadata: { name: "two" },
      spec: { type: "a2a", address: { value: other.url } }
    })
    const agent = { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "routed" }, spec: { executionEngine: { name: "two" } } }
    await send(server, "POST", `${base}/namespaces/w5/agents`, agent)
    const routed = { target: { type: "agent", name: "routed" } }
    await send(server, "POST", `${base}/namespaces/w5/queries`, query("to-two", "ping", routed))
    expect((await waitPhase(server, "w5", "to-two", ["done", "error"])).status.response.content).toBe("engine two heard ping")
    expect(other.calls.map((c) => c.input)).toEqual(["ping"])

    // The Agent now names an engine that does not exist: its Queries go nowhere else.
    await send(server, "PATCH", `${base}/namespaces/w5/agents/routed`, { spec: { executionEngine: { name: "gone" } } }, "application/merge-patch+json")
    await new Promise((r) => setTimeout(r, 1000))
    await send(server, "POST", `${base}/namespaces/w5/queries`, query("to-gone", "ping again", routed))
    const refused = await waitPhase(server, "w5", "to-gone", ["done", "error"])
    expect(refused.status.phase).toBe("error")
    expect(refused.status.conditions[0]).toMatchObject({ reason: "NoEngine" })
    expect(other.calls).toHaveLength(1)
    expect(engine.calls.some((c) => c.input === "ping again")).toBe(false)

    // Without an engine of its own the Agent's Queries use --completions-url.
    await send(server, "PATCH", `${base}/namespaces/w5/agents/routed`, [{ op: "remove", path: "/spec/executionEngine" }], "application/json-patch+json")
    await new Promise((r) => setTimeout(r, 1000))
    await send(server, "POST", `${base}/namespaces/w5/queries`, query("to-default", "ping default", routed))
    expect((await waitPhase(server, "w5", "to-default", ["done", "error"])).status.response.content).toBe("answer to ping default")
  })

  it("ends in error when the engine outlives spec.timeout, and in canceled on spec.cancel", async () => {
    await send(server, "POST", `${base}/namespaces/w2/queries`, query("late", "slow:5000", { timeout: "1s" }))
    const late = await waitPhase(server, "w2", "late", ["done", "error"])
    expect(late.status.phase).toBe("error")
    expect(late.status.conditions[0]).toMatchObject({ status: "False", reason: "Timeout" })
    await send(server, "POST", `${base}/namespaces/w2/queries`, query("stop", "slow:10000"))
    await waitPhase(server, "w2", "stop", ["running"])
    const started = Date.now()
    await send(server, "PATCH", `${base}/namespaces/w2/queries/stop`, { spec: { cancel: true } }, "application/merge-patch+json")
    const canceled = await waitPhase(server, "w2", "stop", ["canceled", "done", "error"])
    expect(canceled.status.phase).toBe("canceled")
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it("retries transient engine failures with backoff, then ends in error; failed tasks end in error at once", async () => {
    await send(server, "POST", `${base}/namespaces/w3/queries`, query("flaky", "flaky"))
    const failed = await waitPhase(server, "w3", "flaky", ["done", "error"])
    expect(failed.status.phase).toBe("error")
    expect(failed.status.conditions[0].reason).toBe("EngineUnavailable")
    expect(failed.status.error).toBe(failed.status.conditions[0].message)
    expect(engine.calls.filter((c) => c.input === "flaky")).toHaveLength(3)
    await send(server, "POST", `${base}/namespaces/w3/queries`, query("broken", "broken"))
    const broken = await waitPhase(server, "w3", "broken", ["done", "error"])
    expect(broken.status.conditions[0]).toMatchObject({ reason: "EngineFailed" })
    expect(engine.calls.filter((c) => c.input === "broken")).toHaveLength(1)
  })

  it("a Task that needs input ends in approval-required, as upstream pauses a Query for a human, the task kept in status.response.a2a", async () => {
    await send(server, "POST", `${base}/namespaces/w4/queries`, query("ask", "question"))
    const asked = await waitPhase(server, "w4", "ask", ["approval-required", "input-required", "done", "error"])
    expect(asked.status.phase).toBe("approval-required")
    expect(asked.status.conditions[0]).toMatchObject({ type: "Completed", status: "False", reason: "ApprovalRequired" })
    expect(asked.status.response.a2a.taskId).toEqual(expect.any(String))
    expect(asked.status.response.content).toBe("which city?")
    // An A2ATask tracks an A2AServer's task (a2aServerRef is required): none is made for an engine's pause.
    expect((await fetch(`${server.url}${base}/namespaces/w4/a2atasks/ask`)).status).toBe(404)
  })

  it("deletes a finished Query once its spec.ttl has passed", async () => {
    await send(server, "POST", `${base}/namespaces/w5/queries`, query("short-lived", "bye", { ttl: "1s" }))
    await send(server, "POST", `${base}/namespaces/w5/queries`, query("long-lived", "stay"))
    await waitPhase(server, "w5", "short-lived", ["done"])
    const deadline = Date.now() + 15_000
    let gone = false
    while (!gone && Date.now() < deadline) {
      gone = (await fetch(`${server.url}${base}/namespaces/w5/queries/short-lived`)).status === 404
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(gone).toBe(true)
    expect((await send(server, "GET", `${base}/namespaces/w5/queries/long-lived`)).status.phase).toBe("done")
  })
})

describe("an engine served over HTTPS", () => {
  it("is called when its CA is trusted (NODE_EXTRA_CA_CERTS); without the CA the Query ends in error naming the certificate", async () => {
    const ca = await makeCa("engine-ca")
    const cert = await issue(ca, { cn: "engine", hosts: ["127.0.0.1"] })
    const engine = await startScriptedEngine((input) => `secure answer to ${input}`, { tls: { cert: cert.certPem, key: cert.keyPem } })
    cleanups.push(() => engine.stop())
    expect(engine.url.startsWith("https://")).toBe(true)
    const dir = mkdtempSync(join(tmpdir(), "ark-engine-ca-"))
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, "ca.pem"), ca.certPem)
    const trusting = await startServer({
      insecureHttp: true,
      modules: "apiserver,query-workers",
      args: ["--completions-url", engine.url],
      env: { ...workerEnv, NODE_EXTRA_CA_CERTS: join(dir, "ca.pem") }
    })
    cleanups.push(() => trusting.stop())
    await send(trusting, "POST", `${base}/namespaces/tls/queries`, query("over-tls", "hello"))
    const done = await waitPhase(trusting, "tls", "over-tls", ["done", "error"])
    expect(done.status.response.content).toBe("secure answer to hello")
    const distrusting = await startServer({ insecureHttp: true, modules: "apiserver,query-workers", args: ["--completions-url", engine.url], env: workerEnv })
    cleanups.push(() => distrusting.stop())
    await send(distrusting, "POST", `${base}/namespaces/tls-untrusted/queries`, query("untrusted", "hello"))
    const failed = await waitPhase(distrusting, "tls-untrusted", "untrusted", ["done", "error"])
    expect(failed.status.phase).toBe("error")
    expect(failed.status.conditions[0].message).toContain("certificate")
    expect(engine.calls.filter((c) => c.input === "hello")).toHaveLength(1)
  })
})

describe("a worker killed mid-call", () => {
  it("loses its lease; another replica calls again and the Query ends in exactly one terminal phase", async () => {
    let calls = 0
    const engine = await startScriptedEngine(() => ++calls === 1 ? { delayMs: 60_000, then: "never sent" } : "second try")
    cleanups.push(() => engine.stop())
    const first = await startServer({ insecureHttp: true, modules: "apiserver,query-workers", args: ["--completions-url", engine.url], env: workerEnv })
    await send(first, "POST", `${base}/namespaces/k1/queries`, query("survivor", "anything"))
    const deadline = Date.now() + 20_000
    while (engine.calls.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(engine.calls).toHaveLength(1)
    const exited = new Promise((r) => first.process.once("exit", r))
    first.process.kill("SIGKILL")
    await exited
    await first.stop()
    const second = await startServer({
      insecureHttp: true,
      modules: "apiserver,query-workers",
      databaseUrl: first.databaseUrl!,
      args: ["--completions-url", engine.url],
      env: workerEnv
    })
    cleanups.push(() => second.stop())
    const done = await waitPhase(second, "k1", "survivor", ["done", "error"])
    expect(done.status.phase).toBe("done")
    expect(done.status.response.content).toBe("second try")
    expect(engine.calls).toHaveLength(2)
    expect(await terminalTransitions(first.databaseUrl!, "k1", "survivor")).toBe(1)
  })
})

// etcd has no queue table: its workers take Queries from the in-process queue fed by the watch hub.
// "npm start" here is `ark serve --demo-engine` with every default: the embedded PostgreSQL and every
// module (here on free ports, beside the other tests). npm start itself now runs the completions
// engine with the demo engine as its fallback (test/engine/examples.test.ts).
describe.each(["postgresql", "etcd", "npm start"] as const)("the demo engine on %s", (storage) => {
  it("lets kubectl apply the examples and wait for the Queries to be done", async () => {
    const etcd = storage === "etcd" ? await startEtcd() : undefined
    if (etcd !== undefined) cleanups.push(() => etcd.stop())
    const server = await startServer(storage === "npm start"
      ? { embedded: true, modules: "apiserver,controller,query-workers,webhook,metrics", args: ["--demo-engine", "--webhook-port", "0", "--metrics-port", "0"] }
      : {
        modules: "apiserver,query-workers",
        args: ["--demo-engine"],
        ...(etcd !== undefined ? { etcdEndpoint: etcd.endpoint } : {})
      })
    cleanups.push(() => server.stop())
    const { kubectl } = await kubectlBinaries()
    const k = (args: ReadonlyArray<string>) => runKubectl(kubectl, ["--kubeconfig", server.kubeconfig, ...args])
    const applied = await k(["apply", "-f", join(import.meta.dirname, "..", "..", "examples")])
    expect(applied.code, applied.stderr).toBe(0)
    const waited = await k(["wait", "--for=jsonpath={.status.phase}=done", "query/lisbon-weather", "query/oslo-weather-bulletin", "--timeout=30s"])
    expect(waited.code, waited.stderr).toBe(0)
    const content = await k(["get", "query", "lisbon-weather", "-o", "jsonpath={.status.response.content}"])
    expect(content.stdout).toBe("weather-reporter (demo engine) received: What is the weather like in Lisbon right now?")
  })
})

describe("PostgreSQL restarted while Queries run", () => {
  it("every Query still finishes", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ark-pg-restart-"))
    const port = await freePort()
    const startPg = async () => {
      const scope = Effect.runSync(Scope.make())
      const pg = await Effect.runPromise(Scope.provide(EmbeddedPostgres.start({ dataDir, port }), scope))
      return { url: pg.url, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
    }
    let pg = await startPg()
    cleanups.push(async () => {
      await pg.stop()
      rmSync(dataDir, { recursive: true, force: true })
    })
    const engine = await startScriptedEngine(() => ({ delayMs: 1000, then: "finished" }))
    cleanups.push(() => engine.stop())
    const server = await startServer({
      insecureHttp: true,
      modules: "apiserver,query-workers",
      databaseUrl: pg.url,
      args: ["--completions-url", engine.url],
      env: workerEnv
    })
    cleanups.push(() => server.stop())
    const names = Array.from({ length: 20 }, (_, i) => `r-${i}`)
    for (const n of names) await send(server, "POST", `${base}/namespaces/restart/queries`, query(n, `question ${n}`))
    await new Promise((r) => setTimeout(r, 300))
    await pg.stop()
    await new Promise((r) => setTimeout(r, 1000))
    pg = await startPg()
    for (const n of names) {
      const q = await waitPhase(server, "restart", n, ["done", "error"], 60_000)
      expect(q.status.phase, n).toBe("done")
    }
  }, 120_000)
})
