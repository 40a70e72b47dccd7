/**
 * An A2A server for an engine of ours (the demo engine, the completions engine): the SDK's
 * server parts on Express, listening on `host:port` (0: a free port). Its card declares upstream
 * Ark's query extension and one JSON-RPC interface for A2A 1.0 (`SendMessage`) and for 0.3
 * (`message/send`, what upstream's controller and SDK send); JSON-RPC is served at `/a2a/jsonrpc`
 * and also at `/`, where clients that skip the card post to the engine's address.
 */
import { A2A_PROTOCOL_VERSION, AGENT_CARD_PATH } from "@a2a-js/sdk"
import type { AgentCard, AgentSkill } from "@a2a-js/sdk"
import { DefaultRequestHandler, InMemoryTaskStore } from "@a2a-js/sdk/server"
import type { AgentExecutor } from "@a2a-js/sdk/server"
import { agentCardHandler, jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express"
import { Effect, Schema } from "effect"
import type { Scope } from "effect"
import express from "express"
import { createServer } from "node:http"
import type { Server } from "node:http"
import { isIP } from "node:net"
import { QUERY_EXTENSION_URI } from "./A2AEngine.ts"

export class A2AServerError extends Schema.TaggedError<A2AServerError>()("A2AServerError", {
  message: Schema.String
}) {}

export interface A2AServerOptions {
  readonly name: string
  readonly description: string
  readonly skills: ReadonlyArray<AgentSkill>
  readonly executor: AgentExecutor
  readonly host: string
  readonly port: number
  /** The executor answers message/stream with events as they happen (the card says so). */
  readonly streaming?: boolean
}

const card = (o: A2AServerOptions, url: string): AgentCard => ({
  name: o.name,
  description: o.description,
  supportedInterfaces: [
    { url: `${url}/a2a/jsonrpc`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: A2A_PROTOCOL_VERSION },
    { url: `${url}/a2a/jsonrpc`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "0.3" }
  ],
  provider: undefined,
  version: "1.0.0",
  capabilities: {
    streaming: o.streaming === true,
    pushNotifications: false,
    extensions: [{ uri: QUERY_EXTENSION_URI, description: "Ark query context", required: false, params: undefined }]
  },
  securitySchemes: {},
  securityRequirements: [],
  defaultInputModes: ["text/plain"],
  defaultOutputModes: ["text/plain"],
  skills: [...o.skills],
  signatures: []
})

const compat = { legacyCompat: { enabled: true } }

const listen = (o: A2AServerOptions) =>
  Effect.callback<{ readonly server: Server; readonly url: string }, A2AServerError>((resume) => {
    const app = express()
    const server = createServer(app)
    server.once("error", (e) => resume(Effect.fail(new A2AServerError({ message: `${o.name} failed to listen on ${o.host}:${o.port}: ${e.message}` }))))
    server.listen(o.port, o.host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : o.port
      const host = o.host === "0.0.0.0" || o.host === "::" ? "127.0.0.1" : isIP(o.host) === 6 ? `[${o.host}]` : o.host
      const url = `http://${host}:${port}`
      // The card names the absolute JSON-RPC URL, known only once the port is chosen.
      const handler = new DefaultRequestHandler(card(o, url), new InMemoryTaskStore(), o.executor)
      const rpc = jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, ...compat })
      app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: handler, ...compat }))
      app.use("/a2a/jsonrpc", rpc)
      app.post("/", rpc)
      resume(Effect.succeed({ server, url }))
    })
  })

const close = (server: Server) =>
  Effect.callback<void>((resume) => {
    server.close(() => resume(Effect.void))
    // Idle keep-alive connections of clients would otherwise hold close() open.
    server.closeAllConnections()
  })

/** Serves the engine until the scope closes; `url` is its base address (the card's). */
export const serve = (o: A2AServerOptions): Effect.Effect<{ readonly url: string }, A2AServerError, Scope.Scope> =>
  Effect.acquireRelease(listen(o), ({ server }) => close(server)).pipe(Effect.map(({ url }) => ({ url })))
