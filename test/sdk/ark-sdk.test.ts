/**
 * Upstream's own Python SDK (PyPI `ark-sdk`, pinned in test/support/arkSdk.ts) as a real client
 * of `ark serve`: its typed models read back the objects ark stores, and an execution engine
 * written on its BaseExecutor answers a Query that ark's query workers dispatch to it, after
 * resolving the Query, Agent and Model from ark's API with a kubeconfig. And what the SDK makes
 * of a Query ark paused in approval-required, a phase newer than the pinned release.
 */
import { execFile, spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { arkSdkPython } from "../support/arkSdk.ts"
import type { ScriptedEngine } from "../support/engine.ts"
import { startScriptedEngine } from "../support/engine.ts"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import { freePort } from "../support/net.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const here = import.meta.dirname
const accepted = join(here, "..", "fixtures", "upstream-manifests", "accepted")
const run = promisify(execFile)

let python: string
let server: RunningServer
let kubectl: string
let engine: ChildProcess | undefined
let scripted: ScriptedEngine | undefined

beforeAll(async () => {
  // The first run creates the virtualenv and installs ark-sdk from PyPI (about a minute).
  ;[python, server, kubectl] = await Promise.all([
    arkSdkPython(),
    startServer({ modules: "apiserver,query-workers" }),
    kubectlBinaries().then((b) => b.kubectl)
  ])
}, 600_000)
afterAll(async () => {
  if (engine?.pid !== undefined && engine.exitCode === null) engine.kill("SIGTERM")
  await scripted?.stop()
  await server?.stop()
})

const ok = async (args: ReadonlyArray<string>, input?: string) => {
  const r = await runKubectl(kubectl, ["--kubeconfig", server.kubeconfig, ...args], input === undefined ? {} : { input })
  expect(r.code, `kubectl ${args.join(" ")}\n${r.stderr}`).toBe(0)
  return r.stdout
}

const sdkEnv = () => ({ ...process.env, KUBECONFIG: server.kubeconfig })

describe("ark-sdk's typed models", () => {
  it("read back every kind the SDK models, as ark stores it, without a validation error", async () => {
    await ok(["apply", "-n", "sdk-models", "-f", accepted])
    const { stdout } = await run(python, [join(here, "read_kinds.py"), "sdk-models"], { env: sdkEnv(), maxBuffer: 8 * 1024 * 1024 })
    const { read, refused } = JSON.parse(stdout) as { read: Record<string, Array<string>>; refused: Record<string, string> }
    expect(read).toEqual({
      A2AServer: ["remote-agents"],
      A2ATask: ["remote-task"],
      Agent: ["ephemeral", "promptless", "translator", "weather"],
      ArkConfig: ["default"],
      ExecutionEngine: ["shared-engine"],
      MCPServer: ["github", "machine-oauth"],
      Memory: ["default"],
      Model: ["claude", "default", "gateway"],
      Query: ["by-label", "direct-model", "from-messages", "target-and-selector", "weather-berlin"],
      Team: ["legacy-graph", "legacy-round-robin", "loop", "pipeline", "routed"],
      Tool: ["ask-weather", "delete-database", "get-coordinates", "github-search", "terminate"]
    })
    // The two objects that use fields of upstream's newer line, which ark-sdk 0.1.72 predates:
    // an inline Tool (type "inline" is not in its enum) and an ExecutionEngine named by type and
    // source alone (its model still requires spec.address).
    expect(Object.keys(refused).sort()).toEqual(["ExecutionEngine/langgraph-translator", "Tool/word-count"])
    expect(refused["Tool/word-count"]).toContain("must be one of enum values")
    expect(refused["ExecutionEngine/langgraph-translator"]).toContain("address")
  }, 120_000)
})

describe("an execution engine on ark-sdk's BaseExecutor", () => {
  it("receives a Query from ark's query workers, resolves it against ark's API and answers; the Query ends done", async () => {
    const port = await freePort()
    engine = spawn(python, [join(here, "engine.py"), String(port)], { env: sdkEnv(), stdio: ["ignore", "pipe", "pipe"] })
    let log = ""
    engine.stdout?.on("data", (c: Buffer) => (log += c.toString()))
    engine.stderr?.on("data", (c: Buffer) => (log += c.toString()))
    const deadline = Date.now() + 60_000
    for (;;) {
      const healthy = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
      if (healthy) break
      expect(Date.now() < deadline && engine.exitCode === null, `the engine did not start:\n${log}`).toBe(true)
      await new Promise((r) => setTimeout(r, 250))
    }
    await ok(["apply", "-n", "sdk-engine", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "Model",
          metadata: { name: "small" },
          spec: {
            provider: "openai",
            model: { value: "gpt-4.1-mini" },
            config: { openai: { baseUrl: { value: "https://llm.example.com/v1" }, apiKey: { value: "unused" } } }
          }
        },
        {
          apiVersion: "ark.mckinsey.com/v1prealpha1",
          kind: "ExecutionEngine",
          metadata: { name: "python-engine" },
          spec: { type: "sdk-engine", address: { value: `http://127.0.0.1:${port}/` } }
        },
        {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "Agent",
          metadata: { name: "arithmetic" },
          spec: { prompt: "You do sums.", modelRef: { name: "small" }, executionEngine: { name: "python-engine" } }
        },
        {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "Query",
          metadata: { name: "six-times-seven" },
          spec: { input: "What is 6 x 7?", target: { type: "agent", name: "arithmetic" } }
        }
      ]
    }))
    await ok(["wait", "-n", "sdk-engine", "--for=jsonpath={.status.phase}=done", "--timeout=60s", "query/six-times-seven"])
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\nengine log:\n${log}`)
      })
    const query = JSON.parse(await ok(["get", "-n", "sdk-engine", "query", "six-times-seven", "-o", "json"]))
    expect(query.status.response.content).toBe("arithmetic (You do sums.) on openai model gpt-4.1-mini answers: What is 6 x 7?")
    expect(query.status.response.target).toEqual({ type: "agent", name: "arithmetic" })
  }, 180_000)
})

describe("a Query paused for a human, as ark-sdk 0.1.72 sees it", () => {
  it("ark writes approval-required, which the SDK's Query model refuses; the released input-required an SDK engine writes is accepted and read", async () => {
    scripted = await startScriptedEngine(() => ({ inputRequired: "May I delete the database?" }))
    await ok(["apply", "-n", "sdk-phases", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "ark.mckinsey.com/v1prealpha1",
          kind: "ExecutionEngine",
          metadata: { name: "asking" },
          spec: { type: "asking", address: { value: scripted.url } }
        },
        {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "Agent",
          metadata: { name: "careful" },
          spec: { prompt: "Ask first.", executionEngine: { name: "asking" } }
        },
        {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "Query",
          metadata: { name: "drop-tables" },
          spec: { input: "Drop every table.", target: { type: "agent", name: "careful" } }
        }
      ]
    }))
    await ok(["wait", "-n", "sdk-phases", "--for=jsonpath={.status.phase}=approval-required", "--timeout=60s", "query/drop-tables"])
    expect(await ok(["get", "-n", "sdk-phases", "query", "drop-tables"])).toMatch(/^drop-tables\s+user\s+approval-required\s/m)
    const read = async (...phase: Array<string>) =>
      JSON.parse((await run(python, [join(here, "query_phase.py"), "sdk-phases", "drop-tables", ...phase], { env: sdkEnv() })).stdout) as {
        get: string
        list: string | Array<string>
      }
    const releasedPhases = "must be one of enum values ('pending', 'provisioning', 'running', 'queued', 'input-required', 'error', 'done', 'canceled')"
    const paused = await read()
    expect(paused.get).toContain(releasedPhases)
    expect(paused.list).toContain(releasedPhases)
    // An engine on the SDK reports a pause the released way (QueryStatusUpdater merge-patches /status).
    expect(await read("input-required")).toEqual({ get: "input-required", list: ["input-required"] })
    const query = JSON.parse(await ok(["get", "-n", "sdk-phases", "query", "drop-tables", "-o", "json"]))
    expect(query.status.phase).toBe("input-required")
    expect(query.status.conditions).toContainEqual(expect.objectContaining({ type: "Completed", reason: "Paused", message: "written by ark-sdk" }))
  }, 180_000)
})
