/**
 * What every HTTP server of a replica answers besides its own work: `/metrics` (Prometheus
 * text), `/livez`, `/readyz`, `/healthz` with kube-apiserver's check lists (`?verbose`,
 * `?exclude=`, `/readyz/<check>`), and request metrics for everything it serves.
 */
import { Duration, Effect, LogLevel, Metric } from "effect"
import type { HttpServerResponse } from "effect/http"
import { HttpServerRequest, HttpServerResponse as Response } from "effect/http"
import { randomUUID } from "node:crypto"
import { contentType as prometheusContentType, render } from "../../domain/prometheus.ts"
import * as Metrics from "../../services/Metrics.ts"
import { Liveness } from "../../services/Liveness.ts"
import { Shutdown } from "../../services/Shutdown.ts"
import { Storage } from "../../services/Storage.ts"
import type { Route } from "./routes.ts"
import { parsedRequest } from "./routes.ts"
import { toStatus } from "./status.ts"
import { isWatchQuery } from "./watch.ts"
import { MethodNotAllowed } from "../../services/errors.ts"

/** A health check: fails with the reason it is not passing. */
interface Check {
  readonly name: string
  readonly run: Effect.Effect<void, string, Storage>
}

const ping: Check = { name: "ping", run: Effect.void }

/** The store answers (a cheap read of its frontier) within 2 s. */
const storage: Check = {
  name: "storage",
  run: Effect.gen(function*() {
    return yield* (yield* Storage).currentRevision
  }).pipe(
    Effect.timeoutOrElse({ duration: Duration.seconds(2), orElse: () => Effect.fail("the store did not answer within 2s") }),
    Effect.mapError((e) => typeof e === "string" ? e : `the store is unavailable: ${e.message}`),
    Effect.asVoid
  )
}

/** Not ready once the replica has begun to stop, so load balancers send nothing new. */
const shutdown: Check = {
  name: "shutdown",
  run: Effect.gen(function*() {
    if ((yield* Shutdown).draining()) return yield* Effect.fail("the server is shutting down")
  })
}

/** Nothing this replica depends on has failed beyond repair (an embedded PostgreSQL that cannot be restarted). */
const liveness: Check = {
  name: "liveness",
  run: Effect.gen(function*() {
    const failures = (yield* Liveness).failures()
    if (failures.length > 0) return yield* Effect.fail(failures.join("; "))
  })
}

export type Endpoint = "livez" | "readyz" | "healthz"

const checks: Record<Endpoint, ReadonlyArray<Check>> = {
  livez: [ping, liveness],
  readyz: [ping, storage, shutdown],
  healthz: [ping, storage]
}

const text = (status: number, body: string) => Response.text(body, { status, contentType: "text/plain; charset=utf-8" })

/**
 * kube's healthz handler: every check (less `exclude`) runs; "ok" when all pass, else 500 with
 * the list; `verbose` always lists. `/readyz/<check>` runs that one check.
 */
