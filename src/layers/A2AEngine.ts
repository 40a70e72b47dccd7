/**
 * The completions engine over A2A, with the official SDK (@a2a-js/sdk): one blocking
 * SendMessage per request, or, when the caller follows the answer (`onDelta`), one
 * SendStreamingMessage whose artifact updates are the answer's text as it is written (the SDK
 * falls back to SendMessage for an engine whose card does not stream). Engines speaking A2A 1.0 get `SendMessage`; engines whose card is an
 * A2A 0.3 card (or declares a 0.3 interface) get `message/send`, through the SDK's compat layer.
 */
import { Message, Role, Task, TaskState } from "@a2a-js/sdk"
import type { Artifact, AgentCard, Part, SendMessageRequest, SendMessageResult } from "@a2a-js/sdk"
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory
} from "@a2a-js/sdk/client"
import type { Client } from "@a2a-js/sdk/client"
import { Effect, Layer, Option, Predicate, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { Agent as HttpAgent, request as httpRequest } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
import type { OnPiece, Speaker } from "../domain/chat.ts"
import { approvalRequiredPhase } from "../domain/kinds/query.ts"
import type { CompletionRequest, CompletionResult, TokenUsage } from "../services/CompletionsEngine.ts"
import { CompletionsEngine, EngineFailed, EngineUnavailable } from "../services/CompletionsEngine.ts"

/** Upstream Ark's query extension (ark/api/extensions/query/v1), declared in `message.extensions`. */
export const QUERY_EXTENSION_URI = "https://github.com/mckinsey/agents-at-scale-ark/tree/main/ark/api/extensions/query/v1"
/**
 * The message metadata key of the extension. Requests carry the QueryRef `{name, namespace}`
 * under it, with a `target` only when it overrides the Query's spec.target (to upstream's
 * engines a `target` names the member to run, refused for an agent target); upstream engines
 * answer with `{tokenUsage: {prompt_tokens, completion_tokens, total_tokens}, messages, ...}`
 * under the same key.
 */
export const QUERY_REF_METADATA_KEY = `${QUERY_EXTENSION_URI}/ref`

/**
 * ark-effect's own message metadata: the target the workers resolved (`{type, name}`), for
 * engines that want it without reading the Query (the demo engine names it). Others ignore it.
 */
export const TARGET_METADATA_KEY = "ark.mckinsey.com/ark-effect-target"

/**
 * Request metadata asking ark's engine for the answer's text as it is written (artifact
 * updates of a working task, then the final status with upstream's answer metadata); set only
 * on message/stream. Other engines stream as they do, or answer once.
 */
export const STREAM_METADATA_KEY = "ark.mckinsey.com/ark-effect-stream"

/** Thrown by the fetch the SDK uses, so that server overload is told apart from protocol errors. */
class RetryableStatus extends Error {}

/** Engine connections are kept open between calls, as fetch's pool would keep them. */
const agents = { "http:": new HttpAgent({ keepAlive: true }), "https:": new HttpsAgent({ keepAlive: true }) }

/**
 * The SDK's fetch, over node:http with the whole body read: a Query's call is one small JSON
 * request and answer, and the global fetch (undici's web streams) cost about three times the CPU
 * per call. A URL that is not http(s), a Request, a streamed body, a redirect, or a streamed
 * answer (Accept: text/event-stream, read as it arrives) goes to the global fetch.
 */
const httpFetch: typeof fetch = (input, init) => {
  const url = typeof input === "string" ? new URL(input) : input instanceof URL ? input : undefined
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) return fetch(input, init)
  if (new Headers(init?.headers).get("accept")?.includes("text/event-stream") === true) return fetch(input, init)
  return new Promise<Response>((resolve, reject) => {
    const signal = init?.signal ?? undefined
    if (signal?.aborted) return reject(signal.reason)
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((value, key) => (headers[key] = value))
    const body = init?.body
    if (body !== undefined && body !== null && typeof body !== "string") return fetch(input, init).then(resolve, reject)
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
      method: init?.method ?? "GET",
      headers,
      agent: agents[url.protocol as "http:" | "https:"]
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", reject)
      res.on("end", () => {
        const status = res.statusCode ?? 0
        // Redirects are followed as fetch follows them: by fetch itself, from the original request.
        if (status >= 300 && status < 400 && res.headers.location !== undefined) return resolve(fetch(input, init))
        try {
          const answer = new Headers()
          for (const [key, value] of Object.entries(res.headers)) {
            if (value !== undefined) answer.set(key, Array.isArray(value) ? value.join(", ") : value)
          }
          // A null-body status cannot carry a body in a Response.
          const nullBody = status === 101 || status === 204 || status === 205 || status === 304
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? "", headers: answer }))
        } catch (e) {
          // What a Response cannot hold (a status outside 200-599, a malformed header) fails this call only.
          reject(e)
        }
      })
    })
    const abort = () => request.destroy(signal?.reason)
    signal?.addEventListener("abort", abort, { once: true })
    request.on("error", reject)
    request.on("close", () => signal?.removeEventListener("abort", abort))
    request.end(body ?? undefined)
  })
}

