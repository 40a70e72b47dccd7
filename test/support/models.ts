/**
 * Scripted model providers for tests, the one test double the engine's tests use: a plain HTTP
 * server on 127.0.0.1 speaking the real wire format of OpenAI Chat Completions (also what
 * Azure OpenAI deployments, Ollama, vLLM serve), Anthropic Messages and Bedrock Converse, so the
 * providers' real SDKs talk to it. Each request body is recorded; each answer comes from the
 * script: text, tool calls and usage, or an HTTP error (with Retry-After) in the provider's shape.
 * Streaming requests are answered in each API's streaming format: OpenAI's server-sent chunks,
 * Anthropic's server-sent Messages events, Bedrock ConverseStream's binary event stream
 * (`application/vnd.amazon.eventstream`, framed by the AWS SDK's own codec).
 */
import { EventStreamCodec } from "@smithy/core/event-streams"
import { createServer } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"

export type Wire = "openai" | "anthropic" | "bedrock"

export type ModelReply =
  | {
    readonly text?: string
    readonly toolCalls?: ReadonlyArray<{ readonly id?: string; readonly name: string; readonly arguments: Record<string, unknown> }>
    readonly usage?: { readonly input: number; readonly output: number }
    /**
     * A streamed answer (OpenAI and Anthropic `stream: true`, Bedrock ConverseStream) comes in
     * these pieces of the text (default: word by word); tool calls' arguments come in pieces too...
     */
    readonly pieces?: ReadonlyArray<string>
    /** ...this long apart. */
    readonly pieceDelayMs?: number
    /** Answer only after this long (a slow provider). */
    readonly delayMs?: number
    /** A streamed answer's connection drops after this many frames (a provider failing mid-answer). */
    readonly cutAfterFrames?: number
  }
  | { readonly status: number; readonly message: string; readonly retryAfter?: string }

export interface ModelCall {
  readonly path: string
  /** The query string, e.g. Azure's `api-version`. */
  readonly search: URLSearchParams
  readonly headers: IncomingMessage["headers"]
  /** The request body as the SDK sent it. */
  readonly body: Record<string, unknown>
  /** Whether it asked for a streamed answer (`stream: true`, or Bedrock's converse-stream). */
  readonly streams: boolean
  /** performance.now() when the answer had been written in full. */
  ended?: number
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

type Answered = Exclude<ModelReply, { status: number }>

/** One frame of a streamed answer; `paced`: the reply's pieceDelayMs passes before the next. */
interface Frame {
  readonly data: string | Uint8Array
  readonly paced?: boolean
}

/** A tool call's arguments as JSON in a few pieces, as models stream them. */
const argumentPieces = (args: Record<string, unknown>): ReadonlyArray<string> => {
  const json = JSON.stringify(args)
  const third = Math.max(1, Math.ceil(json.length / 3))
  return [json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)].filter((p) => p !== "")
}

const textPieces = (reply: Answered) => reply.pieces ?? ((reply.text ?? "") === "" ? [] : reply.text!.split(/(?<= )/))

/**
 * An OpenAI answer as server-sent chunks (`stream: true`): the text in pieces, the tool calls,
 * the finish reason, the usage (stream_options.include_usage), then [DONE].
 */
