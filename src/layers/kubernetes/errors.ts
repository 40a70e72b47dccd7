/**
 * kube-apiserver's Status answers as the store's typed errors: the same NotFound, Conflict,
 * Invalid (with kube's causes), Expired... that PostgreSQL and etcd fail with, so the layers above
 * cannot tell which store refused.
 */
import type { StorageError } from "../../services/errors.ts"
import { AlreadyExists, BadRequest, Conflict, Expired, Invalid, NotFound, TooLarge, TooNewResourceVersion, Unavailable } from "../../services/errors.ts"
import type { StoredResource } from "../../services/Storage.ts"
import { ident } from "../storage/objectSemantics.ts"
import type { KubeAnswer } from "./KubeClient.ts"

interface KubeStatus {
  readonly kind?: string
  readonly message?: string
  readonly reason?: string
  readonly code?: number
  readonly details?: {
    readonly name?: string
    readonly uid?: string
    readonly causes?: ReadonlyArray<{ readonly reason?: string; readonly message?: string; readonly field?: string }>
  }
}

export const statusOf = (body: string): KubeStatus => {
  try {
    const parsed = JSON.parse(body) as KubeStatus
    return typeof parsed === "object" && parsed !== null ? parsed : {}
  } catch {
    return { message: body.slice(0, 500) }
  }
}

/** kube's Conflict message is `Operation cannot be fulfilled on <r> "<name>": <detail>`; the store keeps the detail. */
const conflictDetail = (message: string, name: string) => {
  const marker = `"${name}": `
  const at = message.indexOf(marker)
  return at < 0 ? message : message.slice(at + marker.length)
}

/** The typed error of a failed answer about `name` of `r`. */
export const fromStatus = (r: StoredResource, name: string, answer: KubeAnswer): StorageError => {
  const s = statusOf(answer.body)
  const message = s.message ?? `HTTP ${answer.status}`
  const named = s.details?.name ?? name
  switch (answer.status) {
    case 404:
      return new NotFound(ident(r, named))
    case 409:
      return s.reason === "AlreadyExists"
        ? new AlreadyExists(ident(r, named))
        : new Conflict({ ...ident(r, named), detail: conflictDetail(message, named) })
    case 422:
      return new Invalid({
        kind: r.kind,
        group: r.group,
        name: named,
        causes: (s.details?.causes ?? [{ reason: "FieldValueInvalid", message, field: "" }]).map((c) => ({
          reason: c.reason ?? "FieldValueInvalid",
          message: c.message ?? message,
          field: c.field ?? ""
        }))
      })
    case 410:
      return new Expired({ message })
    case 413:
      return new TooLarge({ message })
    case 400:
      return new BadRequest({ message })
    case 504:
      // A resourceVersion kube has not reached in time ("Too large resource version").
      if (s.details?.causes?.some((c) => c.reason === "ResourceVersionTooLarge") || /too large resource version/i.test(message)) {
        return new TooNewResourceVersion({ message })
      }
      return new Unavailable({ message: `kube-apiserver: ${message}` })
    default:
      // 401/403 (ark's RBAC), 5xx: the store is not usable now.
      return new Unavailable({ message: `kube-apiserver answered ${answer.status}: ${message}` })
  }
}
