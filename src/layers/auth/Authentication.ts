/**
 * kube-apiserver's authentication chain (pkg/authentication/request/union) as one Authenticator:
 * front-proxy request headers, then client certificates, then bearer tokens (TokenReview), then
 * anonymous. As in kube, the first authenticator that succeeds wins; credentials that fail (a
 * certificate from an unknown CA, a rejected token) refuse the request even when anonymous
 * access is on; only a request with no credentials at all is anonymous.
 */
import type { KubeConfig } from "@kubernetes/client-node"
import { Cache, Effect, Exit, Layer } from "effect"
import type { X509Certificate } from "node:crypto"
import type { Credentials, UserInfo } from "../../services/Authenticator.ts"
import { anonymousUser, Authenticator } from "../../services/Authenticator.ts"
import { Unauthorized } from "../../services/errors.ts"
import { chainsTo, subjectValues } from "./certificates.ts"
import { tokenReview } from "./KubeApi.ts"

/** kube's --requestheader-* settings. */
export interface FrontProxyOptions {
  readonly ca: ReadonlyArray<X509Certificate>
  /** Common names a front-proxy certificate may carry; empty allows any the CA signed (as kube). */
  readonly allowedNames: ReadonlyArray<string>
  readonly usernameHeaders: ReadonlyArray<string>
  readonly groupHeaders: ReadonlyArray<string>
  readonly extraHeaderPrefixes: ReadonlyArray<string>
}

/** Which certificates the server trusts; it may change while the server runs (a CA rotation). */
export interface Trust {
  /** Trust identity headers from proxies with these certificates; undefined: never. */
  readonly frontProxy: FrontProxyOptions | undefined
  /** CAs whose client certificates authenticate as CN (user) and O (groups); empty: none. */
  readonly clientCa: ReadonlyArray<X509Certificate>
}

export interface AuthenticationOptions {
  /** Read for every request, so a new CA applies to the next one. */
  readonly trust: Effect.Effect<Trust>
  /** Where to send bearer tokens for review; undefined: tokens authenticate nobody. */
  readonly tokenReview: KubeConfig | undefined
  /** Let requests without credentials through as system:anonymous (refused with 401 otherwise). */
  readonly anonymous: boolean
}

/** One authenticator of the chain: a user, no opinion (undefined), or a refusal of the credentials. */
type Step = (credentials: Credentials) => Effect.Effect<UserInfo | undefined, Unauthorized>

const refuse = (message: string) => Effect.fail(new Unauthorized({ message }))

const first = (credentials: Credentials, names: ReadonlyArray<string>) => {
  for (const name of names) {
    const value = credentials.headers[name.toLowerCase()]?.find((v) => v !== "")
    if (value !== undefined) return value
  }
  return undefined
}

/** kube's requestheader authenticator behind its x509 verifier (x509request.NewVerifier). */
const frontProxy = (o: FrontProxyOptions): Step => (credentials) => {
  if (credentials.certificates.length === 0) return Effect.succeed(undefined)
  if (!chainsTo(credentials.certificates, o.ca)) return refuse("the client certificate is not signed by the front-proxy CA")
  const cn = subjectValues(credentials.certificates[0]!, "CN")[0] ?? ""
  if (o.allowedNames.length > 0 && !o.allowedNames.includes(cn)) {
    return refuse(`the front-proxy certificate's common name "${cn}" is not an allowed name`)
  }
  const name = first(credentials, o.usernameHeaders)
  if (name === undefined) return Effect.succeed(undefined)
  const groups = o.groupHeaders.flatMap((h) => credentials.headers[h.toLowerCase()] ?? [])
  const extra: Record<string, Array<string>> = {}
  for (const [header, values] of Object.entries(credentials.headers)) {
    const prefix = o.extraHeaderPrefixes.find((p) => header.startsWith(p.toLowerCase()))
    if (prefix === undefined) continue
    // kube path-unescapes the key (extra keys may hold any character) and lower-cases it
    let key: string
    try {
      key = decodeURIComponent(header.slice(prefix.length)).toLowerCase()
    } catch {
      continue
    }
    ;(extra[key] ??= []).push(...values)
  }
  return Effect.succeed({ name, uid: "", groups, extra })
}

