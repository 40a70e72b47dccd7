/**
 * What stands between a request and the API handlers, in kube-apiserver's filter order
 * (DefaultBuildHandlerChain): a timeout for everything but watches, authentication, the
 * in-flight limits, then authorization. Health checks need no credentials and count against no
 * limit, so probes keep answering under load.
 */
import { Duration, Effect, Fiber } from "effect"
import { X509Certificate } from "node:crypto"
import type { IncomingMessage } from "node:http"
import type { DetailedPeerCertificate, TLSSocket } from "node:tls"
import type { Credentials, UserInfo } from "../../services/Authenticator.ts"
import { Authenticator, mastersGroup } from "../../services/Authenticator.ts"
import type { RequestAttributes } from "../../services/Authorizer.ts"
import { Authorizer } from "../../services/Authorizer.ts"
import type { ApiError } from "../../services/errors.ts"
import { Forbidden, RequestTimeout, TooManyRequests } from "../../services/errors.ts"
import { impersonated } from "./impersonation.ts"
import type { Route } from "./routes.ts"
import { isWatchQuery } from "./watch.ts"

export interface SecurityOptions {
  /** kube's --max-requests-inflight: non-mutating requests at once; 0 for no limit. */
  readonly maxRequestsInflight: number
  /** kube's --max-mutating-requests-inflight: creates, updates, patches and deletes at once; 0 for no limit. */
  readonly maxMutatingRequestsInflight: number
  /** kube's --request-timeout for everything but watches. */
  readonly requestTimeout: Duration.Input
}

export const defaultSecurityOptions: SecurityOptions = {
  maxRequestsInflight: 400,
  maxMutatingRequestsInflight: 200,
  requestTimeout: Duration.minutes(1)
}

/** The message of kube's timeout filter. */
const timeoutMessage = "request did not complete within requested timeout - context deadline exceeded"

const mutatingMethods = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** kube's RequestInfoFactory verbs. */
const resourceVerb = (method: string, named: boolean, watch: boolean) => {
  if (watch) return "watch"
  switch (method) {
    case "GET":
    case "HEAD":
      return named ? "get" : "list"
    case "POST":
      return "create"
    case "PUT":
      return "update"
    case "PATCH":
      return "patch"
    case "DELETE":
      return named ? "delete" : "deletecollection"
    default:
      return method.toLowerCase()
  }
}

/** Watches are long-running: no timeout, no in-flight slot (kube's LongRunningFunc). */
const isWatch = (method: string, route: Route, query: URLSearchParams) =>
  route._tag === "Resource" && (method === "GET" || method === "HEAD") && (route.watchPath || isWatchQuery(query))

/** Long-running as watches are: watches, and following a Query's answer. */
const isLongRunning = (method: string, route: Route, query: URLSearchParams) =>
  isWatch(method, route, query) || (route._tag === "Endpoint" && route.subresource === "stream" && method === "GET")

export const requestAttributes = (method: string, path: string, route: Route, query: URLSearchParams): RequestAttributes => {
  if (route._tag === "Endpoint") {
    return {
      verb: resourceVerb(method, true, false),
      path,
      resource: { group: route.info.group, version: route.info.version, resource: route.info.plural, subresource: route.subresource, namespace: route.namespace, name: route.name }
    }
  }
  if (route._tag !== "Resource") return { verb: method === "HEAD" ? "get" : method.toLowerCase(), path }
  return {
    verb: resourceVerb(method, route.name !== undefined, isWatch(method, route, query)),
    path,
    resource: {
      group: route.info.group,
      version: route.info.version,
      resource: route.info.plural,
      subresource: route.subresource ?? "",
      namespace: route.namespace ?? "",
      name: route.name ?? ""
    }
  }
}

/** A connection's client certificate chain, parsed once per TLS connection (keep-alive reuses it). */
const chains = new WeakMap<object, ReadonlyArray<X509Certificate>>()

const peerCertificates = (socket: TLSSocket): ReadonlyArray<X509Certificate> => {
  const known = chains.get(socket)
  if (known !== undefined) return known
  const chain: Array<X509Certificate> = []
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true)
  while (cert !== undefined && cert.raw !== undefined && chain.length < 10) {
    chain.push(new X509Certificate(cert.raw))
    if (cert.issuerCertificate === undefined || cert.issuerCertificate === cert) break
    cert = cert.issuerCertificate
  }
  chains.set(socket, chain)
  return chain
}

