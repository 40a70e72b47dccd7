/**
 * Real tool servers for the engine's tests, on 127.0.0.1 with free ports: an HTTP API (a weather
 * service in upstream's example style) and an MCP server built with @modelcontextprotocol/sdk's
 * own server, over streamable HTTP (`/mcp`) and SSE (`/sse` + `/messages`). Both record what
 * they were called with.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { createServer } from "node:http"
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http"

export interface Running {
  readonly url: string
  readonly stop: () => Promise<void>
}

const listen = (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: HttpServer; url: string }> =>
  new Promise((resolve, reject) => {
    const server = createServer(handler)
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resolve({ server, url: `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}` })
    })
  })

const stopper = (server: HttpServer) => () =>
  new Promise<void>((done) => {
    server.close(() => done())
    server.closeAllConnections()
  })

export interface HttpCall {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}

/**
 * A weather API: `GET /forecast?latitude=..&longitude=..` answers JSON; `/broken` answers 500;
 * `/huge` 2 MiB; `/slow` after 5 s.
 */
export const startWeatherApi = async (): Promise<Running & { readonly calls: Array<HttpCall> }> => {
  const calls: Array<HttpCall> = []
  const { server, url } = await listen((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      calls.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })
      const u = new URL(req.url ?? "/", "http://x")
      if (u.pathname === "/forecast") {
        res.writeHead(200, { "content-type": "application/json" })
        return res.end(JSON.stringify({ latitude: Number(u.searchParams.get("latitude")), longitude: Number(u.searchParams.get("longitude")), current: { temperature_2m: 21.5, wind_speed_10m: 12 } }))
      }
      if (u.pathname === "/slow") {
        const timer = setTimeout(() => res.end("too late"), 5000)
        res.on("close", () => clearTimeout(timer))
        return
      }
      if (u.pathname === "/huge") {
        res.writeHead(200, { "content-type": "text/plain" })
        return res.end("x".repeat(2 * 1024 * 1024))
      }
      res.writeHead(u.pathname === "/broken" ? 500 : 404, { "content-type": "text/plain" })
      res.end(u.pathname === "/broken" ? "weather service down" : "not found")
    })
  })
  return { url, calls, stop: stopper(server) }
}

export interface McpCall {
  readonly tool: string
  readonly arguments: unknown
  readonly authorization: string | undefined
}

/** An MCP server with `get_alerts` (weather alerts of a region) and `fail` (always an error result). */
export const startMcpServer = async (): Promise<Running & { readonly calls: Array<McpCall>; readonly lists: { count: number } }> => {
  const calls: Array<McpCall> = []
  const lists = { count: 0 }
  const mcpServer = (authorization: string | undefined) => {
    const s = new Server({ name: "weather-alerts", version: "1.0.0" }, { capabilities: { tools: {} } })
    s.setRequestHandler(ListToolsRequestSchema, async () => {
      lists.count++
      return {
        tools: [
          {
            name: "get_alerts",
            description: "Active weather alerts of a region",
            inputSchema: { type: "object", properties: { region: { type: "string" } }, required: ["region"] }
          },
          { name: "fail", description: "Always fails", inputSchema: { type: "object", properties: {} } }
        ]
      }
    })
    s.setRequestHandler(CallToolRequestSchema, async (request) => {
      calls.push({ tool: request.params.name, arguments: request.params.arguments, authorization })
      if (request.params.name === "get_alerts") {
        const region = String((request.params.arguments as { region?: unknown } | undefined)?.region ?? "")
        return { content: [{ type: "text", text: `No alerts for ${region}; wind advisory lifted.` }] }
      }
      return { content: [{ type: "text", text: "the alert feed is unavailable" }], isError: true }
    })
    return s
  }
  const sse = new Map<string, SSEServerTransport>()
  const { server, url } = await listen((req, res) => {
    const path = (req.url ?? "/").split("?")[0]
    const authorization = req.headers.authorization
    if (path === "/mcp") {
      // Stateless: a fresh server and transport per request, as the SDK's examples do.
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
      const s = mcpServer(authorization)
      res.on("close", () => {
        void transport.close()
        void s.close()
      })
      void s.connect(transport).then(() => transport.handleRequest(req, res))
      return
    }
    if (path === "/sse" && req.method === "GET") {
      const transport = new SSEServerTransport("/messages", res)
      sse.set(transport.sessionId, transport)
      res.on("close", () => sse.delete(transport.sessionId))
      void mcpServer(authorization).connect(transport)
      return
    }
    if (path === "/messages" && req.method === "POST") {
      const id = new URL(req.url ?? "/", "http://x").searchParams.get("sessionId") ?? ""
      const transport = sse.get(id)
      if (transport === undefined) {
        res.writeHead(404)
        return res.end("no session")
      }
      void transport.handlePostMessage(req, res)
      return
    }
    res.writeHead(404)
    res.end()
  })
  return { url, calls, lists, stop: stopper(server) }
}
