/**
 * Keeps the store's history (replaced versions, tombstones) for one compaction interval, as
 * kube-apiserver compacts etcd: at each tick every resource is compacted to the revision seen at
 * the previous tick. Watches and continue tokens older than that get 410 Expired and relist.
 * Run by the leader (the controller), each compaction fenced: one replica compacts, not all.
 */
import { Duration, Effect, Schedule } from "effect"
import { servedResources } from "../../domain/registry.ts"
import { LeaderElection } from "../../services/LeaderElection.ts"
import { Storage, storedResource } from "../../services/Storage.ts"

const stored = servedResources.map(storedResource)

export const compactLoop = (interval: Duration.Duration) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const election = yield* LeaderElection
    let previous: string | undefined
    const tick = Effect.gen(function*() {
      const now = yield* storage.currentRevision
      if (previous !== undefined) {
        const upTo = previous
        yield* Effect.forEach(stored, (r) => election.fenced(storage.compact(r, upTo)), { discard: true })
      }
      previous = now
    }).pipe(Effect.catchCause((cause) => Effect.logWarning("history compaction failed; retrying next interval", cause)))
    return yield* Effect.repeat(tick, Schedule.spaced(interval)).pipe(Effect.asVoid)
  })
