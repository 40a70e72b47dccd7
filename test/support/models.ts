/**
 * Scripted model providers for tests, the one test double the engine's tests use: a plain HTTP
 * server on 127.0.0.1 speaking the real wire format of OpenAI Chat Completions (also what
 * Azure OpenAI deployments, Ollama, vLLM serve), Anthropic Messages and Bedrock Converse, so the
 * providers' real SDKs talk to it. Each request body is recorded; each answer comes from the
 * script: text, tool calls and usage, or an HTTP error (with Retry-After) in the provider's shape.
 */
import { createServer } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"

export type Wire = "openai" | "anthropic" | "bedrock"

export type ModelReply =
  | {
    readonly text?: string
    readonly toolCalls?: ReadonlyArray<{ readonly id?: string; readonly name: string; readonly arguments: Record<string, unknown> }>
    readonly usage?: { readonly input: number; readonly output: number }
    /** Answer only after this long (a slow provider). */
    readonly delayMs?: number
  }
  | { readonly status: number; readonly message: string; readonly retryAfter?: string }

export interface ModelCall {
  readonly path: string
  /** The query string, e.g. Azure's `api-version`. */
  readonly search: URLSearchParams
  readonly headers: IncomingMessage["headers"]
  /** The request body as the SDK sent it. */
  readonly body: Record<string, unknown>
}

export interface ScriptedModel {
  /** Base URL: OpenAI's baseUrl is `<url>/v1`, Anthropic's `<url>`, Bedrock's endpoint `<url>`. */
  readonly url: string
  readonly calls: Array<ModelCall>
  readonly stop: () => Promise<void>
}

/** `call` counts the requests so far, this one included (1 on the first). */
export type ModelScript = (call: ModelCall, n: number) => ModelReply

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const errorBody = (wire: Wire, status: number, message: string) =>
  wire === "openai"
    ? { error: { message, type: status === 429 ? "rate_limit_exceeded" : "server_error", code: null } }
    : wire === "anthropic"
    ? { type: "error", error: { type: status === 429 ? "rate_limit_error" : "api_error", message } }
    : { message }

let nextId = 0
const callId = () => `call_${++nextId}`

const answer = (wire: Wire, model: string, reply: Exclude<ModelReply, { status: number }>) => {
  const calls = (reply.toolCalls ?? []).map((c) => ({ ...c, id: c.id ?? callId() }))
  const input = reply.usage?.input ?? 10
  const output = reply.usage?.output ?? 5
  switch (wire) {
    case "openai":
      return {
        id: `chatcmpl-${++nextId}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: reply.text ?? null,
            ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } })) } : {})
          },
          finish_reason: calls.length > 0 ? "tool_calls" : "stop"
        }],
        usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output }
      }
    case "anthropic":
      return {
        id: `msg_${++nextId}`,
        type: "message",
        role: "assistant",
        model,
        content: [
          ...(reply.text !== undefined ? [{ type: "text", text: reply.text }] : []),
          ...calls.map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: c.arguments }))
        ],
        stop_reason: calls.length > 0 ? "tool_use" : "end_turn",
        stop_sequence: null,
        usage: { input_tokens: input, output_tokens: output }
      }
    case "bedrock":
      return {
        output: {
          message: {
            role: "assistant",
            content: [
              ...(reply.text !== undefined ? [{ text: reply.text }] : []),
              ...calls.map((c) => ({ toolUse: { toolUseId: c.id, name: c.name, input: c.arguments } }))
            ]
          }
        },
        stopReason: calls.length > 0 ? "tool_use" : "end_turn",
        usage: { inputTokens: input, outputTokens: output, totalTokens: input + output },
        metrics: { latencyMs: 1 }
      }
  }
}

/** Where each wire's SDK posts a chat turn. */
const isChatPath = (wire: Wire, path: string) =>
  wire === "openai" ? /\/chat\/completions$/.test(path) : wire === "anthropic" ? path === "/v1/messages" : /^\/model\/[^/]+\/converse$/.test(path)

export const startScriptedModel = (wire: Wire, script: ModelScript): Promise<ScriptedModel> =>
  new Promise((resolve, reject) => {
    const calls: Array<ModelCall> = []
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const path = (req.url ?? "/").split("?")[0]!
        if (req.method !== "POST" || !isChatPath(wire, path)) return send(res, 404, errorBody(wire, 404, `no route ${req.method} ${path}`))
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>
        const call = { path, search: new URL(req.url ?? "/", "http://x").searchParams, headers: req.headers, body }
        calls.push(call)
        const reply = script(call, calls.length)
        if ("status" in reply) {
          return send(res, reply.status, errorBody(wire, reply.status, reply.message), {
            ...(reply.retryAfter !== undefined ? { "retry-after": reply.retryAfter } : {}),
            ...(wire === "bedrock" ? { "x-amzn-errortype": reply.status === 429 ? "ThrottlingException" : "InternalServerException" } : {})
          })
        }
        const model = typeof body["model"] === "string" ? body["model"] : decodeURIComponent(path.split("/")[2] ?? "")
        if (reply.delayMs === undefined) return send(res, 200, answer(wire, model, reply))
        const timer = setTimeout(() => send(res, 200, answer(wire, model, reply)), reply.delayMs)
        res.once("close", () => clearTimeout(timer))
      })
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        url: `http://127.0.0.1:${port}`,
        calls,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })

/** The messages of an OpenAI-wire call, for scripts that answer according to the conversation. */
export const openAiMessages = (call: ModelCall) => call.body["messages"] as ReadonlyArray<{ role: string; content?: unknown; tool_call_id?: string; tool_calls?: unknown }>
