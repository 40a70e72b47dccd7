/**
 * Interoperability with upstream's engines: an execution engine built on upstream Ark's Python
 * SDK (ark-sdk's BaseExecutor and ExecutorApp, from PyPI) as an Agent's ExecutionEngine. ark
 * serve's workers send it upstream's QueryRef over A2A; the SDK resolves the Query, the Agent and
 * its Model (the key from a Secret) from ark serve itself, as it resolves them from a cluster.
 */
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agent, arkClient, query, v1alpha1 } from "../support/arkClient.ts"
import type { RunningSdkEngine } from "../support/arkSdk.ts"
import { arkSdkPython, startSdkEngine } from "../support/arkSdk.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import { freePort } from "../support/net.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

let server: RunningServer
let engine: RunningSdkEngine
let client: ReturnType<typeof arkClient>

beforeAll(async () => {
  // The first run makes the SDK's virtual environment (pip install from PyPI): minutes.
  const python = await arkSdkPython()
  server = await startServer({ modules: "apiserver,query-workers" })
  engine = await startSdkEngine(python, join(import.meta.dirname, "sdk-echo-engine.py"), await freePort(), server.kubeconfig)
  client = arkClient((await kubectlBinaries()).kubectl, server.kubeconfig)
}, 600_000)
afterAll(async () => {
  await engine?.stop()
  await server?.stop()
})

describe("an execution engine on upstream's Python SDK", () => {
  it("answers Queries ark serve dispatches to it, having read the Query, Agent, Model and Secret from ark serve", async () => {
    const secret = await client.k(["create", "secret", "generic", "openai-api-key", "-n", "sdk", "--from-literal=token=sk-0123456789"])
    expect(secret.code, secret.stderr).toBe(0)
    await client.apply("sdk", [
      { apiVersion: "ark.mckinsey.com/v1prealpha1", kind: "ExecutionEngine", metadata: { name: "sdk-echo" }, spec: { address: { value: engine.url } } },
      {
        apiVersion: v1alpha1,
        kind: "Model",
        metadata: { name: "default" },
        spec: { provider: "openai", model: { value: "gpt-4.1-mini" }, config: { openai: { baseUrl: { value: "https://api.openai.com/v1" }, apiKey: { valueFrom: { secretKeyRef: { name: "openai-api-key", key: "token" } } } } } }
      },
      agent("researcher", { prompt: "You research.", executionEngine: { name: "sdk-echo" }, modelRef: { name: "default" } }),
      query("ask", { input: "what is new?", target: { type: "agent", name: "researcher" } })
    ])
    const q = await client.finished("sdk", "ask", 60_000)
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe(`sdk engine: agent researcher, prompt 'You research.', model gpt-4.1-mini (openai), key 13 chars, input 'what is new?'`)
  })
})