/** 5xx and 429 mean "try again later"; the SDK would otherwise report them as generic errors. */
const engineFetch: typeof fetch = async (input, init) => {
  const response = await httpFetch(input, init)
  if (response.status >= 500 || response.status === 429) {
    const body = await response.text().catch(() => "")
    throw new RetryableStatus(`HTTP ${response.status} ${response.statusText}${body === "" ? "" : `: ${body.slice(0, 200)}`}`)
  }
  return response
}

/** Socket-level failures (refused, reset, timeouts, DNS) as Node's fetch reports them, in the cause chain. */
const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"])
const isNetworkFailure = (error: unknown, depth = 0): boolean =>
  depth < 5 && Predicate.isObject(error) && (
    (Predicate.hasProperty(error, "code") && Predicate.isString(error.code) &&
      (networkCodes.has(error.code) || error.code.startsWith("UND_ERR_"))) ||
    (Predicate.hasProperty(error, "cause") && isNetworkFailure(error.cause, depth + 1))
  )

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

const classify = (url: string, error: unknown): EngineUnavailable | EngineFailed =>
  error instanceof RetryableStatus || isNetworkFailure(error)
    ? new EngineUnavailable({ message: `engine ${url} unavailable: ${messageOf(error)}` })
    : new EngineFailed({ message: `engine ${url} rejected the request: ${messageOf(error)}` })

const compat = { legacyCompat: { enabled: true } }
const transports = [
  new JsonRpcTransportFactory({ fetchImpl: engineFetch, ...compat }),
  new RestTransportFactory({ fetchImpl: engineFetch, ...compat })
]

/**
 * The card's interfaces at the engine's own address: its scheme, host and port, with each
 * interface's path. The address an ExecutionEngine (or --completions-url) names is where the
 * engine is, as upstream's controller treats it; cards often say otherwise (ark-sdk's
 * ExecutorApp announces https://<bind address>, e.g. https://0.0.0.0:8000, while serving http).
 */
const addressedAt = (card: AgentCard, url: string): AgentCard => {
  const base = new URL(url)
  return {
    ...card,
    supportedInterfaces: card.supportedInterfaces.map((i) => {
      const at = URL.parse(i.url)
      return at === null ? i : { ...i, url: `${base.origin}${at.pathname}${at.search}` }
    })
  }
}

const cardResolver = new DefaultAgentCardResolver({
  fetchImpl: (input, init) => engineFetch(input, { ...init, signal: AbortSignal.timeout(30_000) }),
  ...compat
})
const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports }))

/**
 * Fetches the card (within 30 s: the SDK's resolver takes no signal of a caller's, and the
 * connect is shared by every caller) and picks a transport, at the engine's address.
 */
const connect = async (url: string): Promise<Client> => factory.createFromAgentCard(addressedAt(await cardResolver.resolve(url), url))

const textPart = (text: string): Part => ({ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "text/plain" })

const sendRequest = (request: CompletionRequest, streaming = false): SendMessageRequest => ({
  tenant: "",
  message: {
    messageId: randomUUID(),
    contextId: request.contextId ?? "",
    taskId: "",
    role: Role.ROLE_USER,
    parts: [textPart(request.input)],
    metadata: {
      [QUERY_REF_METADATA_KEY]: {
        name: request.query.name,
        namespace: request.query.namespace,
        ...(request.queryTarget?.type === request.target.type && request.queryTarget.name === request.target.name
          ? {}
          : { target: { type: request.target.type, name: request.target.name } })
      },
      [TARGET_METADATA_KEY]: { type: request.target.type, name: request.target.name }
    },
    extensions: [QUERY_EXTENSION_URI],
    referenceTaskIds: []
  },
  configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: false },
  metadata: streaming ? { [STREAM_METADATA_KEY]: true } : undefined
})

