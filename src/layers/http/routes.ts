/** Parses request paths of the Kubernetes REST API into what they address. */
import type { ResourceInfo } from "../../domain/registry.ts"
import { coreGroup, findResource, servedGroups } from "../../domain/registry.ts"

export type Route =
  | { readonly _tag: "Version" }
  | { readonly _tag: "Metrics" }
  | { readonly _tag: "LegacyVersions" }
  | { readonly _tag: "LegacyResources" }
  | { readonly _tag: "Groups" }
  | { readonly _tag: "Group"; readonly group: string }
  | { readonly _tag: "GroupVersion"; readonly group: string; readonly version: string }
  | { readonly _tag: "OpenApiV2" }
  | { readonly _tag: "OpenApiV3Index" }
  /** `group` is "" for the core group (`/openapi/v3/api/v1`). */
  | { readonly _tag: "OpenApiV3"; readonly group: string; readonly version: string }
  | {
    readonly _tag: "Resource"
    readonly info: ResourceInfo
    /** Namespace from the URL; undefined for all namespaces or cluster scope. */
    readonly namespace: string | undefined
    readonly name: string | undefined
    readonly subresource: "status" | undefined
    /** Addressed through the legacy `/watch/` prefix. */
    readonly watchPath: boolean
  }
  /**
   * An endpoint of one object beyond kube's verbs, served by ark itself: a Memory's
   * `messages` and `conversations` (the built-in memory, upstream's memory protocol), a
   * Query's `stream` (its answer as server-sent events).
   * Authorized as a subresource of the object.
   */
  | {
    readonly _tag: "Endpoint"
    readonly info: ResourceInfo
    readonly namespace: string
    readonly name: string
    readonly subresource: string
  }
  | { readonly _tag: "Unknown" }

const unknown: Route = { _tag: "Unknown" }

/** The endpoints each plural has beyond kube's verbs. */
const endpoints: ReadonlyMap<string, ReadonlySet<string>> = new Map([["memories", new Set(["messages", "conversations"])], ["queries", new Set(["stream"])]])

const isServedGroup = (group: string | undefined) => servedGroups.some((g) => g.name === group)

const resourceRoute = (group: string, version: string, rest: ReadonlyArray<string>, watchPath: boolean): Route => {
  let namespace: string | undefined
  let parts = rest
  if (parts[0] === "namespaces" && parts.length >= 3) {
    namespace = parts[1]
    parts = parts.slice(2)
  }
  const [plural, name, sub, ...extra] = parts
  if (plural === undefined || extra.length > 0) return unknown
  const info = findResource(group, version, plural)
  if (info === undefined) return unknown
  if (namespace !== undefined && !info.namespaced) return unknown
  if (namespace !== undefined && name !== undefined && name !== "" && sub !== undefined && endpoints.get(info.plural)?.has(sub) === true && !watchPath) {
    return { _tag: "Endpoint", info, namespace, name, subresource: sub }
  }
  if (namespace === undefined && info.namespaced && name !== undefined) return unknown
  if (sub !== undefined && (sub !== "status" || info.status === undefined)) return unknown
  if (name === "") return unknown
  // NUL (also what undecodable escapes become) can name nothing: no store keeps it in a key.
  if (namespace?.includes("\u0000") || name?.includes("\u0000")) return unknown
  return { _tag: "Resource", info, namespace, name, subresource: sub, watchPath }
}

export const route = (path: string): Route => {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path
  const segments = trimmed.split("/").slice(1).map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return "\u0000"
    }
  })
  const [first, second, third, ...rest] = segments
  switch (first) {
    case "version":
      return segments.length === 1 ? { _tag: "Version" } : unknown
    case "metrics":
      return segments.length === 1 ? { _tag: "Metrics" } : unknown
    case "api":
      if (segments.length === 1) return { _tag: "LegacyVersions" }
      if (second !== "v1") return unknown
      if (segments.length === 2) return { _tag: "LegacyResources" }
      return resourceRoute(coreGroup, second, segments.slice(2), false)
    case "openapi":
      if (second === "v2" && segments.length === 2) return { _tag: "OpenApiV2" }
      if (second === "v3" && segments.length === 2) return { _tag: "OpenApiV3Index" }
      if (second === "v3" && third === "apis" && rest.length === 2 && isServedGroup(rest[0])) {
        return { _tag: "OpenApiV3", group: rest[0]!, version: rest[1]! }
      }
      if (second === "v3" && third === "api" && rest.length === 1 && rest[0] === "v1") return { _tag: "OpenApiV3", group: coreGroup, version: "v1" }
      return unknown
    case "apis": {
      if (segments.length === 1) return { _tag: "Groups" }
      if (second === undefined || !isServedGroup(second)) return unknown
      if (third === undefined) return { _tag: "Group", group: second }
      if (rest.length === 0) return { _tag: "GroupVersion", group: second, version: third }
      return resourceRoute(second, third, rest, false)
    }
    default:
      return unknown
  }
}

/** `/apis/<group>/<version>/watch/namespaces/x/<plural>` (or `/api/v1/watch/...`) → the same route, marked as a watch. */
export const routeWithWatchPrefix = (path: string): Route => {
  const m = /^\/apis\/([^/]+)\/([^/]+)\/watch\/(.*)$/.exec(path)
  const core = m === null ? /^\/api\/v1\/watch\/(.*)$/.exec(path) : null
  if (core !== null) {
    const r = route(`/api/v1/${core[1]}`)
    return r._tag === "Resource" ? { ...r, watchPath: true } : r
  }
  if (m === null || !isServedGroup(m[1])) return route(path)
  const r = route(`/apis/${m[1]}/${m[2]}/${m[3]}`)
  return r._tag === "Resource" ? { ...r, watchPath: true } : r
}

/**
 * The URL of a request line, which may be anything a client sends: `//x` (which `new URL`
 * reads as a host), an absolute URL, or garbage. Paths are taken as paths; what does not parse
 * becomes a path no route matches (404), never an exception.
 */
export const requestUrl = (raw: string): URL => {
  try {
    return new URL(raw.startsWith("/") ? `http://ark${raw}` : raw, "http://ark")
  } catch {
    return new URL("http://ark/%00")
  }
}

/** A request's URL and route, read once per request: the metrics wrapper, the guard and the handler each need them. */
const parsed = new WeakMap<object, { readonly url: URL; readonly route: Route }>()

/** The URL and route of a request, by its Node request (`source`), parsed on first use. */
export const parsedRequest = (request: { readonly url: string; readonly source: unknown }) => {
  const key = typeof request.source === "object" && request.source !== null ? request.source : undefined
  const known = key === undefined ? undefined : parsed.get(key)
  if (known !== undefined) return known
  const url = requestUrl(request.url)
  const result = { url, route: routeWithWatchPrefix(url.pathname) }
  if (key !== undefined) parsed.set(key, result)
  return result
}
