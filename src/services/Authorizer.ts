/**
 * May this user do this: the authorization contract, over kube's request attributes
 * (authorizer.Attributes) so a SubjectAccessReview can ask kube-apiserver the same question.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { UserInfo } from "./Authenticator.ts"
import type { Unavailable } from "./errors.ts"

export interface ResourceAttributes {
  readonly group: string
  readonly version: string
  readonly resource: string
  /** "" when the request addresses the resource itself. */
  readonly subresource: string
  /** "" for cluster-scoped resources and requests across all namespaces. */
  readonly namespace: string
  /** "" for list, watch of a collection, create and deletecollection. */
  readonly name: string
}

export interface RequestAttributes {
  /** kube's verb: get, list, watch, create, update, patch, delete, deletecollection (non-resource: the lower-case method). */
  readonly verb: string
  readonly path: string
  /** Absent for non-resource requests (discovery, OpenAPI, /version). */
  readonly resource?: ResourceAttributes
}

export interface Decision {
  readonly allowed: boolean
  /** Why, as the authorizer words it (appended to kube's 403 message when not empty). */
  readonly reason: string
}

export class Authorizer extends Context.Service<Authorizer, {
  /** Unavailable when the authorizer could not be asked (the request is then refused, not allowed). */
  readonly authorize: (user: UserInfo, attributes: RequestAttributes) => Effect.Effect<Decision, Unavailable>
}>()("ark-effect/services/Authorizer") {}
