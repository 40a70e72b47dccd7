/**
 * Who is calling: a request's credentials (its TLS client certificate chain and headers) become a
 * user as kube-apiserver models one (user.Info), or the request is refused with 401.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { X509Certificate } from "node:crypto"
import type { Unauthorized } from "./errors.ts"

export interface UserInfo {
  readonly name: string
  readonly uid: string
  readonly groups: ReadonlyArray<string>
  readonly extra: Readonly<Record<string, ReadonlyArray<string>>>
}

export interface Credentials {
  /** Every value of each request header by lower-case name; repeated headers stay apart. */
  readonly headers: Readonly<Record<string, ReadonlyArray<string>>>
  /** The client certificate followed by the intermediates it presented; empty without one. */
  readonly certificates: ReadonlyArray<X509Certificate>
}

/** kube's names for the caller nobody vouched for. */
export const anonymousUser: UserInfo = { name: "system:anonymous", uid: "", groups: ["system:unauthenticated"], extra: {} }

/** The group kube-apiserver lets do anything (its privileged-group authorizer and in-flight exemption). */
export const mastersGroup = "system:masters"

export class Authenticator extends Context.Service<Authenticator, {
  /** The user the credentials prove; the anonymous user if they prove none and anonymous access is on. */
  readonly authenticate: (credentials: Credentials) => Effect.Effect<UserInfo, Unauthorized>
}>()("ark-effect/services/Authenticator") {}
