/**
 * The completions engine as its own A2A service (`ark engine`): a peer of upstream's engine. A
 * `message/send` (A2A 0.3) or `SendMessage` (1.0) carrying the query extension's QueryRef (in
 * the message's metadata, or the request's) runs that Query through the QueryExecutor; the
 * answer is an agent message with the response text and, under the extension's key, upstream's
 * metadata: `tokenUsage` (OpenAI's field names), `messages` (status.response.raw) and
 * `conversationId`. A failure is a failed task whose status message is `<code>: <message>`.
 * A `message/stream` from ark's workers (STREAM_METADATA_KEY) gets a working task, the answer's
 * text as artifact updates as the model writes it, and the same outcome as the final status.
 */
import { Role, TaskState } from "@a2a-js/sdk"
import type { Message, Part } from "@a2a-js/sdk"
import { AgentEvent } from "@a2a-js/sdk/server"
import type { AgentExecutor, RequestContext } from "@a2a-js/sdk/server"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import type { Scope } from "effect"
import { randomUUID } from "node:crypto"
import type { OnPiece } from "../../domain/chat.ts"
import type { QueryRef } from "../../services/QueryExecutor.ts"
import { QueryExecutor } from "../../services/QueryExecutor.ts"
import { QUERY_EXTENSION_URI, QUERY_REF_METADATA_KEY, STREAM_METADATA_KEY } from "../A2AEngine.ts"
import * as A2AServer from "../A2AServer.ts"

const Ref = Schema.Struct({
  name: Schema.NonEmptyString,
  namespace: Schema.NonEmptyString,
  target: Schema.optionalKey(Schema.Struct({ type: Schema.NonEmptyString, name: Schema.NonEmptyString })),
  conversationId: Schema.optionalKey(Schema.String)
})
const decodeRef = Schema.decodeUnknownOption(Ref)

const textPart = (text: string): Part => ({ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "text/plain" })

const agentMessage = (context: RequestContext, text: string, taskId: string, metadata?: Record<string, unknown>): Message => ({
  messageId: randomUUID(),
  contextId: context.contextId,
  taskId,
  role: Role.ROLE_AGENT,
  parts: [textPart(text)],
  metadata,
  extensions: [QUERY_EXTENSION_URI],
  referenceTaskIds: []
})

const endedTask = (context: RequestContext, state: TaskState, why: string, metadata?: Record<string, unknown>) =>
  AgentEvent.task({
    id: context.taskId,
    contextId: context.contextId,
    status: { state, message: agentMessage(context, why, context.taskId, metadata), timestamp: new Date().toISOString() },
    artifacts: [],
    history: [context.userMessage],
    metadata: undefined
  })

const failedTask = (context: RequestContext, why: string) => endedTask(context, TaskState.TASK_STATE_FAILED, why)

/** The QueryRef of a request: in the message's metadata (upstream's controller), else the request's. */
const refOf = (context: RequestContext): QueryRef | undefined => {
  const found = decodeRef(context.userMessage.metadata?.[QUERY_REF_METADATA_KEY]).pipe(
    Option.orElse(() => decodeRef(context.request.metadata?.[QUERY_REF_METADATA_KEY]))
  )
  const ref = Option.getOrUndefined(found)
  if (ref?.target === undefined) return ref
  const text = context.userMessage.parts.map((p) => p.content?.$case === "text" ? p.content.value : "").join("")
  return { ...ref, input: text }
}

export interface EngineServerOptions {
  readonly host: string
  readonly port: number
}

