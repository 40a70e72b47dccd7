/**
 * The metrics every module records, as Effect `Metric`s in the process's default registry; the
 * `/metrics` endpoint renders them in Prometheus text format (src/domain/prometheus.ts). Names
 * follow kube-apiserver's where it has one, so existing dashboards and alerts apply.
 */
import { Effect, Metric } from "effect"

/** Seconds, from 1 ms to ~33 s. */
const latencyBoundaries = Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 16 })

export const requests = Metric.counter("apiserver_request_total", {
  description: "Counter of apiserver requests broken out for each verb, resource and HTTP response code.",
  incremental: true
})

export const requestDuration = Metric.histogram("apiserver_request_duration_seconds", {
  description: "Response latency distribution in seconds for each verb and resource (watches: until the response starts).",
  boundaries: latencyBoundaries
})

export const storageDuration = Metric.histogram("ark_storage_operation_duration_seconds", {
  description: "Latency of Storage operations in seconds, by operation and resource.",
  boundaries: latencyBoundaries
})

export const storageErrors = Metric.counter("ark_storage_operation_errors_total", {
  description: "Storage operations that failed, by operation, resource and error.",
  incremental: true
})

export const watchers = Metric.gauge("apiserver_registered_watchers", {
  description: "Number of currently registered watchers for a given resource."
})

export const watchEvents = Metric.counter("apiserver_watch_events_total", {
  description: "Number of events sent to watchers, by resource.",
  incremental: true
})

export const watchEventsDropped = Metric.counter("ark_watch_events_dropped_total", {
  description: "Events that did not fit a slow watcher's buffer (the watcher was ended with 410 and relists), by resource.",
  incremental: true
})

export const queueDepth = Metric.gauge("ark_query_queue_depth", {
  description: "Queries waiting in the query queue or being run (sampled by replicas that run query workers)."
})

export const claims = Metric.counter("ark_query_claims_total", {
  description: "Queue items claimed by this replica's query workers.",
  incremental: true
})

export const leaseExpiries = Metric.counter("ark_query_lease_expiries_total", {
  description: "Query leases this replica lost because they ran out before renewal (another worker may take the Query over).",
  incremental: true
})

export const queriesRunning = Metric.gauge("ark_queries_running", {
  description: "Queries this replica's workers are running now."
})

export const leader = Metric.gauge("leader_election_master_status", {
  description: "1 while this replica leads (runs the controller), 0 otherwise, by lease name."
})

const boundMetrics = new WeakMap<object, Map<string, unknown>>()

/**
 * `metric` with these attributes, made once per combination and then reused: binding builds a
 * metric key each time, and requests update several metrics with few distinct attribute sets.
 */
export const bound = <M extends Metric.Metric<any, any>>(metric: M, attributes: Record<string, string>): M => {
  let byKey = boundMetrics.get(metric)
  if (byKey === undefined) boundMetrics.set(metric, byKey = new Map())
  let key = ""
  for (const name in attributes) key += `${name}\u0000${attributes[name]}\u0000`
  let m = byKey.get(key) as M | undefined
  if (m === undefined) byKey.set(key, m = Metric.withAttributes(metric, attributes) as M)
  return m
}

/** Records leadership for the leader election's lease `name` (set on gaining and on losing it). */
export const setLeader = (name: string, leading: boolean) => Metric.update(bound(leader, { name }), leading ? 1 : 0)

/** Adds one to a counter with these attributes. */
export const increment = (counter: Metric.Counter<number>, attributes: Record<string, string>, by = 1) =>
  Metric.update(bound(counter, attributes), by)

/** Records the duration of `self` in seconds, with these attributes, whatever its outcome. */
export const timed = <A, E, R>(histogram: Metric.Histogram<number>, attributes: Record<string, string>, self: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.ensuring(self, Effect.suspend(() => Metric.update(bound(histogram, attributes), (performance.now() - start) / 1000)))
  })
