/**
 * Commits across replicas through PostgreSQL `LISTEN`/`NOTIFY` on one channel whose payload is a
 * resource key: a nudge only, since correctness comes from the catch-up query.
 *
 * Notifying: this replica's commits are announced by a background fiber, each resource once per
 * short window, instead of by every write transaction (NOTIFY serializes committing
 * transactions). A replica that dies between a commit and its announcement leaves the others to
 * their periodic sweep.
 *
 * Listening: the connection is a scoped resource; when it drops it is reopened with backoff,
 * and each (re)connection first asks for a full catch-up ("*").
 */
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Schedule, Stream } from "effect"
import { Commits, RemoteCommits } from "../../services/Commits.ts"
import { changesChannel } from "./PgSchema.ts"

/** How long local commits of one resource are gathered into one notification. */
const announceWindow = Duration.millis(2)

export const layer: Layer.Layer<RemoteCommits, never, Commits | PgClient.PgClient> = Layer.effect(
  RemoteCommits,
  Effect.gen(function*() {
    const pg = yield* PgClient.PgClient
    const commits = yield* Commits
    yield* Effect.forkScoped(commits.subscribe.pipe(
      Stream.map((c) => c.key),
      Stream.groupedWithin(1024, announceWindow),
      Stream.runForEach((keys) =>
        Effect.forEach(new Set(keys), (key) => pg.notify(changesChannel, key), { discard: true }).pipe(
          Effect.catchCause((cause) => Effect.logWarning("could not announce commits to other replicas", cause))
        )
      )
    ))
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
