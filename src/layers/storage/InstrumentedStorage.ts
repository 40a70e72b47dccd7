/**
 * Storage with metrics: every operation's latency (ark_storage_operation_duration_seconds) and
 * failures by error (ark_storage_operation_errors_total), by operation and resource. Wraps any
 * Storage layer: `InstrumentedStorage.layer.pipe(Layer.provideMerge(PostgresStorage.layer))`.
 */
import { Effect, Layer } from "effect"
import * as Metrics from "../../services/Metrics.ts"
import type { StoredResource } from "../../services/Storage.ts"
import { Storage } from "../../services/Storage.ts"

const measured = <A, E, R>(operation: string, resource: string, self: Effect.Effect<A, E, R>) =>
  Metrics.timed(Metrics.storageDuration, { operation, resource }, self).pipe(
    Effect.tapError((e) =>
      Metrics.increment(Metrics.storageErrors, {
        operation,
        resource,
        error: typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : "unknown"
      })
    )
  )

export const layer: Layer.Layer<Storage, never, Storage> = Layer.effect(
  Storage,
  Effect.gen(function*() {
    const inner = yield* Storage
    const of = (r: StoredResource) => r.plural
    return Storage.of({
      create: (r, object, options) => measured("create", of(r), inner.create(r, object, options)),
      get: (r, namespace, name, options) => measured("get", of(r), inner.get(r, namespace, name, options)),
      update: (r, object, options) => measured("update", of(r), inner.update(r, object, options)),
      guaranteedUpdate: (r, namespace, name, mutate, options) =>
        measured("guaranteedUpdate", of(r), inner.guaranteedUpdate(r, namespace, name, mutate, options)),
      delete: (r, namespace, name, options) => measured("delete", of(r), inner.delete(r, namespace, name, options)),
      list: (r, options) => measured("list", of(r), inner.list(r, options)),
      currentRevision: measured("currentRevision", "", inner.currentRevision),
      changes: (r, after, upTo) => measured("changes", of(r), inner.changes(r, after, upTo)),
      compact: (r, revision) => measured("compact", of(r), inner.compact(r, revision))
    })
  })
)
