/**
 * kube's impersonation (`kubectl --as`, `--as-group`, `--as-uid`, client-go's Impersonate
 * config): the authenticated user asks to act as another, each asked identity is authorized as
 * the verb `impersonate` (users, serviceaccounts, groups, uids, userextras), and the request then
 * runs as the impersonated user. Behind kube-apiserver the aggregator has done this already and
 * sends no Impersonate-* headers.
 */
import { Effect } from "effect"
import type { Credentials, UserInfo } from "../../services/Authenticator.ts"
import type { Authorizer, RequestAttributes } from "../../services/Authorizer.ts"
import { BadRequest } from "../../services/errors.ts"
import type { Forbidden } from "../../services/errors.ts"

const extraPrefix = "impersonate-extra-"
const serviceAccountPrefix = "system:serviceaccount:"

/** The resource an impersonation asks for, as kube's WithImpersonation names it. */
const impersonating = (resource: string, name: string, group = "", subresource = "", namespace = ""): RequestAttributes => ({
  verb: "impersonate",
  path: "",
  resource: { group, version: "", resource, subresource, namespace, name }
})

/** The user the request runs as, or undefined when it asks for no impersonation. */
export const impersonated = (
  user: UserInfo,
  credentials: Credentials,
  authorize: Authorizer["Service"]["authorize"],
  refuse: (user: UserInfo, attributes: RequestAttributes, reason: string) => Forbidden
) =>
  Effect.gen(function*() {
    const headers = credentials.headers
    const name = headers["impersonate-user"]?.[0]
    const groups = headers["impersonate-group"] ?? []
    const uid = headers["impersonate-uid"]?.[0]
    const extra: Record<string, ReadonlyArray<string>> = {}
    for (const header in headers) {
      if (header.startsWith(extraPrefix)) extra[decodeURIComponent(header.slice(extraPrefix.length))] = headers[header]!
    }
    if (name === undefined) {
      if (groups.length > 0 || uid !== undefined || Object.keys(extra).length > 0) {
        return yield* new BadRequest({ message: "requested impersonation of groups, uid or extra fields without impersonating a user" })
      }
      return undefined
    }
    const serviceAccount = name.startsWith(serviceAccountPrefix) ? name.slice(serviceAccountPrefix.length).split(":") : undefined
    const asked: Array<RequestAttributes> = [
      serviceAccount !== undefined && serviceAccount.length === 2
        ? impersonating("serviceaccounts", serviceAccount[1]!, "", "", serviceAccount[0]!)
        : impersonating("users", name),
      ...groups.map((g) => impersonating("groups", g)),
      ...(uid !== undefined ? [impersonating("uids", uid)] : []),
      ...Object.entries(extra).flatMap(([key, values]) => values.map((v) => impersonating("userextras", v, "authentication.k8s.io", key)))
    ]
    for (const attributes of asked) {
      const decision = yield* authorize(user, attributes)
      if (!decision.allowed) return yield* refuse(user, attributes, decision.reason)
    }
    const authenticated = name === "system:anonymous" ? [] : ["system:authenticated"]
    const accounts = serviceAccount !== undefined && serviceAccount.length === 2
      ? ["system:serviceaccounts", `system:serviceaccounts:${serviceAccount[0]}`]
      : []
    return {
      name,
      uid: uid ?? "",
      groups: [...new Set([...groups, ...accounts, ...authenticated])],
      extra
    } satisfies UserInfo
  })
