/**
 * MCP tools through @modelcontextprotocol/sdk's client, over streamable HTTP or SSE (the
 * MCPServer's `transport`), with its headers (and OAuth token) on every request. One connected
 * client per server and configuration is kept for the engine's lifetime and shared by every
 * Query; its tool list is cached and listed again after `listTtl`. A client whose connection
 * fails is dropped, so the next call connects afresh. The SDK is loaded with the first connection:
 * `ark` commands and engines without MCP tools do not pay for its import.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { Clock, Effect } from "effect"
import type { Scope } from "effect"
import { ToolFailed } from "./runnableTool.ts"

export interface McpServerConfig {
  /** namespace/name of the MCPServer, for messages. */
  readonly id: string
  readonly url: string
  readonly transport: "http" | "sse"
  readonly headers: Readonly<Record<string, string>>
  /** For each tool call (MCPServer spec.timeout). */
  readonly timeoutMs: number
}

export interface McpTool {
  readonly name: string
  readonly description?: string
  readonly inputSchema: Record<string, unknown>
}

interface Connection {
  readonly client: Promise<Client>
  listed?: { readonly at: number; readonly tools: ReadonlyArray<McpTool> }
}

export interface McpClients {
  readonly tools: (server: McpServerConfig) => Effect.Effect<ReadonlyArray<McpTool>, ToolFailed>
  readonly call: (server: McpServerConfig, tool: string, args: Record<string, unknown>) => Effect.Effect<string, ToolFailed>
}

const messageOf = (e: unknown) => e instanceof Error ? e.message : String(e)

const connect = async (server: McpServerConfig): Promise<Client> => {
  // Through fetch, so the headers reach every request of both transports (SSE's stream included).
  const withHeaders = (url: string | URL, init?: RequestInit) =>
    fetch(url, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...server.headers } })
  const url = new URL(server.url)
  const [{ Client }, { SSEClientTransport }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/sse.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js")
  ])
  const transport = server.transport === "sse"
    ? new SSEClientTransport(url, { fetch: withHeaders })
    : new StreamableHTTPClientTransport(url, { fetch: withHeaders })
  const client = new Client({ name: "ark-effect-engine", version: "0.1.0" })
  await client.connect(transport)
  return client
}

/** Text of a tool result: its text parts, other parts as JSON. */
const resultText = (content: ReadonlyArray<{ type: string; text?: string }>) =>
  content.map((c) => c.type === "text" && typeof c.text === "string" ? c.text : JSON.stringify(c)).join("\n")

export const make = (listTtlMs: number): Effect.Effect<McpClients, never, Scope.Scope> =>
  Effect.gen(function*() {
    const connections = new Map<string, Connection>()
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => Promise.allSettled([...connections.values()].map(async (c) => (await c.client).close())))
    )
    const keyOf = (s: McpServerConfig) => JSON.stringify([s.id, s.url, s.transport, s.headers])
    const connection = (server: McpServerConfig) => {
      const key = keyOf(server)
      let c = connections.get(key)
      if (c === undefined) {
        c = { client: connect(server) }
        connections.set(key, c)
      }
      return { key, c }
    }
    /** Runs `f` on the server's client; a failure drops the connection (closing it). */
    const using = <A>(server: McpServerConfig, what: string, f: (client: Client, signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({
        try: async (signal) => f(await connection(server).c.client, signal),
        catch: (e) => {
          const { key, c } = connection(server)
          connections.delete(key)
          c.client.then((client) => client.close(), () => undefined)
          return new ToolFailed({ message: `MCP server ${server.id} (${server.url}): ${what}: ${messageOf(e)}` })
        }
      })
    /** The server's tools: listed again once the cached list is `listTtlMs` old (on the Effect clock). */
    const tools = (server: McpServerConfig) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const listed = connection(server).c.listed
        if (listed !== undefined && now - listed.at < listTtlMs) return listed.tools
        const fresh = yield* list(server)
        connection(server).c.listed = { at: now, tools: fresh }
        return fresh
      })
    const list = (server: McpServerConfig) =>
      using(server, "listing tools", async (client, signal) => {
        const all: Array<McpTool> = []
        let cursor: string | undefined
        // Bounded: a server that pages for ever is cut at 100 pages.
        for (let page = 0; page < 100; page++) {
          const result = await client.listTools(cursor === undefined ? {} : { cursor }, { signal, timeout: server.timeoutMs })
          for (const t of result.tools) all.push({ name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), inputSchema: t.inputSchema as Record<string, unknown> })
          cursor = result.nextCursor
          if (cursor === undefined) break
        }
        return all as ReadonlyArray<McpTool>
      })
    const call = (server: McpServerConfig, tool: string, args: Record<string, unknown>) =>
      using(server, `calling ${tool}`, (client, signal) => client.callTool({ name: tool, arguments: args }, undefined, { signal, timeout: server.timeoutMs })).pipe(
        Effect.flatMap((result) => {
          const content = Array.isArray(result.content) ? resultText(result.content as ReadonlyArray<{ type: string; text?: string }>) : JSON.stringify(result.structuredContent ?? result)
          return result.isError === true ? Effect.fail(new ToolFailed({ message: `MCP tool ${tool} of ${server.id} failed: ${content}` })) : Effect.succeed(content)
        })
      )
    return { tools, call }
  })
