/**
 * Keeps the store's history (replaced versions, tombstones) for one compaction interval, as
 * kube-apiserver compacts etcd: at each tick every resource is compacted to the revision seen at
 * the previous tick. Watches and continue tokens older than that get 410 Expired and relist.
 * Compaction is idempotent, so every replica may run it.
 */
import { Duration, Effect, Layer, Schedule } from "effect"
import { resources } from "../domain/registry.ts"
import { Storage, storedResource } from "../services/Storage.ts"

const stored = resources.map(storedResource)

export const layer = (interval: Duration.Duration) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const storage = yield* Storage
    let previous: string | undefined
    const tick = Effect.gen(function*() {
      const now = yield* storage.currentRevision
      if (previous !== undefined) {
        const upTo = previous
        yield* Effect.forEach(stored, (r) => storage.compact(r, upTo), { discard: true })
      }
      previous = now
    }).pipe(Effect.catchCause((cause) => Effect.logWarning("history compaction failed; retrying next interval", cause)))
    yield* Effect.forkScoped(Effect.repeat(tick, Schedule.spaced(interval)))
  }))
