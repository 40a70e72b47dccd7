/**
 * Conversation memory: a second Query in the same conversation sees the first one's messages,
 * with ark's built-in memory (a Memory whose address is ark itself, kept in its PostgreSQL) and
 * with an HTTP memory service written here to upstream's protocol. The engine is the one
 * embedded in ark serve; the model is scripted.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BUILTIN_MEMORY_ADDRESS } from "../../src/layers/engine/memory/memory.ts"
import { agent, arkClient, openAiModel, query, v1alpha1 } from "../support/arkClient.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ScriptedModel } from "../support/models.ts"
import { openAiMessages, startScriptedModel } from "../support/models.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

interface Stored {
  readonly conversation_id: string
  readonly query_id: string
  readonly message: unknown
  readonly ttl_seconds: unknown
}

/** A memory service as upstream's engine expects one: POST /conversations, POST and GET /messages. */
const startMemoryService = async () => {
  const stored: Array<Stored> = []
  let conversations = 0
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x")
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(JSON.stringify(body))
      }
      if (req.method === "POST" && url.pathname === "/conversations") return reply(201, { conversation_id: `conv-${++conversations}` })
      if (req.method === "POST" && url.pathname === "/messages") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
        for (const message of body.messages) stored.push({ conversation_id: body.conversation_id, query_id: body.query_id, message, ttl_seconds: body.ttl_seconds })
        return reply(200, {})
      }
      if (req.method === "GET" && url.pathname === "/messages") {
        const items = stored.filter((s) => s.conversation_id === url.searchParams.get("conversation_id"))
          .map((s, i) => ({ timestamp: new Date().toISOString(), conversation_id: s.conversation_id, query_id: s.query_id, message: s.message, sequence: i + 1 }))
        return reply(200, { items, total: items.length, hasMore: false })
      }
      reply(404, { error: "not found" })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, stored, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

let server: RunningServer
let model: ScriptedModel
let service: Awaited<ReturnType<typeof startMemoryService>>
let client: ReturnType<typeof arkClient>

beforeAll(async () => {
  service = await startMemoryService()
  cleanups.push(() => service.stop())
  // The model answers with every user message it was sent: what it remembers.
  model = await startScriptedModel("openai", (call) => ({
    text: `I have heard: ${openAiMessages(call).filter((m) => m.role === "user").map((m) => String(m.content)).join(" | ")}`,
    usage: { input: 5, output: 5 }
  }))
  cleanups.push(() => model.stop())
  server = await startServer({ modules: "apiserver,query-workers" })
  cleanups.push(() => server.stop())
  client = arkClient((await kubectlBinaries()).kubectl, server.kubeconfig)
  await client.apply("mem", [
    openAiModel(model.url),
    agent("listener", { prompt: "Remember." }),
    { apiVersion: v1alpha1, kind: "Memory", metadata: { name: "builtin" }, spec: { address: { value: BUILTIN_MEMORY_ADDRESS } } },
    { apiVersion: v1alpha1, kind: "Memory", metadata: { name: "upstream-style" }, spec: { address: { value: service.url } } }
  ])
})

const ask = async (name: string, input: string, spec: Record<string, unknown>) => {
  await client.apply("mem", [query(name, { input, target: { type: "agent", name: "listener" }, ...spec })])
  const q = await client.finished("mem", name)
  expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
  return q
}

describe("conversation memory", () => {
  it("built-in memory: a second Query in the conversation sees the first one's messages", async () => {
    const first = await ask("b1", "My name is Ada.", { memory: { name: "builtin" } })
    expect(first.status.response.content).toBe("I have heard: My name is Ada.")
    const conversation = first.status.conversationId
    expect(conversation).toMatch(/^[0-9a-f-]{36}$/)
    const second = await ask("b2", "What is my name?", { memory: { name: "builtin" }, conversationId: conversation })
    expect(second.status.response.content).toBe("I have heard: My name is Ada. | What is my name?")
    const sent = openAiMessages(model.calls.at(-1)!).map((m) => [m.role, m.content])
    expect(sent).toEqual([
      ["system", "Remember."],
      ["user", "My name is Ada."],
      ["assistant", "I have heard: My name is Ada."],
      ["user", "What is my name?"]
    ])
    // ark serves the same protocol the engine used, at the Memory's own endpoint.
    const r = await client.k(["get", "--raw", `/apis/ark.mckinsey.com/v1alpha1/namespaces/mem/memories/builtin/messages?conversation_id=${conversation}`])
    expect(r.code, r.stderr).toBe(0)
    const listed = JSON.parse(r.stdout) as { items: ReadonlyArray<{ query_id: string; message: { role: string } }>; total: number }
    expect(listed.items.map((i) => [i.query_id, i.message.role])).toEqual([["b1", "user"], ["b1", "assistant"], ["b2", "user"], ["b2", "assistant"]])
    // Another conversation starts empty.
    const other = await ask("b3", "Hello?", { memory: { name: "builtin" } })
    expect(other.status.response.content).toBe("I have heard: Hello?")
    expect(other.status.conversationId).not.toBe(conversation)
  })

  it("an HTTP memory service of upstream's protocol: the second Query sees the first one's messages; messages carry the Query's TTL", async () => {
    const first = await ask("h1", "I live in Lisbon.", { memory: { name: "upstream-style" }, ttl: "2h" })
    expect(first.status.conversationId).toBe("conv-1")
    const second = await ask("h2", "Where do I live?", { memory: { name: "upstream-style" }, conversationId: "conv-1", ttl: "2h" })
    expect(second.status.response.content).toBe("I have heard: I live in Lisbon. | Where do I live?")
    expect(service.stored.map((s) => [s.conversation_id, s.query_id, (s.message as { role: string }).role, s.ttl_seconds])).toEqual([
      ["conv-1", "h1", "user", 7200],
      ["conv-1", "h1", "assistant", 7200],
      ["conv-1", "h2", "user", 7200],
      ["conv-1", "h2", "assistant", 7200]
    ])
  })

  it("a team target remembers too: its second Query's member sees the first one's messages", async () => {
    await client.apply("mem", [{ apiVersion: v1alpha1, kind: "Team", metadata: { name: "desk" }, spec: { strategy: "sequential", members: [{ type: "agent", name: "listener" }] } }])
    const teamAsk = async (name: string, input: string, extra: Record<string, unknown>) => {
      await client.apply("mem", [query(name, { input, target: { type: "team", name: "desk" }, memory: { name: "builtin" }, ...extra })])
      const q = await client.finished("mem", name)
      expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
      return q
    }
    const first = await teamAsk("t1", "I am Grace.", {})
    const second = await teamAsk("t2", "Who am I?", { conversationId: first.status.conversationId })
    expect(first.status.response.content).toBe("I have heard: I am Grace.")
    expect(second.status.response.content).toBe("I have heard: I am Grace. | Who am I?")
  })

  it("refuses a bad messages body with a 400 Status, and a Memory that does not exist with 404", async () => {
    const bad = await client.k(["create", "--raw", "/apis/ark.mckinsey.com/v1alpha1/namespaces/mem/memories/builtin/messages", "-f", "-"], JSON.stringify({ query_id: "x", messages: [] }))
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain("conversation_id")
    const missing = await client.k(["get", "--raw", "/apis/ark.mckinsey.com/v1alpha1/namespaces/mem/memories/nope/messages?conversation_id=c"])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain("NotFound")
  })
})