/** kube's x509 authenticator with CommonNameUserConversion. */
const clientCertificate = (ca: ReadonlyArray<X509Certificate>): Step => (credentials) => {
  if (credentials.certificates.length === 0) return Effect.succeed(undefined)
  if (!chainsTo(credentials.certificates, ca)) return refuse("the client certificate is not signed by a trusted CA")
  const leaf = credentials.certificates[0]!
  const name = subjectValues(leaf, "CN")[0] ?? ""
  if (name === "") return refuse("the client certificate has no common name")
  return Effect.succeed({ name, uid: "", groups: subjectValues(leaf, "O"), extra: {} })
}

/** Reviews are cached this long, as kube's delegated authentication does (authenticated or not). */
const tokenCacheTtl = "10 seconds"

/** Bearer tokens reviewed by kube-apiserver (TokenReview); failures to ask are not cached. */
const bearerToken = (kc: KubeConfig) =>
  Effect.gen(function*() {
    const review = yield* tokenReview(kc)
    const reviews = yield* Cache.makeWith(
      (token: string) =>
        review(token).pipe(
          Effect.map((r): UserInfo | undefined =>
            r.status?.authenticated === true && r.status.user?.username !== undefined
              ? {
                name: r.status.user.username,
                uid: r.status.user.uid ?? "",
                groups: r.status.user.groups ?? [],
                extra: r.status.user.extra ?? {}
              }
              : undefined
          )
        ),
      { capacity: 4096, timeToLive: (exit) => (Exit.isSuccess(exit) ? tokenCacheTtl : 0) }
    )
    const step: Step = (credentials) => {
      const header = credentials.headers["authorization"]?.[0]
      const m = header === undefined ? null : /^bearer\s+(\S+)\s*$/i.exec(header)
      if (m === null) return Effect.succeed(undefined)
      return Cache.get(reviews, m[1]!).pipe(
        Effect.catch((e) =>
          Effect.logWarning("bearer token not reviewed", e.message).pipe(Effect.andThen(refuse("the token could not be reviewed")))
        ),
        Effect.flatMap((user) => (user === undefined ? refuse("invalid bearer token") : Effect.succeed(user)))
      )
    }
    return step
  })

/**
 * kube's AuthenticatedGroupAdder: every authenticated user is in system:authenticated, which the
 * default RBAC (system:discovery, system:basic-user) is bound to. The aggregator fetches OpenAPI as
 * `system:aggregator` with no groups; without the group it is refused and kubectl explain finds
 * nothing of Ark in kube-apiserver's merged OpenAPI.
 */
const withAuthenticatedGroup = (user: UserInfo): UserInfo =>
  user.groups.includes("system:authenticated") || user.groups.includes("system:unauthenticated")
    ? user
    : { ...user, groups: [...user.groups, "system:authenticated"] }

export const layer = (o: AuthenticationOptions): Layer.Layer<Authenticator> =>
  Layer.effect(
    Authenticator,
    Effect.gen(function*() {
      const token = o.tokenReview === undefined ? undefined : yield* bearerToken(o.tokenReview)
      return Authenticator.of({
        authenticate: Effect.fnUntraced(function*(credentials) {
          const trust = yield* o.trust
          const steps: Array<Step> = []
          if (trust.frontProxy !== undefined) steps.push(frontProxy(trust.frontProxy))
          if (trust.clientCa.length > 0) steps.push(clientCertificate(trust.clientCa))
          if (token !== undefined) steps.push(token)
          let failure: Unauthorized | undefined
          for (const step of steps) {
            const outcome = yield* Effect.result(step(credentials))
            if (outcome._tag === "Success" && outcome.success !== undefined) return withAuthenticatedGroup(outcome.success)
            if (outcome._tag === "Failure") failure ??= outcome.failure
          }
          if (failure !== undefined) return yield* failure
          if (o.anonymous) return anonymousUser
          return yield* new Unauthorized({ message: "no credentials" })
        })
      })
    })
  )
