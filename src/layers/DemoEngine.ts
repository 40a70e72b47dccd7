/**
 * The built-in demo engine: a real A2A 1.0 server (SDK server parts on Express) on 127.0.0.1
 * with a free port, so that Queries get an answer without any model or engine deployed. It
 * answers every message at once and deterministically: "<target> (demo engine) received: <input>".
 */
import { A2A_PROTOCOL_VERSION, AGENT_CARD_PATH, Role } from "@a2a-js/sdk"
import type { AgentCard, Part } from "@a2a-js/sdk"
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from "@a2a-js/sdk/server"
import type { AgentExecutor } from "@a2a-js/sdk/server"
import { agentCardHandler, jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { Scope } from "effect"
import express from "express"
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import type { Server } from "node:http"
import { QUERY_EXTENSION_URI, QUERY_REF_METADATA_KEY } from "./A2AEngine.ts"

export class DemoEngineError extends Schema.TaggedError<DemoEngineError>()("DemoEngineError", {
  message: Schema.String
}) {}

/** Where the demo engine listens: the query workers' default engine address. */
export class DemoEngineUrl extends Context.Service<DemoEngineUrl, {
  readonly url: string
}>()("ark-effect/layers/DemoEngine/DemoEngineUrl") {}

const QueryRef = Schema.Struct({ target: Schema.Struct({ name: Schema.String }) })
const decodeRef = Schema.decodeUnknownOption(QueryRef)

const textPart = (text: string): Part => ({ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "text/plain" })

/** Whitespace-separated words stand in for tokens: deterministic, and enough to show usage flowing. */
const words = (s: string) => s.split(/\s+/).filter((w) => w !== "").length

const executor: AgentExecutor = {
  execute: async (context, bus) => {
    const message = context.userMessage
    const input = message.parts.map((p) => p.content?.$case === "text" ? p.content.value : "").join("")
    const target = Option.match(decodeRef(message.metadata?.[QUERY_REF_METADATA_KEY]), {
      onNone: () => "unknown target",
      onSome: (ref) => ref.target.name
    })
    const answer = `${target} (demo engine) received: ${input}`
    bus.publish(AgentEvent.message({
      messageId: randomUUID(),
      contextId: context.contextId,
      taskId: "",
      role: Role.ROLE_AGENT,
      parts: [textPart(answer)],
      metadata: {
        [QUERY_REF_METADATA_KEY]: {
          tokenUsage: { prompt_tokens: words(input), completion_tokens: words(answer), total_tokens: words(input) + words(answer) }
        }
      },
      extensions: [QUERY_EXTENSION_URI],
      referenceTaskIds: []
    }))
    bus.finished()
  },
  // Answers are immediate: there is never a running task to cancel.
  cancelTask: async () => {}
}

const card = (url: string): AgentCard => ({
  name: "ark-demo-engine",
  description: "Ark's built-in demo engine: echoes each query's input, naming its target.",
  supportedInterfaces: [{ url: `${url}/a2a/jsonrpc`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: A2A_PROTOCOL_VERSION }],
  provider: undefined,
  version: "1.0.0",
  capabilities: {
    streaming: false,
    pushNotifications: false,
    extensions: [{ uri: QUERY_EXTENSION_URI, description: "Ark query context", required: false, params: undefined }]
  },
  securitySchemes: {},
  securityRequirements: [],
  defaultInputModes: ["text/plain"],
  defaultOutputModes: ["text/plain"],
  skills: [{
    id: "echo",
    name: "Echo",
    description: "Answers with the input it received.",
    tags: ["demo"],
    examples: ["hello"],
    inputModes: ["text/plain"],
    outputModes: ["text/plain"],
    securityRequirements: []
  }],
  signatures: []
})

const listen = Effect.callback<{ readonly server: Server; readonly url: string }, DemoEngineError>((resume) => {
  const app = express()
  const server = createServer(app)
  server.once("error", (e) => resume(Effect.fail(new DemoEngineError({ message: `demo engine failed to listen: ${e.message}` }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
    // The card names the absolute JSON-RPC URL, known only once the port is chosen.
    const handler = new DefaultRequestHandler(card(url), new InMemoryTaskStore(), executor)
    app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: handler }))
    app.use("/a2a/jsonrpc", jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }))
    resume(Effect.succeed({ server, url }))
  })
})

const close = (server: Server) =>
  Effect.callback<void>((resume) => {
    server.close(() => resume(Effect.void))
    // Idle keep-alive connections of clients would otherwise hold close() open.
    server.closeAllConnections()
  })

/** Starts the demo engine; it stops when the scope closes. */
export const start: Effect.Effect<{ readonly url: string }, DemoEngineError, Scope.Scope> = Effect.acquireRelease(
  listen,
  ({ server }) => close(server)
).pipe(Effect.map(({ url }) => ({ url })))

export const layer: Layer.Layer<DemoEngineUrl, DemoEngineError> = Layer.effect(DemoEngineUrl, start)
