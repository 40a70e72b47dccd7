/**
 * Other replicas' commits through PostgreSQL `LISTEN`: every write notifies its resource key on
 * one channel. The listening connection is a scoped resource; when it drops it is reopened with
 * backoff, and each (re)connection first asks for a full catch-up ("*").
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Schedule, Stream } from "effect"
import { RemoteCommits } from "../services/Commits.ts"
import { changesChannel } from "./PgSchema.ts"

export const layer = Layer.effect(
  RemoteCommits,
  Effect.gen(function*() {
    const pg = yield* PgClient.PgClient
    const connection = Stream.unwrap(Effect.map(pg.listen(changesChannel), (queue) =>
      Stream.concat(Stream.make("*"), Stream.fromQueue(queue).pipe(Stream.map((n) => n.payload)))))
    const changes = connection.pipe(
      Stream.tapError((e) => Effect.logWarning("change notifications lost; reconnecting", e)),
      Stream.retry(Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")])),
      Stream.orDie
    )
    return RemoteCommits.of({ changes })
  })
)