/** The credentials of a request as Node received it: headers kept apart, and the TLS client chain. */
export const credentialsOf = (source: unknown): Credentials => {
  const message = source as IncomingMessage
  // Node builds headersDistinct once per request, every value an array.
  const headers: Readonly<Record<string, ReadonlyArray<string>>> = (message.headersDistinct as Record<string, Array<string>> | undefined) ?? {}
  const socket = message.socket as Partial<TLSSocket> | undefined
  const certificates = typeof socket?.getPeerCertificate === "function" ? peerCertificates(socket as TLSSocket) : []
  return { headers, certificates }
}

const forbidden = (user: UserInfo, a: RequestAttributes, reason: string) =>
  new Forbidden({
    user: user.name,
    verb: a.verb,
    group: a.resource?.group ?? "",
    resource: a.resource?.resource ?? "",
    subresource: a.resource?.subresource ?? "",
    namespace: a.resource?.namespace ?? "",
    name: a.resource?.name ?? "",
    path: a.path,
    reason
  })

export interface Guarded {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly route: Route
  /** The Node request (IncomingMessage) the credentials come from. */
  readonly source: unknown
}

/**
 * The guard of one server: its in-flight counters live as long as it does. Wraps a request's
 * handling in the checks above; failures are ApiErrors, answered as Status like any other.
 */
export const makeGuard = (options: SecurityOptions) => {
  const inflight = { reading: 0, mutating: 0 }
  return <A, R>(request: Guarded, handle: Effect.Effect<A, ApiError, R>): Effect.Effect<A, ApiError, R | Authenticator | Authorizer> => {
    const longRunning = isLongRunning(request.method, request.route, request.query)
    const checked = Effect.gen(function*() {
      const credentials = credentialsOf(request.source)
      const authenticated = yield* (yield* Authenticator).authenticate(credentials)
      const authorizer = yield* Authorizer
      const user = (yield* impersonated(authenticated, credentials, authorizer.authorize, forbidden)) ?? authenticated
      const attributes = requestAttributes(request.method, request.path, request.route, request.query)
      const decision = yield* authorizer.authorize(user, attributes)
      if (!decision.allowed) return yield* forbidden(user, attributes, decision.reason)
      return user
    })
    if (longRunning) return Effect.andThen(checked, handle)
    const kind = mutatingMethods.has(request.method) ? "mutating" : "reading"
    const limit = kind === "mutating" ? options.maxMutatingRequestsInflight : options.maxRequestsInflight
    return Effect.gen(function*() {
      const user = yield* Effect.suspend(() => checked)
      // system:masters is exempt, as in kube, so an administrator can always get in.
      if (limit <= 0 || user.groups.includes(mastersGroup)) return yield* handle
      return yield* Effect.acquireUseRelease(
        Effect.suspend(() => {
          if (inflight[kind] >= limit) return Effect.fail(new TooManyRequests({ retryAfterSeconds: 1 }))
          inflight[kind]++
          return Effect.void
        }),
        () => handle,
        () => Effect.sync(() => void inflight[kind]--)
      )
    }).pipe(withTimeout(options, request.source))
  }
}

/**
 * kube's timeout filter: the client gets a 504 at the deadline while the handler runs on until it
 * ends or the connection closes (its in-flight slot with it). Interrupting it at the deadline
 * would abort a half-read request body, which destroys the connection before any answer is written.
 */
const withTimeout = (options: SecurityOptions, source: unknown) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.forkDetach(self), (fiber) => {
    const socket = (source as Partial<IncomingMessage> | undefined)?.socket
    if (socket !== undefined && socket !== null) {
      const onClose = () => fiber.interruptUnsafe()
      socket.once("close", onClose)
      fiber.addObserver(() => socket.off("close", onClose))
    }
    return Effect.timeoutOrElse(Fiber.join(fiber), {
      duration: options.requestTimeout,
      orElse: () => Effect.fail(new RequestTimeout({ message: timeoutMessage }))
    })
  })
