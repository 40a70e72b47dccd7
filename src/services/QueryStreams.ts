/**
 * Query answers as they are written (their text, who wrote it, where each message ends), kept in ark's store so that a client on any
 * replica can follow a Query (the streaming endpoint, src/layers/http/queryStream.ts) and a
 * client that connects late reads what was written first. The workers append; readers page by
 * sequence number.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { AnswerPiece } from "../domain/chat.ts"

export interface QueryKey {
  readonly namespace: string
  readonly name: string
  readonly uid: string
}

/**
 * A piece as stored: the engine's, or (`restart`) where a later attempt of the Query begins
 * (a worker retried it, or took it over): a message the earlier attempt left open ends there.
 */
export interface StreamPiece extends AnswerPiece {
  readonly restart?: boolean
}

/** A stored piece of the answer, numbered from 1. */
export interface StreamChunk extends StreamPiece {
  readonly seq: number
}

export class QueryStreamsUnavailable extends Schema.TaggedError<QueryStreamsUnavailable>()("QueryStreamsUnavailable", {
  message: Schema.String
}) {}

export class QueryStreams extends Context.Service<QueryStreams, {
  /** Appends pieces of the answer, after those already written for the Query. */
  readonly append: (query: QueryKey, pieces: ReadonlyArray<StreamPiece>) => Effect.Effect<void, QueryStreamsUnavailable>
  /** The Query's pieces after sequence number `after`, in order (at most `limit`). */
  readonly read: (query: QueryKey, after: number, limit: number) => Effect.Effect<ReadonlyArray<StreamChunk>, QueryStreamsUnavailable>
}>()("ark-effect/services/QueryStreams") {}
