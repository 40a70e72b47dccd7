/**
 * The Kubernetes REST API for ark.mckinsey.com as one HTTP app: discovery, OpenAPI and the
 * resource verbs (health and /metrics are served around it: observability.ts). Every failure leaves as a kube `Status`; nothing else ever reaches a client.
 */
import { ByteSize, Cause, Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { MaxBodySize } from "effect/http/HttpIncomingMessage"
import { createHash } from "node:crypto"
import type { ServerResponse } from "node:http"
import { gunzipSync } from "node:zlib"
import type { ApiError } from "../../services/errors.ts"
import { BadRequest, MethodNotAllowed, NotAcceptable, TooLarge, UnsupportedMediaType } from "../../services/errors.ts"
import { decodeProtobufObject } from "../../domain/protobuf.ts"
import { Storage } from "../../services/Storage.ts"
import type { ConversationStore } from "../../services/ConversationStore.ts"
import type { QueryStreams } from "../../services/QueryStreams.ts"
import type { WatchHub } from "../../services/WatchHub.ts"
import {
  aggregatedDiscovery,
  coreDiscovery,
  groupDocument,
  groupList,
  legacyResources,
  legacyVersions,
  resourceList
} from "./discovery.ts"
import { bodyType, discoveryContentType, negotiate, openApiV2Form, openApiV2ProtobufType } from "./media.ts"
import { openApiV2, openApiV3, openApiV3Index, openApiV3Key, servedGroupVersions } from "./openapi.ts"
import { metricsText } from "./observability.ts"
import { openApiV2Protobuf } from "./openapiProtobuf.ts"
import { contentType as prometheusContentType } from "../../domain/prometheus.ts"
import { handleResource } from "./resources.ts"
import { handleMemory } from "./memory.ts"
import { handleQueryStream } from "./queryStream.ts"
import type { Reply } from "./response.ts"
import { parsedRequest } from "./routes.ts"
import type { StatusBody } from "./status.ts"
import { internalError, notFoundPath, toStatus } from "./status.ts"
import type { SecurityOptions } from "./security.ts"
import { defaultSecurityOptions, makeGuard } from "./security.ts"

/** kube-apiserver's request body limit. */
export const maxRequestBytes = 3 * 1024 * 1024

export interface ApiOptions {
  /** In-flight limits and the request timeout; kube's defaults when absent. */
  readonly security?: SecurityOptions
  /** Host:port that /api reports as the server address. */
  readonly serverAddress: string
}

/** A reply that may carry an ETag (cached documents) or a Retry-After (429). */
type TaggedReply = Reply & { readonly etag?: string; readonly retryAfter?: number }

const statusReply = (s: StatusBody): TaggedReply => ({
  status: s.code,
  body: JSON.stringify(s),
  contentType: "application/json",
  ...(s.details?.retryAfterSeconds === undefined ? {} : { retryAfter: s.details.retryAfterSeconds })
})

const jsonReply = (value: unknown, contentType = "application/json"): Reply => ({
  status: 200,
  body: JSON.stringify(value),
  contentType
})

/** Documents that never change while the process runs are rendered once, with their ETag. */
const cached = <B extends string | Uint8Array>(make: () => B) => {
  let value: { body: B; etag: string } | undefined
  return () => {
    if (value === undefined) {
      const body = make()
      value = { body, etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"` }
    }
    return value
  }
}

const cachedJson = (make: () => unknown) => cached(() => JSON.stringify(make()))

/** Aggregated discovery in both of its versions, each rendered once. */
const discoveryDocs = (make: (version: "v2" | "v2beta1") => unknown) => ({
  v2: cachedJson(() => make("v2")),
  v2beta1: cachedJson(() => make("v2beta1"))
})
const groupDiscoveryDocs = discoveryDocs(aggregatedDiscovery)
const coreDiscoveryDocs = discoveryDocs(coreDiscovery)
const openApiV2Doc = cachedJson(openApiV2)
const openApiV2Proto = cached(() => openApiV2Protobuf(openApiV2()))
const openApiV3Docs = new Map(servedGroupVersions.map(({ group, version }) => [openApiV3Key(group, version), cachedJson(() => openApiV3(group, version))]))
const openApiV3IndexDoc = cachedJson(openApiV3Index)

const version = {
  major: "1",
  minor: "35",
  gitVersion: "v1.35.0+ark-effect.0.1.0",
  gitCommit: "",
  gitTreeState: "clean",
  buildDate: "2026-11-24T00:00:00Z",
  goVersion: "n/a",
  compiler: "ark-effect",
  platform: `${process.platform}/${process.arch}`
}

/** A cached document honouring If-None-Match (304), as discovery and OpenAPI clients expect. */
const conditional = (doc: { body: string | Uint8Array; etag: string }, ifNoneMatch: string | undefined, contentType = "application/json"): TaggedReply =>
  ifNoneMatch === doc.etag
    ? { status: 304, body: "", contentType, etag: doc.etag }
    : { status: 200, body: doc.body, contentType, etag: doc.etag }

/** /api and /apis: aggregated discovery when the client asks for it, else the legacy document. */
const discoveryReply = (
  header: (name: string) => string | undefined,
  docs: ReturnType<typeof discoveryDocs>,
  legacy: () => unknown
) =>
  Effect.suspend((): Effect.Effect<TaggedReply, ApiError> => {
    const rep = negotiate(header("accept"), { discovery: true })
    if (rep === undefined) return Effect.fail(new NotAcceptable({ message: "only the following media types are accepted: application/json" }))
    if (rep._tag === "Discovery") return Effect.succeed(conditional(docs[rep.version](), header("if-none-match"), discoveryContentType(rep.version)))
    return Effect.succeed(jsonReply(legacy()))
  })

const onlyGet = (method: string) =>
  method === "GET" || method === "HEAD"
    ? Effect.void
    : Effect.fail(new MethodNotAllowed({ message: `the server does not allow this method on the requested resource (${method})` }))

const route = (request: HttpServerRequest.HttpServerRequest, options: ApiOptions) =>
  Effect.gen(function*(): Effect.fn.Return<TaggedReply, ApiError, Storage | WatchHub | ConversationStore | QueryStreams> {
    const { url, route: r } = parsedRequest(request)
    const path = url.pathname
    const header = (name: string) => request.headers[name]
    switch (r._tag) {
      case "Version":
        yield* onlyGet(request.method)
        return jsonReply(version)
      case "Metrics":
        yield* onlyGet(request.method)
        return { status: 200, body: yield* metricsText, contentType: prometheusContentType }
      case "LegacyVersions":
        yield* onlyGet(request.method)
        return yield* discoveryReply(header, coreDiscoveryDocs, () => legacyVersions(options.serverAddress))
      case "LegacyResources":
        yield* onlyGet(request.method)
        return jsonReply(legacyResources)
      case "Groups":
        yield* onlyGet(request.method)
        return yield* discoveryReply(header, groupDiscoveryDocs, groupList)
      case "Group": {
        yield* onlyGet(request.method)
        const doc = groupDocument(r.group)
        return doc === undefined ? statusReply(notFoundPath(path)) : jsonReply(doc)
      }
      case "GroupVersion": {
        yield* onlyGet(request.method)
        const doc = resourceList(r.group, r.version)
        return doc === undefined ? statusReply(notFoundPath(path)) : jsonReply(doc)
      }
      case "OpenApiV2": {
        yield* onlyGet(request.method)
        const form = openApiV2Form(header("accept"))
        if (form === undefined) return yield* new NotAcceptable({ message: `only the following media types are accepted: application/json, ${openApiV2ProtobufType}` })
        return form === "json"
          ? conditional(openApiV2Doc(), header("if-none-match"))
          : conditional(openApiV2Proto(), header("if-none-match"), openApiV2ProtobufType)
      }
      case "OpenApiV3Index":
        yield* onlyGet(request.method)
        return conditional(openApiV3IndexDoc(), header("if-none-match"))
      case "OpenApiV3": {
        yield* onlyGet(request.method)
        const doc = openApiV3Docs.get(openApiV3Key(r.group, r.version))
        return doc === undefined ? statusReply(notFoundPath(path)) : conditional(doc(), header("if-none-match"))
      }
      case "Resource": {
        return yield* handleResource({
          method: request.method,
          info: r.info,
          namespace: r.namespace,
          name: r.name,
          subresource: r.subresource,
          query: url.searchParams,
          watch: r.watchPath,
          accept: header("accept"),
          contentType: header("content-type"),
          userAgent: header("user-agent"),
          body: readBody(request),
          closeConnection: () => (request.source as { readonly socket?: { destroy: () => void } }).socket?.destroy(),
          writeNow: writeNow(request)
        })
      }
      case "Endpoint":
        if (r.info.plural === "queries") return yield* handleQueryStream({ method: request.method, info: r.info, namespace: r.namespace, name: r.name })
        return yield* handleMemory({
          method: request.method,
          info: r.info,
          namespace: r.namespace,
          name: r.name,
          endpoint: r.subresource,
          query: url.searchParams,
          body: readBody(request)
        })
      case "Unknown":
        return statusReply(notFoundPath(path))
    }
  })

/** What a streaming response may hold unsent and still be written to directly (a watch frame or two). */
const writeNowLimit = 16 * 1024

/**
 * Direct writes to the Node response under the platform's stream (watch frames from the hub's
 * fan-out), allowed only once the headers are out and while the response has flushed nearly
 * everything: what a slow client leaves unread stays bounded by the watch hub's own queue.
 */
const writeNow = (request: HttpServerRequest.HttpServerRequest) => {
  const res = (request as { readonly resolvedResponse?: unknown }).resolvedResponse as ServerResponse | undefined
  // Only where the response reports what it holds unsent.
  if (res === undefined || typeof res.write !== "function" || typeof res.writableLength !== "number") return undefined
  return (bytes: Uint8Array) => {
    if (!res.headersSent || res.writableEnded || res.destroyed || res.writableLength >= writeNowLimit) return false
    res.write(bytes)
    // The write corked the socket until the next tick; uncorked now, the frame leaves within the
    // fan-out's loop, instead of every watcher's frame waiting for the loop to end.
    res.socket?.uncork()
    return true
  }
}

/** A body read failure as kube answers it: too large is 413, anything else unreadable 400. */
const bodyError = (e: { readonly reason: { readonly _tag: string; readonly reason?: unknown } }): ApiError =>
  e.reason._tag === "RequestParseError" && e.reason.reason === "BodyTooLarge"
    ? tooLarge()
    : new BadRequest({ message: "the request body could not be read" })

const tooLarge = () => new TooLarge({ message: `Request entity too large: limit is ${maxRequestBytes}` })

/** The body's bytes, bounded by kube's limit before and after decoding a gzip `Content-Encoding`. */
const readBytes = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Uint8Array, ApiError> => {
  const encoding = (request.headers["content-encoding"] ?? "").trim().toLowerCase()
  if (encoding !== "" && encoding !== "identity" && encoding !== "gzip") {
    return Effect.fail(new UnsupportedMediaType({ message: `unsupported Content-Encoding "${encoding}": only gzip is accepted` }))
  }
  return request.arrayBuffer.pipe(
    Effect.provideService(MaxBodySize, ByteSize.bytes(maxRequestBytes)),
    Effect.mapError(bodyError),
    Effect.flatMap((buffer) =>
      encoding !== "gzip"
        ? Effect.succeed(new Uint8Array(buffer))
        : Effect.try({
          try: () => new Uint8Array(gunzipSync(new Uint8Array(buffer), { maxOutputLength: maxRequestBytes })),
          catch: (e): ApiError =>
            (e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE"
              ? tooLarge()
              : new BadRequest({ message: `the request body is not valid gzip: ${e instanceof Error ? e.message : String(e)}` })
        })
    )
  )
}

/**
 * The body as text, bounded by kube's limit before and after decoding: larger bodies are 413,
 * unreadable ones 400. A gzip `Content-Encoding` is decoded (a body that is not gzip is a 400);
 * any other encoding is 415. A protobuf body (client-go's for core kinds) becomes the JSON text
 * of the object it carries.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<string, ApiError> =>
  readBytes(request).pipe(Effect.flatMap((bytes) =>
    bodyType(request.headers["content-type"]) === "application/vnd.kubernetes.protobuf"
      ? Effect.try({
        try: () => JSON.stringify(decodeProtobufObject(bytes)),
        catch: (e) => new UnsupportedMediaType({ message: `the body of the request could not be decoded: ${e instanceof Error ? e.message : String(e)}` })
      })
      : Effect.succeed(new TextDecoder().decode(bytes))
  ))

const toResponse = (reply: TaggedReply) => {
  const headers: Record<string, string> = {}
  if (reply.warnings !== undefined) headers["warning"] = reply.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", ")
  if (reply.etag !== undefined) headers["etag"] = reply.etag
  if (reply.retryAfter !== undefined) headers["retry-after"] = String(reply.retryAfter)
  if (reply.status === 304) return HttpServerResponse.empty({ status: 304, headers })
  const options = { status: reply.status, contentType: reply.contentType, headers }
  return typeof reply.body === "string"
    ? HttpServerResponse.text(reply.body, options)
    : reply.body instanceof Uint8Array
    ? HttpServerResponse.uint8Array(reply.body, options)
    : HttpServerResponse.stream(reply.body, options)
}

/** The app served for every request; each request passes the guard (src/layers/http/security.ts) first. */
export const apiApp = (options: ApiOptions) => {
  const guard = makeGuard(options.security ?? defaultSecurityOptions)
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { url, route: r } = parsedRequest(request)
    const guarded = { method: request.method, path: url.pathname, query: url.searchParams, route: r, source: request.source }
    const reply = yield* guard(guarded, route(request, options)).pipe(
      Effect.catch((e: ApiError) => Effect.succeed(statusReply(toStatus(e)))),
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause)
          : Effect.logError("unexpected failure", cause).pipe(Effect.as(statusReply(internalError())))
      )
    )
    return toResponse(reply)
  })
}