export const health = (endpoint: Endpoint, only: string | undefined, query: URLSearchParams) =>
  Effect.gen(function*() {
    if (only !== undefined) {
      const check = checks[endpoint].find((c) => c.name === only)
      if (check === undefined) return text(404, `404 page not found\n`)
      const result = yield* Effect.result(check.run)
      return result._tag === "Success" ? text(200, "ok") : text(500, `internal server error: ${result.failure}\n`)
    }
    const excluded = new Set(query.getAll("exclude"))
    const results = yield* Effect.forEach(
      checks[endpoint].filter((c) => !excluded.has(c.name)),
      (c) => Effect.map(Effect.result(c.run), (r) => ({ name: c.name, failure: r._tag === "Failure" ? r.failure : undefined })),
      { concurrency: "unbounded" }
    )
    const passed = results.every((r) => r.failure === undefined)
    if (passed && !query.has("verbose")) return text(200, "ok")
    const lines = results.map((r) => r.failure === undefined ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`)
    for (const name of excluded) lines.push(`[+]${name} excluded: ok`)
    lines.push(`${endpoint} check ${passed ? "passed" : "failed"}`)
    // The reasons go to the log, as kube keeps them from unauthenticated callers.
    for (const r of results) if (r.failure !== undefined) yield* Effect.logWarning(`${endpoint} check ${r.name} failed: ${r.failure}`)
    return text(passed ? 200 : 500, `${lines.join("\n")}\n`)
  })

/** Every metric of the process in Prometheus text format. */
export const metricsText = Effect.map(Metric.snapshot, render)

const metricsResponse = Effect.map(metricsText, (text) => Response.text(text, { contentType: prometheusContentType }))

/** kube's request verb and resource labels (LIST vs GET, WATCH, APPLY, DELETECOLLECTION). */
export const requestLabels = (method: string, url: URL, r: Route, contentType: string | undefined) => {
  if (r._tag !== "Resource") return { verb: method, group: "", version: "", resource: "", subresource: "" }
  const watching = method === "GET" && r.subresource === undefined &&
    (r.watchPath || isWatchQuery(url.searchParams))
  const collection = r.name === undefined
  const verb = watching
    ? "WATCH"
    : method === "GET"
    ? collection ? "LIST" : "GET"
    : method === "POST"
    ? "CREATE"
    : method === "PUT"
    ? "UPDATE"
    : method === "PATCH"
    ? (contentType ?? "").startsWith("application/apply-patch") ? "APPLY" : "PATCH"
    : method === "DELETE"
    ? collection ? "DELETECOLLECTION" : "DELETE"
    : method
  return { verb, group: r.info.group, version: r.info.version, resource: r.info.plural, subresource: r.subresource ?? "" }
}

const healthPath = /^\/(livez|readyz|healthz)(?:\/([^/]+))?\/?$/

export interface ObservabilityOptions {
  /**
   * Who answers /metrics: "app", the API, which authenticates and authorizes it as kube-apiserver
   * does (a non-resource `get` of /metrics); "open", this wrapper, for ports that only serve
   * metrics and probes. Health checks are always open, as kube's.
   */
  readonly metrics: "app" | "open"
}

/**
 * Serves /metrics and the health endpoints, and passes everything else to `app`, counting and
 * timing every request (watches are counted, not timed: they last as long as the client wants).
 */
export const withObservability = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  options: ObservabilityOptions
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { url, route } = parsedRequest(request)
    const labels = requestLabels(request.method, url, route, request.headers["content-type"])
    const start = performance.now()
    // kube-apiserver's request id: the caller's Audit-ID (a front proxy's) or a new one, on every log line and answer.
    const requestId = auditId(request.headers["audit-id"])
    const response = yield* Effect.annotateLogs(answer(request, url, app, options), { requestId })
    yield* Metrics.increment(Metrics.requests, { ...labels, code: String(response.status) })
    const seconds = (performance.now() - start) / 1000
    if (labels.verb !== "WATCH") {
      yield* Metric.update(Metrics.bound(Metrics.requestDuration, labels), seconds)
    }
    // The line is built only when it is shown: this runs for every request.
    if (yield* LogLevel.isEnabled("Debug")) {
      yield* Effect.logDebug(`${request.method} ${url.pathname}${url.search} ${response.status}`).pipe(
        Effect.annotateLogs({ requestId, verb: labels.verb, resource: labels.resource, ms: Math.round(seconds * 1000) })
      )
    }
    return Response.setHeader(response, "audit-id", requestId)
  })

/** A client's Audit-ID is kept when it is a plausible id (kube's are UUIDs); otherwise a new one is made. */
const auditId = (given: string | undefined) => given !== undefined && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID()

/** /metrics and health answered here, everything else by `app`. */
const answer = <E, R>(
  request: HttpServerRequest.HttpServerRequest,
  url: URL,
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  options: ObservabilityOptions
) =>
  Effect.gen(function*() {
    const healthMatch = healthPath.exec(url.pathname)
    const own = (url.pathname === "/metrics" && options.metrics === "open") || healthMatch !== null
    const response = !own
      ? yield* app
      : request.method !== "GET" && request.method !== "HEAD"
      ? Response.jsonUnsafe(toStatus(new MethodNotAllowed({ message: `the server does not allow this method on the requested resource (${request.method})` })), { status: 405 })
      : healthMatch !== null
      ? yield* health(healthMatch[1] as Endpoint, healthMatch[2], url.searchParams)
      : yield* metricsResponse
    return response
  })
