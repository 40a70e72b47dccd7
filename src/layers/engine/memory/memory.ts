/**
 * Conversation memory, as upstream's engine keeps it: a Query's `spec.memory` (else the
 * namespace's Memory named "default", if any) is a service speaking upstream's HTTP memory
 * protocol at the Memory's address. The engine reads the conversation's messages before the
 * Query's input and, once the Query is answered, appends its input and the messages it added,
 * to expire with the Query (its spec.ttl). A Memory whose address is BUILTIN_MEMORY_ADDRESS is
 * ark's own (src/layers/http/memory.ts), reached with the engine's credentials to ark's API.
 */
import { Effect } from "effect"
import type { ChatMessage } from "../../../domain/chat.ts"
import { parseGoDuration } from "../../../domain/duration.ts"
import type { KubeObject } from "../../../domain/object.ts"
import { apiPath } from "../../../domain/registry.ts"
import { ExecutionFailed } from "../../../services/QueryExecutor.ts"
import { ResourceReader } from "../../../services/ResourceReader.ts"
import { ResourceWriter } from "../../../services/ResourceWriter.ts"
import type { Scope, ValueSource } from "../resolve.ts"
import { getObject, readFailed, types, valueOf } from "../resolve.ts"

/** The address of a Memory served by ark itself: no service to deploy. */
export const BUILTIN_MEMORY_ADDRESS = "ark:memory"

/** One request to a memory service: path and query after its base address. */
type Transport = (method: "GET" | "POST", path: string, body?: unknown) => Effect.Effect<unknown, ExecutionFailed>

export interface ConversationMemory {
  readonly conversationId: string
  /** The conversation's messages so far, oldest first. */
  readonly history: Effect.Effect<ReadonlyArray<ChatMessage>, ExecutionFailed>
  readonly append: (queryId: string, messages: ReadonlyArray<ChatMessage>) => Effect.Effect<void, ExecutionFailed>
}

const memoryFailed = (id: string, why: string) => new ExecutionFailed({ code: "memory-error", message: `memory ${id}: ${why}` })

const parsed = (id: string, status: number, body: string) => {
  if (status < 200 || status >= 300) return Effect.fail(memoryFailed(id, `HTTP ${status}: ${body.slice(0, 200)}`))
  return Effect.try({ try: (): unknown => body === "" ? {} : JSON.parse(body), catch: () => memoryFailed(id, `the answer is not JSON: ${body.slice(0, 200)}`) })
}

const httpTransport = (id: string, base: string, headers: Record<string, string>): Transport => (method, path, body) =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(`${base.replace(/\/+$/, "")}${path}`, {
        method,
        headers: { accept: "application/json", "user-agent": "ark-memory-client/1.0", ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)])
      })
      return { status: res.status, text: await res.text() }
    },
    catch: (e) => memoryFailed(id, e instanceof Error ? e.message : String(e))
  }).pipe(Effect.flatMap((r) => parsed(id, r.status, r.text)))

const builtinTransport = (id: string, namespace: string, name: string, writer: ResourceWriter["Service"]): Transport => (method, path, body) =>
  writer.send(method, `${apiPath(types.memory.group, types.memory.version)}/namespaces/${encodeURIComponent(namespace)}/memories/${encodeURIComponent(name)}${path}`, body).pipe(
    Effect.mapError((e) => memoryFailed(id, e.message)),
    Effect.flatMap((r) => parsed(id, r.status, r.body))
  )

interface MemorySpec {
  readonly address?: ValueSource
  readonly headers?: ReadonlyArray<{ readonly name: string; readonly value: ValueSource }>
}

/** Seconds of a Query's spec.ttl (upstream's default, 720h, when it has none). */
const ttlSeconds = (query: KubeObject) => Math.floor((parseGoDuration((query.spec as { ttl?: string } | undefined)?.ttl ?? "720h") ?? 2_592_000_000) / 1000)

/** The Query's memory, or none: no spec.memory and no "default" Memory in its namespace. */
export const forQuery = (query: KubeObject, conversationId: string | undefined, scope: Scope) =>
  Effect.gen(function*(): Effect.fn.Return<ConversationMemory | undefined, ExecutionFailed, ResourceReader | ResourceWriter> {
    const ref = (query.spec as { memory?: { name: string; namespace?: string } } | undefined)?.memory
    const namespace = ref?.namespace ?? scope.namespace
    const name = ref?.name ?? "default"
    const id = `${namespace}/${name}`
    const object = ref !== undefined
      ? yield* getObject(types.memory, namespace, name, "invalid-config", `the memory of query ${scope.namespace}/${query.metadata.name}`)
      : yield* ResourceReader.use((r) => r.get(types.memory, namespace, name)).pipe(
        Effect.map((o): KubeObject | undefined => o),
        Effect.catchTag("ResourceNotFound", () => Effect.succeed(undefined)),
        Effect.mapError(readFailed)
      )
    if (object === undefined) return undefined
    const spec = (object.spec ?? {}) as MemorySpec
    const memoryScope = { ...scope, namespace }
    const address = yield* valueOf(spec.address, memoryScope, `spec.address of memory ${id}`)
    if (address === undefined || address === "") return yield* new ExecutionFailed({ code: "invalid-config", message: `memory ${id} has no address` })
    const headers: Record<string, string> = {}
    for (const h of spec.headers ?? []) headers[h.name] = (yield* valueOf(h.value, memoryScope, `header ${h.name} of memory ${id}`)) ?? ""
    const writer = yield* ResourceWriter
    const send = address === BUILTIN_MEMORY_ADDRESS ? builtinTransport(id, namespace, name, writer) : httpTransport(id, address, headers)
    const conversation = conversationId !== undefined && conversationId !== ""
      ? conversationId
      : ((yield* send("POST", "/conversations")) as { conversation_id?: unknown }).conversation_id
    if (typeof conversation !== "string" || conversation === "") return yield* memoryFailed(id, "POST /conversations answered no conversation_id")
    const ttl = ttlSeconds(query)
    return {
      conversationId: conversation,
      history: Effect.map(send("GET", `/messages?conversation_id=${encodeURIComponent(conversation)}`), (answer) => {
        const items = (answer as { items?: ReadonlyArray<{ message?: unknown }> }).items ?? []
        // What upstream's memory services keep: OpenAI chat messages; anything else is left out.
        return items.flatMap((i) => {
          const m = i.message as { role?: unknown; content?: unknown } | undefined
          return m !== undefined && typeof m.role === "string" ? [m as ChatMessage] : []
        })
      }),
      append: (queryId, messages) =>
        messages.length === 0 ? Effect.void : Effect.asVoid(send("POST", "/messages", { conversation_id: conversation, query_id: queryId, messages, ttl_seconds: ttl }))
    }
  })
