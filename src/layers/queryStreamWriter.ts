/**
 * A running Query's answer, written to QueryStreams as it arrives: the engine's pieces are
 * taken synchronously and appended in batches by one fiber (whatever came while the previous
 * append ran goes in the next), so a token-by-token engine costs a statement per batch, not per
 * token. `flush` waits until everything handed on is stored: the workers call it before the
 * terminal status, so a client that sees the end has every chunk before it. An attempt after the
 * first (a retry, or a takeover of a lost lease) marks where it starts before its first piece, so
 * whatever the earlier attempt left half-written ends there instead of running into the new answer.
 */
import { Cause, Effect, Fiber, Queue } from "effect"
import type { OnPiece } from "../domain/chat.ts"
import type { QueryKey, StreamPiece } from "../services/QueryStreams.ts"
import { QueryStreams } from "../services/QueryStreams.ts"

export interface StreamWriter {
  readonly onPiece: OnPiece
  readonly flush: Effect.Effect<void>
}

/** The writer of attempt `attempt` (counted from 1, as the queue counts claims) of the Query `key`. */
export const make = (key: QueryKey, attempt: number) =>
  Effect.gen(function*() {
    const streams = yield* QueryStreams
    const queue = yield* Queue.unbounded<StreamPiece, Cause.Done>()
    const writer = yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(Queue.takeAll(queue), (batch) =>
        streams.append(key, batch).pipe(
          // Followers miss these pieces; the Query itself is unaffected.
          Effect.catchTag("QueryStreamsUnavailable", (e) => Effect.logWarning(`query ${key.namespace}/${key.name}: ${e.message}`))
        ))).pipe(Effect.catchIf(Cause.isDone, () => Effect.void))
    )
    let restarting = attempt > 1
    return {
      onPiece: (piece) => {
        if (restarting) Queue.offerUnsafe(queue, { text: "", restart: true })
        restarting = false
        Queue.offerUnsafe(queue, piece)
      },
      flush: Effect.andThen(Queue.end(queue), Fiber.await(writer)).pipe(Effect.asVoid)
    } satisfies StreamWriter
  })
