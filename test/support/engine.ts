/**
 * A scripted A2A engine for tests: a real A2A server (the SDK's server parts on Express, on
 * 127.0.0.1 with a free port) whose answers come from a script. It records what each
 * SendMessage carried on the wire, and notices when the client hangs up on a slow answer.
 * Speaks A2A 1.0 (`SendMessage`), or A2A 0.3 (`message/send`, with a v0.3-shaped agent card).
 */
import { A2A_PROTOCOL_VERSION, AGENT_CARD_PATH, Role, TaskState } from "@a2a-js/sdk"
import type { AgentCard, Message, Part } from "@a2a-js/sdk"
import {
  AgentEvent,
  DefaultRequestHandler,
  defaultServerCallContextBuilder,
  InMemoryTaskStore
} from "@a2a-js/sdk/server"
import type { AgentExecutor, RequestContext, ServerCallContextBuilder } from "@a2a-js/sdk/server"
import { agentCardHandler, jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express"
import express from "express"
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { setTimeout as sleep } from "node:timers/promises"

/** What the engine does with one message. */
export type Reply =
  /** A completed Message with this text. */
  | string
  /** This text as a completed Message (default) or a completed Task with one artifact; metadata goes on the Message / Task. */
  | { readonly answer: string; readonly as?: "message" | "task"; readonly metadata?: Record<string, unknown> }
  /** Waits, then replies; a client that hangs up meanwhile gets nothing and the call is marked aborted. */
  | { readonly delayMs: number; readonly then: Reply }
  /** An HTTP error status instead of any A2A answer, e.g. 503. */
  | { readonly httpStatus: number }
  /** A Task that failed, with this status message. */
  | { readonly failed: string }
  /** A Task that waits for input, asking this. */
  | { readonly inputRequired: string }

export interface EngineCall {
  /** The JSON-RPC method: "SendMessage" (A2A 1.0) or "message/send" (A2A 0.3). */
  readonly method: string
  readonly input: string
  readonly contextId?: string
  readonly metadata?: unknown
  readonly extensions?: unknown
  /** The client closed the connection before the answer was sent. */
  aborted: boolean
}

export interface ScriptedEngine {
  readonly url: string
  readonly calls: Array<EngineCall>
  readonly stop: () => Promise<void>
}

/** `attempt` counts the messages with this input so far, this one included (1 on the first). */
export type Script = (input: string, ctx: { attempt: number; contextId?: string }) => Promise<Reply> | Reply

const sendMethods = new Set(["SendMessage", "message/send"])
const replyKey = "scripted-reply"

const textPart = (text: string): Part => ({ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "text/plain" })

const agentMessage = (context: RequestContext, text: string, taskId: string, metadata?: Record<string, unknown>): Message => ({
  messageId: randomUUID(),
  contextId: context.contextId,
  taskId,
  role: Role.ROLE_AGENT,
  parts: [textPart(text)],
  metadata,
  extensions: [],
  referenceTaskIds: []
})

/** The wire message's text: v1.0 parts are `{text}`, v0.3 parts `{kind: "text", text}`; both have `text`. */
const wireText = (parts: unknown): string =>
  Array.isArray(parts) ? parts.map((p) => typeof p?.text === "string" ? p.text : "").join("") : ""

type FinalReply = Exclude<Reply, { readonly delayMs: number } | { readonly httpStatus: number }>

/** Publishes the scripted reply the middleware left in the call context. */
const executor: AgentExecutor = {
  execute: async (context, bus) => {
    const reply = context.context.state.get(replyKey) as FinalReply
    const task = (state: TaskState, message: Message | undefined, answer?: string, metadata?: Record<string, unknown>) =>
      AgentEvent.task({
        id: context.taskId,
        contextId: context.contextId,
        status: { state, message, timestamp: new Date().toISOString() },
        artifacts: answer === undefined
          ? []
          : [{ artifactId: randomUUID(), name: "answer", description: "", parts: [textPart(answer)], metadata: undefined, extensions: [] }],
        history: [context.userMessage],
        metadata
      })
    if (typeof reply === "string") bus.publish(AgentEvent.message(agentMessage(context, reply, "")))
    else if ("failed" in reply) bus.publish(task(TaskState.TASK_STATE_FAILED, agentMessage(context, reply.failed, context.taskId)))
    else if ("inputRequired" in reply) {
      bus.publish(task(TaskState.TASK_STATE_INPUT_REQUIRED, agentMessage(context, reply.inputRequired, context.taskId)))
    } else if (reply.as === "task") bus.publish(task(TaskState.TASK_STATE_COMPLETED, undefined, reply.answer, reply.metadata))
    else bus.publish(AgentEvent.message(agentMessage(context, reply.answer, "", reply.metadata)))
    bus.finished()
  },
  cancelTask: async () => {}
}

const card = (base: string, protocolVersion: string): AgentCard => ({
  name: "scripted-engine",
  description: "A test engine answering from a script.",
  supportedInterfaces: [{ url: `${base}/a2a/jsonrpc`, protocolBinding: "JSONRPC", tenant: "", protocolVersion }],
  provider: undefined,
  version: "1.0.0",
  capabilities: { streaming: false, pushNotifications: false, extensions: [] },
  securitySchemes: {},
  securityRequirements: [],
  defaultInputModes: ["text/plain"],
  defaultOutputModes: ["text/plain"],
  skills: [],
  signatures: []
})

/** The card an A2A 0.3 engine (e.g. one built on upstream Ark's Python SDK) serves. */
const legacyCard = (base: string) => ({
  protocolVersion: "0.3.0",
  name: "scripted-engine",
  description: "A test engine answering from a script.",
  url: `${base}/a2a/jsonrpc`,
  preferredTransport: "JSONRPC",
  version: "1.0.0",
  capabilities: { streaming: false, pushNotifications: false },
  defaultInputModes: ["text/plain"],
  defaultOutputModes: ["text/plain"],
  skills: []
})

export const startScriptedEngine = async (
  script: Script,
  options: {
    readonly protocol?: "1.0" | "0.3"
    /** Serve HTTPS with this certificate and key (PEM) instead of HTTP. */
    readonly tls?: { readonly cert: string; readonly key: string }
  } = {}
): Promise<ScriptedEngine> => {
  const protocol = options.protocol ?? "1.0"
  const calls: Array<EngineCall> = []
  /** Replies chosen by the middleware, handed to the executor through the SDK's call context. */
  const replies = new WeakMap<object, FinalReply>()
  const contextBuilder: ServerCallContextBuilder = (o) => {
    const context = defaultServerCallContextBuilder(o)
    context.state.set(replyKey, replies.get(o.headers))
    return context
  }

  const app = express()
  const server = options.tls === undefined ? createServer(app) : createHttpsServer(options.tls, app)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  const url = `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`

  const handler = new DefaultRequestHandler(
    card(url, protocol === "0.3" ? "0.3" : A2A_PROTOCOL_VERSION),
    new InMemoryTaskStore(),
    executor
  )
  if (protocol === "0.3") app.get(`/${AGENT_CARD_PATH}`, (_req, res) => void res.json(legacyCard(url)))
  else app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: handler }))

  app.post("/a2a/jsonrpc", express.json(), async (req, res, next) => {
    const method: unknown = req.body?.method
    if (typeof method !== "string" || !sendMethods.has(method)) return next()
    const message = req.body?.params?.message ?? {}
    const call: EngineCall = {
      method,
      input: wireText(message.parts),
      ...(typeof message.contextId === "string" && message.contextId !== "" ? { contextId: message.contextId } : {}),
      ...(message.metadata !== undefined ? { metadata: message.metadata } : {}),
      ...(message.extensions !== undefined ? { extensions: message.extensions } : {}),
      aborted: false
    }
    calls.push(call)
    const hangUp = new AbortController()
    res.on("close", () => {
      if (!res.writableFinished) {
        call.aborted = true
        hangUp.abort()
      }
    })
    try {
      const attempt = calls.filter((c) => c.input === call.input).length
      let reply = await script(call.input, { attempt, ...(call.contextId !== undefined ? { contextId: call.contextId } : {}) })
      while (typeof reply === "object" && "delayMs" in reply) {
        await sleep(reply.delayMs, undefined, { signal: hangUp.signal })
        reply = reply.then
      }
      if (typeof reply === "object" && "httpStatus" in reply) {
        res.status(reply.httpStatus).json({ error: `scripted HTTP ${reply.httpStatus}` })
        return
      }
      replies.set(req.headers, reply)
      next()
    } catch (e) {
      if (!hangUp.signal.aborted) next(e)
    }
  })
  app.use("/a2a/jsonrpc", jsonRpcHandler({
    requestHandler: handler,
    userBuilder: UserBuilder.noAuthentication,
    contextBuilder,
    legacyCompat: { enabled: protocol === "0.3" }
  }))

  return {
    url,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}
