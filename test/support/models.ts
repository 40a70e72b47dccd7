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
    /** A streamed answer (OpenAI `stream: true`) comes in these pieces of the text (default: word by word)... */
    readonly pieces?: ReadonlyArray<string>
    /** ...this long apart. */
    readonly pieceDelayMs?: number
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

/**
 * An OpenAI answer as server-sent chunks (`stream: true`): the text in pieces, the tool calls,
 * the finish reason, the usage (stream_options.include_usage), then [DONE].
 */
const streamAnswer = (res: ServerResponse, model: string, reply: Exclude<ModelReply, { status: number }>) => {
  const full = answer("openai", model, reply) as { id: string; created: number; choices: ReadonlyArray<{ message: { tool_calls?: ReadonlyArray<unknown> }; finish_reason: string }>; usage: unknown }
  const chunk = (choices: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: full.id, object: "chat.completion.chunk", created: full.created, model, choices, ...extra })}\n\n`
  const text = reply.text ?? ""
  const pieces = reply.pieces ?? (text === "" ? [] : text.split(/(?<= )/))
  const events = [
    ...pieces.map((p, i) => chunk([{ index: 0, delta: { ...(i === 0 ? { role: "assistant" } : {}), content: p }, finish_reason: null }])),
    ...((full.choices[0]!.message.tool_calls ?? []).length > 0
      ? [chunk([{ index: 0, delta: { tool_calls: full.choices[0]!.message.tool_calls!.map((c, index) => ({ index, ...(c as object) })) }, finish_reason: null }])]
      : []),
    chunk([{ index: 0, delta: {}, finish_reason: full.choices[0]!.finish_reason }]),
    chunk([], { usage: full.usage }),
    "data: [DONE]\n\n"
  ]
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  const next = (i: number) => {
    if (i >= events.length) return void res.end()
    res.write(events[i])
    // Pieces of the text are paced; the closing events follow at once.
    if (i < pieces.length - 1 && (reply.pieceDelayMs ?? 0) > 0) setTimeout(() => next(i + 1), reply.pieceDelayMs)
    else next(i + 1)
  }
  next(0)
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
        // A streaming request (OpenAI's stream: true) gets server-sent chunks.
        const respond = () => wire === "openai" && body["stream"] === true ? streamAnswer(res, model, reply) : send(res, 200, answer(wire, model, reply))
        if (reply.delayMs === undefined) return respond()
        const timer = setTimeout(respond, reply.delayMs)
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