export const serve = (o: EngineServerOptions): Effect.Effect<{ readonly url: string }, A2AServer.A2AServerError, Scope.Scope | QueryExecutor> =>
  Effect.gen(function*() {
    const executor = yield* QueryExecutor
    const run = Effect.runPromiseExitWith(yield* Effect.context<never>())
    const agentExecutor: AgentExecutor = {
      execute: async (context, bus) => {
        const ref = refOf(context)
        if (ref === undefined) {
          bus.publish(failedTask(context, `invalid-config: the message carries no query reference under metadata key ${QUERY_REF_METADATA_KEY}`))
          return bus.finished()
        }
        const streaming = context.request.metadata?.[STREAM_METADATA_KEY] === true
        /** The outcome: as a status update of the streamed task, or as its own task. */
        const end = (state: TaskState, text: string, metadata?: Record<string, unknown>) =>
          bus.publish(
            streaming
              ? AgentEvent.statusUpdate({
                taskId: context.taskId,
                contextId: context.contextId,
                status: { state, message: agentMessage(context, text, context.taskId, metadata), timestamp: new Date().toISOString() },
                metadata: undefined
              })
              : endedTask(context, state, text, metadata)
          )
        let onPiece: OnPiece | undefined
        if (streaming) {
          bus.publish(AgentEvent.task({
            id: context.taskId,
            contextId: context.contextId,
            status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: new Date().toISOString() },
            artifacts: [],
            history: [context.userMessage],
            metadata: undefined
          }))
          // One artifact per message of the answer, with its speaker as metadata; its last chunk ends the message.
          let artifactId = randomUUID()
          let first = true
          onPiece = ({ text, end, ...speaker }) => {
            bus.publish(AgentEvent.artifactUpdate({
              taskId: context.taskId,
              contextId: context.contextId,
              artifact: {
                artifactId,
                name: "answer",
                description: "",
                parts: text === "" ? [] : [textPart(text)],
                metadata: Object.keys(speaker).length === 0 ? undefined : speaker,
                extensions: []
              },
              append: !first,
              lastChunk: end === true,
              metadata: undefined
            }))
            first = end === true
            if (end === true) artifactId = randomUUID()
          }
        }
        const exit = await run(executor.execute(ref, onPiece !== undefined ? { onPiece } : {}).pipe(
          Effect.tapError((e) => Effect.logWarning(`query ${ref.namespace}/${ref.name} failed: ${e.code}: ${e.message}`))
        ))
        if (Exit.isSuccess(exit) && exit.value.approval !== undefined) {
          // Waiting for a human: the task asks for input, naming the ToolApprovalRequest to answer.
          const name = exit.value.approval.name
          end(TaskState.TASK_STATE_INPUT_REQUIRED, `tool calls wait for approval: toolapprovalrequest ${ref.namespace}/${name}`, {
            [QUERY_REF_METADATA_KEY]: { approvalRef: { name, namespace: ref.namespace } }
          })
        } else if (Exit.isSuccess(exit)) {
          const e = exit.value
          const answer = {
            [QUERY_REF_METADATA_KEY]: {
              tokenUsage: { prompt_tokens: e.tokenUsage.promptTokens, completion_tokens: e.tokenUsage.completionTokens, total_tokens: e.tokenUsage.totalTokens },
              messages: e.messages,
              // The memory's conversation, else the one the request named: a Query without either has none.
              ...(e.conversationId !== undefined || ref.conversationId !== undefined ? { conversationId: e.conversationId ?? ref.conversationId } : {})
            }
          }
          if (streaming) end(TaskState.TASK_STATE_COMPLETED, e.content, answer)
          else bus.publish(AgentEvent.message(agentMessage(context, e.content, "", answer)))
        } else {
          const failure = Cause.findErrorOption(exit.cause)
          end(TaskState.TASK_STATE_FAILED, Option.isSome(failure) ? `${failure.value.code}: ${failure.value.message}` : `engine error: ${Cause.pretty(exit.cause)}`)
        }
        bus.finished()
      },
      // Every call runs to its end within the Query's timeout; there is no task left to cancel.
      cancelTask: async () => {}
    }
    return yield* A2AServer.serve({
      name: "ark-completions-engine",
      description: "Ark's completions engine: runs the Query named by the query extension's QueryRef with its agent, model and tools.",
      skills: [{
        id: "query",
        name: "Run an Ark query",
        description: "Runs the Ark Query named in the message metadata and answers with its response.",
        tags: ["ark"],
        examples: [],
        inputModes: ["text/plain"],
        outputModes: ["text/plain"],
        securityRequirements: []
      }],
      executor: agentExecutor,
      streaming: true,
      host: o.host,
      port: o.port
    })
  })