const openAiFrames = (model: string, reply: Answered): ReadonlyArray<Frame> => {
  const full = answer("openai", model, reply) as { id: string; created: number; choices: ReadonlyArray<{ message: { tool_calls?: ReadonlyArray<unknown> }; finish_reason: string }>; usage: unknown }
  const chunk = (choices: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: full.id, object: "chat.completion.chunk", created: full.created, model, choices, ...extra })}\n\n`
  const pieces = textPieces(reply)
  return [
    ...pieces.map((p, i) => ({ data: chunk([{ index: 0, delta: { ...(i === 0 ? { role: "assistant" } : {}), content: p }, finish_reason: null }]), paced: i < pieces.length - 1 })),
    ...((full.choices[0]!.message.tool_calls ?? []).length > 0
      ? [{ data: chunk([{ index: 0, delta: { tool_calls: full.choices[0]!.message.tool_calls!.map((c, index) => ({ index, ...(c as object) })) }, finish_reason: null }]) }]
      : []),
    { data: chunk([{ index: 0, delta: {}, finish_reason: full.choices[0]!.finish_reason }]) },
    { data: chunk([], { usage: full.usage }) },
    { data: "data: [DONE]\n\n" }
  ]
}

/**
 * An Anthropic answer as the Messages API streams it: message_start (input tokens, 1 output
 * token so far), a ping, per content block content_block_start, its deltas (`text_delta`, or
 * `input_json_delta` pieces after an empty one) and content_block_stop, then message_delta with
 * the stop reason and the final output tokens, and message_stop.
 */
const anthropicFrames = (model: string, reply: Answered): ReadonlyArray<Frame> => {
  const full = answer("anthropic", model, reply) as {
    id: string
    content: ReadonlyArray<{ type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }>
    stop_reason: string
    usage: { input_tokens: number; output_tokens: number }
  }
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
  const pieces = textPieces(reply)
  const frames: Array<Frame> = [
    { data: event("message_start", { message: { ...full, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: full.usage.input_tokens, output_tokens: 1 } } }) },
    { data: event("ping", {}) }
  ]
  full.content.forEach((block, index) => {
    if (block.type === "text") {
      frames.push({ data: event("content_block_start", { index, content_block: { type: "text", text: "" } }) })
      pieces.forEach((p, i) => frames.push({ data: event("content_block_delta", { index, delta: { type: "text_delta", text: p } }), paced: i < pieces.length - 1 }))
    } else {
      frames.push({ data: event("content_block_start", { index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } }) })
      for (const p of ["", ...argumentPieces(block.input)]) frames.push({ data: event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: p } }) })
    }
    frames.push({ data: event("content_block_stop", { index }) })
  })
  frames.push(
    { data: event("message_delta", { delta: { stop_reason: full.stop_reason, stop_sequence: null }, usage: { output_tokens: full.usage.output_tokens } }) },
    { data: event("message_stop", {}) }
  )
  return frames
}

const eventStream = new EventStreamCodec((b) => Buffer.from(b).toString("utf8"), (s) => new Uint8Array(Buffer.from(s, "utf8")))

/**
 * A Bedrock answer as ConverseStream frames it: binary event-stream messages (`:message-type`
 * event, `:event-type` messageStart, contentBlockStart for a tool use, contentBlockDelta (text,
 * or a tool use's input in JSON pieces), contentBlockStop, messageStop, metadata with the usage),
 * each JSON payload with the `p` padding Bedrock adds.
 */
const bedrockFrames = (model: string, reply: Answered): ReadonlyArray<Frame> => {
  const full = answer("bedrock", model, reply) as {
    output: { message: { content: ReadonlyArray<{ text?: string; toolUse?: { toolUseId: string; name: string; input: Record<string, unknown> } }> } }
    stopReason: string
    usage: unknown
    metrics: unknown
  }
  const message = (type: string, payload: Record<string, unknown>): Uint8Array =>
    eventStream.encode({
      headers: {
        ":event-type": { type: "string", value: type },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "event" }
      },
      body: new Uint8Array(Buffer.from(JSON.stringify({ ...payload, p: "abcdefghijklmnopqrstuvwxyzABCDEFGH".slice(0, 5 + (type.length % 20)) }), "utf8"))
    })
  const pieces = textPieces(reply)
  const frames: Array<Frame> = [{ data: message("messageStart", { role: "assistant" }) }]
  full.output.message.content.forEach((block, contentBlockIndex) => {
    if (block.toolUse !== undefined) {
      frames.push({ data: message("contentBlockStart", { contentBlockIndex, start: { toolUse: { toolUseId: block.toolUse.toolUseId, name: block.toolUse.name } } }) })
      for (const p of argumentPieces(block.toolUse.input)) frames.push({ data: message("contentBlockDelta", { contentBlockIndex, delta: { toolUse: { input: p } } }) })
    } else {
      pieces.forEach((p, i) => frames.push({ data: message("contentBlockDelta", { contentBlockIndex, delta: { text: p } }), paced: i < pieces.length - 1 }))
    }
    frames.push({ data: message("contentBlockStop", { contentBlockIndex }) })
  })
  frames.push({ data: message("messageStop", { stopReason: full.stopReason }) }, { data: message("metadata", { usage: full.usage, metrics: full.metrics }) })
  return frames
}

/** A streamed answer in the wire's format, its text's pieces paced by the reply's pieceDelayMs. */
const streamAnswer = (wire: Wire, res: ServerResponse, call: ModelCall, model: string, reply: Answered) => {
  const frames = wire === "openai" ? openAiFrames(model, reply) : wire === "anthropic" ? anthropicFrames(model, reply) : bedrockFrames(model, reply)
  res.writeHead(200, wire === "bedrock"
    ? { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": `req-${++nextId}` }
    : { "content-type": wire === "anthropic" ? "text/event-stream; charset=utf-8" : "text/event-stream", "cache-control": "no-cache" })
  const next = (i: number) => {
    if (reply.cutAfterFrames !== undefined && i >= reply.cutAfterFrames) {
      call.ended = performance.now()
      return void res.destroy()
    }
    if (i >= frames.length) {
      call.ended = performance.now()
      return void res.end()
    }
    res.write(frames[i]!.data)
    if (frames[i]!.paced === true && (reply.pieceDelayMs ?? 0) > 0) setTimeout(() => next(i + 1), reply.pieceDelayMs)
    else next(i + 1)
  }
  next(0)
}

/** Where each wire's SDK posts a chat turn. */
const isChatPath = (wire: Wire, path: string) =>
  wire === "openai" ? /\/chat\/completions$/.test(path) : wire === "anthropic" ? path === "/v1/messages" : /^\/model\/[^/]+\/converse(-stream)?$/.test(path)

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
        const call: ModelCall = {
          path,
          search: new URL(req.url ?? "/", "http://x").searchParams,
          headers: req.headers,
          body,
          streams: wire === "bedrock" ? path.endsWith("/converse-stream") : body["stream"] === true
        }
        calls.push(call)
        const reply = script(call, calls.length)
        if ("status" in reply) {
          return send(res, reply.status, errorBody(wire, reply.status, reply.message), {
            ...(reply.retryAfter !== undefined ? { "retry-after": reply.retryAfter } : {}),
            ...(wire === "bedrock" ? { "x-amzn-errortype": reply.status === 429 ? "ThrottlingException" : "InternalServerException" } : {})
          })
        }
        const model = typeof body["model"] === "string" ? body["model"] : decodeURIComponent(path.split("/")[2] ?? "")
        const respond = () => {
          if (call.streams) return streamAnswer(wire, res, call, model, reply)
          send(res, 200, answer(wire, model, reply))
          call.ended = performance.now()
        }
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