const textOf = (parts: ReadonlyArray<Part>): string =>
  parts.map((p) => p.content?.$case === "text" ? p.content.value : "").join("")

/** Upstream's engine reports usage with OpenAI's field names; a field it leaves out counts as 0. */
const UpstreamUsage = Schema.Struct({
  tokenUsage: Schema.Struct({
    prompt_tokens: Schema.optionalKey(Schema.Finite),
    completion_tokens: Schema.optionalKey(Schema.Finite),
    total_tokens: Schema.optionalKey(Schema.Finite)
  })
})
const decodeUsage = Schema.decodeUnknownOption(UpstreamUsage)

const tokenUsage = (...metadata: ReadonlyArray<Record<string, unknown> | undefined>): TokenUsage | undefined => {
  for (const m of metadata) {
    const usage = decodeUsage(m?.[QUERY_REF_METADATA_KEY])
    if (Option.isSome(usage)) {
      const u = usage.value.tokenUsage
      const promptTokens = u.prompt_tokens ?? 0
      const completionTokens = u.completion_tokens ?? 0
      return { promptTokens, completionTokens, totalTokens: u.total_tokens ?? promptTokens + completionTokens }
    }
  }
  return undefined
}

const nonEmpty = (s: string): string | undefined => s === "" ? undefined : s

const ConversationId = Schema.Struct({ conversationId: Schema.NonEmptyString })
const decodeConversationId = Schema.decodeUnknownOption(ConversationId)

/** The conversation an engine reports under the extension's `conversationId` (upstream's and ours do). */
const conversationOf = (metadata: Record<string, unknown> | undefined) =>
  Option.getOrUndefined(Option.map(decodeConversationId(metadata?.[QUERY_REF_METADATA_KEY]), (m) => m.conversationId))

const ApprovalRef = Schema.Struct({ approvalRef: Schema.Struct({ name: Schema.NonEmptyString }) })
const decodeApprovalRef = Schema.decodeUnknownOption(ApprovalRef)

/** The ToolApprovalRequest a waiting task names (ark's engine puts it in the status message's extension metadata). */
const approvalRefOf = (task: Task): string | undefined =>
  Option.getOrUndefined(Option.map(decodeApprovalRef(task.status?.message?.metadata?.[QUERY_REF_METADATA_KEY]), (m) => m.approvalRef.name))

/**
 * What status.response.raw keeps: the engine's chat messages when it reports them under the
 * extension's `messages` (upstream's engine and ours do), else the A2A reply itself.
 */
const rawOf = (metadata: Record<string, unknown> | undefined, reply: () => unknown): string => {
  const ext = metadata?.[QUERY_REF_METADATA_KEY]
  const messages = Predicate.isObject(ext) && Predicate.hasProperty(ext, "messages") ? ext.messages : undefined
  return JSON.stringify(Array.isArray(messages) ? messages : reply())
}

/** What a completed or waiting task says: its artifacts, else its status message, else the agent's last word. */
const taskText = (task: Task): string => {
  const artifacts = task.artifacts.map((a) => textOf(a.parts)).join("")
  if (artifacts !== "") return artifacts
  const status = textOf(task.status?.message?.parts ?? [])
  if (status !== "") return status
  const last = task.history.findLast((m) => m.role === Role.ROLE_AGENT)
  return last === undefined ? "" : textOf(last.parts)
}

const toResult = (url: string, reply: SendMessageResult): Effect.Effect<CompletionResult, EngineFailed> => {
  if ("messageId" in reply) {
    return Effect.succeed({
      state: "completed",
      content: textOf(reply.parts),
      raw: rawOf(reply.metadata, () => Message.toJSON(reply)),
      contextId: nonEmpty(reply.contextId),
      taskId: nonEmpty(reply.taskId),
      tokenUsage: tokenUsage(reply.metadata),
      conversationId: conversationOf(reply.metadata)
    })
  }
  const state = reply.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED
  const result = (s: CompletionResult["state"]) =>
    Effect.succeed({
      state: s,
      content: taskText(reply),
      raw: rawOf(reply.metadata, () => Task.toJSON(reply)),
      contextId: nonEmpty(reply.contextId),
      taskId: reply.id,
      tokenUsage: tokenUsage(reply.metadata, reply.status?.message?.metadata)
    })
  switch (state) {
    case TaskState.TASK_STATE_COMPLETED:
      return result("completed")
    case TaskState.TASK_STATE_INPUT_REQUIRED: {
      const approvalRef = approvalRefOf(reply)
      return Effect.map(result(approvalRequiredPhase), (r) => approvalRef === undefined ? r : { ...r, approvalRef })
    }
    default: {
      // Failed, rejected, canceled, auth-required, or a task still running although the call blocks.
      const why = textOf(reply.status?.message?.parts ?? [])
      return Effect.fail(new EngineFailed({
        message: `engine ${url} ended task ${reply.id} in state ${TaskState[state] ?? state}${why === "" ? "" : `: ${why}`}`
      }))
    }
  }
}

