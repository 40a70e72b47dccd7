/**
 * The one place where typed failures become Kubernetes `Status` objects, with kube-apiserver's
 * reasons, codes and messages, so clients (kubectl, client-go, client-node) react as they do to kube.
 */
import type { ApiError, Forbidden } from "../../services/errors.ts"

export interface StatusBody {
  readonly kind: "Status"
  readonly apiVersion: "v1"
  readonly metadata: Record<string, never>
  readonly status: "Failure" | "Success"
  readonly message: string
  readonly reason: string
  readonly details?: {
    readonly name?: string
    readonly group?: string
    readonly kind?: string
    readonly causes?: ReadonlyArray<{ readonly reason: string; readonly message: string; readonly field: string }>
    readonly retryAfterSeconds?: number
  }
  readonly code: number
}

const failure = (code: number, reason: string, message: string, details?: StatusBody["details"]): StatusBody => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  ...(details === undefined ? {} : { details }),
  code
})

/** How soon a client should try again while the store is unavailable. */
const unavailableRetrySeconds = 1

const qualified = (resource: string, group: string) => group === "" ? resource : `${resource}.${group}`

/** A cause line as kube prints it inside an Invalid message: `field: message`. */
const causeText = (c: { readonly field: string; readonly message: string }) =>
  c.field === "" ? c.message : `${c.field}: ${c.message}`

export const toStatus = (e: ApiError): StatusBody => {
  switch (e._tag) {
    case "NotFound":
      return failure(404, "NotFound", `${qualified(e.resource, e.group)} "${e.name}" not found`, {
        name: e.name,
        group: e.group,
        kind: e.resource
      })
    case "AlreadyExists":
      return failure(409, "AlreadyExists", `${qualified(e.resource, e.group)} "${e.name}" already exists`, {
        name: e.name,
        group: e.group,
        kind: e.resource
      })
    case "Conflict":
      return failure(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${qualified(e.resource, e.group)} "${e.name}": ${e.detail}`,
        { name: e.name, group: e.group, kind: e.resource }
      )
    case "FieldManagerConflict":
      return failure(409, "Conflict", e.message, { causes: e.causes })
    case "Invalid": {
      const causes = e.causes.map(causeText)
      const list = causes.length === 1 ? causes[0] : `[${causes.join(", ")}]`
      return failure(422, "Invalid", `${qualified(e.kind, e.group)} "${e.name}" is invalid: ${list}`, {
        name: e.name,
        group: e.group,
        kind: e.kind,
        causes: e.causes
      })
    }
    case "Expired":
      return failure(410, "Expired", e.message)
    case "TooLarge":
      return failure(413, "RequestEntityTooLarge", e.message)
    case "BadRequest":
      return failure(400, "BadRequest", e.message, e.causes === undefined ? undefined : { causes: e.causes })
    case "TooNewResourceVersion":
      return failure(504, "Timeout", e.message, {
        causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version", field: "" }]
      })
    case "Unavailable":
      // The store is down or restarting: clients that honour Retry-After (client-go, kubectl) come back.
      return failure(503, "ServiceUnavailable", e.message, { retryAfterSeconds: unavailableRetrySeconds })
    case "MethodNotAllowed":
      return failure(405, "MethodNotAllowed", e.message)
    case "NotAcceptable":
      return failure(406, "NotAcceptable", e.message)
    case "UnsupportedMediaType":
      return failure(415, "UnsupportedMediaType", e.message)
    case "Unauthorized":
      return unauthorized()
    case "Forbidden":
      return forbidden(e)
    case "TooManyRequests":
      return failure(429, "TooManyRequests", "Too many requests, please try again later.", {
        retryAfterSeconds: e.retryAfterSeconds
      })
    case "RequestTimeout":
      return failure(504, "Timeout", `Timeout: ${e.message}`, {})
  }
}

/** kube's forbiddenMessage and NewForbidden (responsewriters/errors.go, api/errors), word for word. */
const forbidden = (e: Forbidden): StatusBody => {
  const user = `User ${JSON.stringify(e.user)} cannot ${e.verb}`
  if (e.resource === "") {
    return failure(403, "Forbidden", `forbidden: ${user} path ${JSON.stringify(e.path)}${reasonSuffix(e.reason)}`, {})
  }
  const resource = e.subresource === "" ? e.resource : `${e.resource}/${e.subresource}`
  const scope = e.namespace === "" ? "at the cluster scope" : `in the namespace ${JSON.stringify(e.namespace)}`
  const detail = `${user} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(e.group)} ${scope}${reasonSuffix(e.reason)}`
  const subject = e.name === "" ? qualified(e.resource, e.group) : `${qualified(e.resource, e.group)} ${JSON.stringify(e.name)}`
  return failure(403, "Forbidden", `${subject} is forbidden: ${detail}`, {
    ...(e.name === "" ? {} : { name: e.name }),
    group: e.group,
    kind: e.resource
  })
}

const reasonSuffix = (reason: string) => reason === "" ? "" : `: ${reason}`

/** The Status of a failure nobody anticipated: logged, and answered without internals. */
export const internalError = (): StatusBody =>
  failure(500, "InternalError", "Internal error occurred: an unexpected failure was logged by the server")

const unauthorized = (): StatusBody => failure(401, "Unauthorized", "Unauthorized")

export const notFoundPath = (path: string): StatusBody =>
  failure(404, "NotFound", `the server could not find the requested resource (${path})`, {})
