/**
 * A Query's answer as it is written: `GET .../queries/{name}/stream` answers server-sent events
 * of OpenAI chat completion chunks, as upstream's broker serves them, from the Query's stored
 * stream (QueryStreams), so any replica serves it and a client that connects late first gets
 * everything already written. A piece carries who wrote it (`ark.agent`, and `ark.team` for a
 * team's member, as upstream's chunks do); a member's message ends with upstream's content
 * boundary, an empty chunk with finish_reason `stop`; so does a message a failed attempt of the
 * Query left unfinished, where the worker's next attempt starts. It ends with the Query: an error
 * chunk if it failed, a last chunk whose `ark.completedQuery` is the Query as it ended (upstream's
 * final chunk), then `[DONE]`.
 */
import { Duration, Effect, Option, Stream } from "effect"
import { isSettledQuery } from "../../domain/kinds/query.ts"
import type { Speaker } from "../../domain/chat.ts"
import type { KubeObject } from "../../domain/object.ts"
import type { ResourceInfo } from "../../domain/registry.ts"
import type { ApiError } from "../../services/errors.ts"
import { MethodNotAllowed } from "../../services/errors.ts"
import { QueryStreams } from "../../services/QueryStreams.ts"
import type { StreamChunk } from "../../services/QueryStreams.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import type { Reply } from "./response.ts"

export interface QueryStreamRequest {
  readonly method: string
  readonly info: ResourceInfo
  readonly namespace: string
  readonly name: string
}


/** How often a follower looks for new pieces while the Query runs; an idle stream gets a comment every 15 s. */
const pollEvery = Duration.millis(25)
const keepAliveAfter = 600

const encoder = new TextEncoder()
const event = (data: unknown) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

interface State {
  readonly after: number
  readonly idle: number
  /** The next text starts a message (the first, or one after a boundary): its chunk carries the role. */
  readonly opening: boolean
  /** Who writes the open message: a restart ends it in their name. */
  readonly speaker: Speaker
}

export const handleQueryStream = (r: QueryStreamRequest): Effect.Effect<Reply, ApiError, Storage | QueryStreams> =>
  Effect.gen(function*(): Effect.fn.Return<Reply, ApiError, Storage | QueryStreams> {
    if (r.method !== "GET") return yield* new MethodNotAllowed({ message: `the server does not allow this method on the requested resource (${r.method})` })
    const storage = yield* Storage
    const streams = yield* QueryStreams
    const resource = storedResource(r.info)
    const query = yield* storage.get(resource, r.namespace, r.name)
    const key = { namespace: r.namespace, name: r.name, uid: query.metadata.uid! }
    const id = `chatcmpl-${key.uid}`
    const created = Math.floor(Date.now() / 1000)
    const model = (query.spec as { target?: { name?: string } } | undefined)?.target?.name ?? ""
    const chunk = (delta: Record<string, unknown>, finish: string | null, ark: Speaker & { readonly completedQuery?: KubeObject } = {}) =>
      event({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }], ark: { query: r.name, ...ark } })
    /** The chunks' events, and where they leave the message. */
    const pieces = (chunks: ReadonlyArray<StreamChunk>, at: Pick<State, "opening" | "speaker">) => {
      let events = ""
      let { opening, speaker: open } = at
      for (const { seq: _, text, end, restart, ...speaker } of chunks) {
        if (restart === true) {
          // Nothing is open after a boundary: there is nothing to end.
          if (!opening) events += chunk({}, "stop", open)
          opening = true
          continue
        }
        if (end === true) events += chunk({}, "stop", speaker)
        else events += chunk(opening ? { role: "assistant", content: text } : { content: text }, null, speaker)
        opening = end === true
        open = speaker
      }
      return { events, opening, speaker: open }
    }
    const ending = (q: KubeObject) => {
      const status = (q.status ?? {}) as { phase?: string; error?: string }
      const error = status.phase === "error"
        ? event({ error: { message: status.error ?? "the query failed", type: "server_error", code: "execution_failed" }, ark: { query: r.name } })
        : ""
      return `${error}${chunk({}, "stop", { completedQuery: q })}${event("[DONE]")}`
    }
    // Whatever fails while following (the store, the Query deleted) ends the stream with an error event.
    const failed = (why: string) => Stream.make(encoder.encode(`${event({ error: { message: why, type: "server_error", code: "stream_failed" }, ark: { query: r.name } })}${event("[DONE]")}`))
    const step = (s: State) =>
      Effect.gen(function*(): Effect.fn.Return<readonly [ReadonlyArray<Uint8Array>, Option.Option<State>], unknown> {
        const chunks = yield* streams.read(key, s.after, 500)
        if (chunks.length > 0) {
          const { events, ...at } = pieces(chunks, s)
          return [[encoder.encode(events)], Option.some({ after: chunks.at(-1)!.seq, idle: 0, ...at })]
        }
        const current = yield* storage.get(resource, r.namespace, r.name)
        if (current.metadata.uid !== key.uid) return [[encoder.encode(ending(current))], Option.none()]
        if (isSettledQuery(current)) {
          // Pieces stored before the end are committed before the terminal status: read once more.
          const last = yield* streams.read(key, s.after, 100_000)
          return [[encoder.encode(`${pieces(last, s).events}${ending(current)}`)], Option.none()]
        }
        yield* Effect.sleep(pollEvery)
        const idle = s.idle + 1
        return [idle >= keepAliveAfter ? [encoder.encode(": keep-alive\n\n")] : [], Option.some({ ...s, idle: idle >= keepAliveAfter ? 0 : idle })]
      })
    const body = Stream.paginate<State, Uint8Array, unknown>({ after: 0, idle: 0, opening: true, speaker: {} }, step).pipe(
      Stream.catchCause(() => failed("following the query failed (the store is unavailable, or the query was deleted)"))
    )
    return { status: 200, body, contentType: "text/event-stream" }
  })
