/**
 * The authorizers `ark serve` chooses from: always allow (`--auth off`, `--insecure-http`),
 * authenticated users (standalone: whoever holds a certificate of our CA), and delegation to
 * kube-apiserver through SubjectAccessReview (in a cluster). Members of system:masters are always
 * allowed, as kube's privileged-group authorizer does.
 */
import type { KubeConfig } from "@kubernetes/client-node"
import { Cache, Duration, Effect, Exit, Layer } from "effect"
import type { UserInfo } from "../../services/Authenticator.ts"
import { mastersGroup } from "../../services/Authenticator.ts"
import type { Decision, RequestAttributes } from "../../services/Authorizer.ts"
import { Authorizer } from "../../services/Authorizer.ts"
import { Unavailable } from "../../services/errors.ts"
import { subjectAccessReview } from "./KubeApi.ts"

const allow: Decision = { allowed: true, reason: "" }

export const alwaysAllow = Layer.succeed(Authorizer, Authorizer.of({ authorize: () => Effect.succeed(allow) }))

const isMaster = (user: UserInfo) => user.groups.includes(mastersGroup)

/** Any authenticated user may do anything: standalone, where only our own CA's certificates authenticate. */
export const authenticatedUsers = Layer.succeed(
  Authorizer,
  Authorizer.of({
    authorize: (user) =>
      Effect.succeed(
        user.groups.includes("system:unauthenticated") ? { allowed: false, reason: "anonymous requests are not allowed" } : allow
      )
  })
)

/** kube's delegated authorizer defaults (--authorization-webhook-cache-{authorized,unauthorized}-ttl). */
export interface SubjectAccessReviewOptions {
  readonly allowedTtl: Duration.Duration
  readonly deniedTtl: Duration.Duration
}

const defaultTtls: SubjectAccessReviewOptions = { allowedTtl: Duration.seconds(10), deniedTtl: Duration.seconds(10) }

/** The SubjectAccessReview spec kube's webhook authorizer sends for these attributes. */
const reviewSpec = (user: UserInfo, a: RequestAttributes) => ({
  user: user.name,
  ...(user.uid === "" ? {} : { uid: user.uid }),
  groups: [...user.groups],
  extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])),
  ...(a.resource === undefined
    ? { nonResourceAttributes: { path: a.path, verb: a.verb } }
    : { resourceAttributes: { ...a.resource, verb: a.verb } })
})

/**
 * Asks kube-apiserver, caching allowed and denied answers separately; failures to ask are not
 * cached and refuse the request (503) rather than allow it.
 */
export const subjectAccessReviews = (kc: KubeConfig, ttls: SubjectAccessReviewOptions = defaultTtls) =>
  Layer.effect(
    Authorizer,
    Effect.gen(function*() {
      const review = yield* subjectAccessReview(kc)
      const decisions = yield* Cache.makeWith(
        (key: string) =>
          review(JSON.parse(key)).pipe(
            Effect.map((r): Decision => ({
              allowed: r.status?.allowed === true && r.status.denied !== true,
              reason: r.status?.reason ?? ""
            })),
            Effect.tapError((e) => Effect.logWarning("authorization not decided", e.message)),
            Effect.mapError(() => new Unavailable({ message: "the authorizer could not be reached; try again later" }))
          ),
        {
          capacity: 16384,
          timeToLive: (exit) => (Exit.isSuccess(exit) ? (exit.value.allowed ? ttls.allowedTtl : ttls.deniedTtl) : Duration.zero)
        }
      )
      return Authorizer.of({
        authorize: (user, attributes) =>
          isMaster(user) ? Effect.succeed(allow) : Cache.get(decisions, JSON.stringify(reviewSpec(user, attributes)))
      })
    })
  )
