/**
 * The built-in demo engine: a real A2A server (A2AServer.ts) on 127.0.0.1 with a free port, so
 * that Queries get an answer without any model or engine deployed. It answers every message at once and deterministically: "<target> (demo engine) received: <input>".
 */
import { Role } from "@a2a-js/sdk"
import type { Part } from "@a2a-js/sdk"
import { AgentEvent } from "@a2a-js/sdk/server"
import type { AgentExecutor } from "@a2a-js/sdk/server"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { Scope } from "effect"
import { randomUUID } from "node:crypto"
import { QUERY_EXTENSION_URI, QUERY_REF_METADATA_KEY } from "./A2AEngine.ts"
import * as A2AServer from "./A2AServer.ts"

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

/** Starts the demo engine; it stops when the scope closes. */
export const start: Effect.Effect<{ readonly url: string }, DemoEngineError, Scope.Scope> = A2AServer.serve({
  name: "ark-demo-engine",
  description: "Ark's built-in demo engine: echoes each query's input, naming its target.",
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
  executor,
  host: "127.0.0.1",
  port: 0
}).pipe(Effect.mapError((e) => new DemoEngineError({ message: e.message })))

export const layer: Layer.Layer<DemoEngineUrl, DemoEngineError> = Layer.effect(DemoEngineUrl, start)