/** An artifact update applied to the task's artifacts (appended to the one it continues). */
const withArtifact = (artifacts: ReadonlyArray<Artifact>, update: Artifact, append: boolean): Array<Artifact> => {
  const at = artifacts.findIndex((a) => a.artifactId === update.artifactId)
  if (at < 0) return [...artifacts, update]
  const next = [...artifacts]
  next[at] = append ? { ...next[at]!, parts: [...next[at]!.parts, ...update.parts] } : update
  return next
}

/** The agent and team an artifact's metadata names (ark's engine names a team member's messages). */
const speakerOf = (metadata: unknown): Speaker => {
  const m = (typeof metadata === "object" && metadata !== null ? metadata : {}) as Record<string, unknown>
  return {
    ...(typeof m["agent"] === "string" ? { agent: m["agent"] } : {}),
    ...(typeof m["team"] === "string" ? { team: m["team"] } : {})
  }
}

/**
 * A streamed call: each artifact update's text goes to `onPiece`, with the speaker its artifact
 * names, and an artifact's last chunk ends a message; the reply is the final
 * Message, or the Task as its last status left it (ark's engine ends a completed stream with
 * its answer, metadata included, as the status message: that message is the reply).
 */
const streamed = async (client: Client, request: CompletionRequest, onPiece: OnPiece, signal: AbortSignal): Promise<SendMessageResult> => {
  let task: Task | undefined
  for await (const event of client.sendMessageStream(sendRequest(request, true), { signal })) {
    const p = event.payload
    if (p?.$case === "message") return p.value
    if (p?.$case === "task") task = p.value
    if (p?.$case === "artifactUpdate" && p.value.artifact !== undefined) {
      const text = textOf(p.value.artifact.parts)
      const speaker = speakerOf(p.value.artifact.metadata)
      if (text !== "") onPiece({ text, ...speaker })
      if (p.value.lastChunk) onPiece({ text: "", ...speaker, end: true })
      if (task !== undefined) task = { ...task, artifacts: withArtifact(task.artifacts, p.value.artifact, p.value.append) }
    }
    if (p?.$case === "statusUpdate" && task !== undefined) task = { ...task, status: p.value.status }
  }
  if (task === undefined) throw new Error("the engine's stream ended without a task or a message")
  const last = task.status?.message
  return task.status?.state === TaskState.TASK_STATE_COMPLETED && last?.metadata?.[QUERY_REF_METADATA_KEY] !== undefined ? last : task
}

export const layer: Layer.Layer<CompletionsEngine> = Layer.sync(CompletionsEngine, () => {
  /**
   * One client per engine URL, so the card is fetched once; calls that start together share one
   * connect (a burst of thousands fetches one card). Dropped when the engine is unreachable.
   */
  const clients = new Map<string, Promise<Client>>()
  const clientFor = (url: string) => {
    let client = clients.get(url)
    if (client === undefined) {
      client = connect(url)
      clients.set(url, client)
      client.catch(() => clients.get(url) === client && clients.delete(url))
    }
    return client
  }
  return CompletionsEngine.of({
    complete: (request) =>
      Effect.tryPromise({
        try: async (signal) => {
          const client = await clientFor(request.url)
          return request.onPiece === undefined ? client.sendMessage(sendRequest(request), { signal }) : streamed(client, request, request.onPiece, signal)
        },
        catch: (error) => classify(request.url, error)
      }).pipe(
        Effect.tapError((e) => e._tag === "EngineUnavailable" ? Effect.sync(() => clients.delete(request.url)) : Effect.void),
        Effect.flatMap((reply) => toResult(request.url, reply))
      )
  })
})
