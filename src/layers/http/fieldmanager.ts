/**
 * Field management on the write path, as kube-apiserver's handlers do it around every create,
 * update and patch: who the manager is (the `fieldManager` parameter, else the User-Agent's
 * product), and the object's managedFields after the write. The merge and ownership rules are in
 * src/domain/apply.ts.
 */
import { Clock, Effect, Result } from "effect"
import type { FieldManagement } from "../../domain/apply.ts"
import { trackUpdate } from "../../domain/apply.ts"
import { fieldManagementSchema } from "../../domain/kinds.ts"
import { timestamp } from "../../domain/lifecycle.ts"
import type { Managed } from "../../domain/managedfields.ts"
import { decodeManagedFields, encodeManagedFields, isResetManagedFields } from "../../domain/managedfields.ts"
import type { KubeObject } from "../../domain/object.ts"
import type { ResourceInfo } from "../../domain/registry.ts"
import { groupVersionOf } from "../../domain/registry.ts"
import { Invalid } from "../../services/errors.ts"
import { boolParam } from "./params.ts"

/** kube's limit on a field manager's name, in bytes. */
const maxManagerBytes = 128

/** Go's `%q` of a string (what kube's field errors print): JSON's escapes, but `\a`, `\v` and `\xNN` for other controls. */
const goQuote = (v: string) =>
  JSON.stringify(v)
    .replace(/\\u00([0-1][0-9a-f])/g, (_, hex: string) => (hex === "07" ? "\\a" : hex === "0b" ? "\\v" : `\\x${hex}`))
    .replaceAll("\x7f", "\\x7f")

const isPrintable = (ch: string) => /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)

/** The options object kube validates the parameters of, named in its Invalid errors. */
export type WriteOptionsKind = "CreateOptions" | "UpdateOptions" | "PatchOptions"

const invalidOptions = (kind: WriteOptionsKind, causes: Invalid["causes"]) =>
  new Invalid({ kind, group: "meta.k8s.io", name: "", causes })

/**
 * The manager of a write: the validated `fieldManager` parameter or, without one, the User-Agent
 * up to its first "/" (kube's prefixFromUserAgent: printable characters, at most 128 bytes).
 */
export const writeManager = (query: URLSearchParams, userAgent: string | undefined, kind: WriteOptionsKind, apply = false) =>
  Effect.suspend(() => {
    const explicit = query.get("fieldManager") ?? ""
    const causes: Array<Invalid["causes"][number]> = []
    if (Buffer.byteLength(explicit) > maxManagerBytes) {
      causes.push({ reason: "FieldValueTooLong", field: "fieldManager", message: `Too long: may not be more than ${maxManagerBytes} bytes` })
    }
    let offset = 0 // Go reports the byte offset of the rune
    for (const ch of explicit) {
      const i = offset
      offset += Buffer.byteLength(ch)
      if (!isPrintable(ch)) {
        const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`
        causes.push({
          reason: "FieldValueInvalid",
          field: "fieldManager",
          message: `Invalid value: ${goQuote(explicit)}: invalid character ${code} (at position ${i})`
        })
      }
    }
    if (kind === "PatchOptions" && !apply && query.has("force")) {
      causes.push({ reason: "FieldValueForbidden", field: "force", message: "Forbidden: may not be specified for non-apply patch" })
    }
    if (causes.length > 0) return Effect.fail(invalidOptions(kind, causes))
    if (explicit !== "") return Effect.succeed(explicit)
    let name = ""
    for (const ch of [...(userAgent ?? "").split("/")[0]!]) {
      if (!isPrintable(ch)) continue
      if (Buffer.byteLength(name + ch) > maxManagerBytes) break
      name += ch
    }
    return Effect.succeed(name)
  })

/** The manager of an apply: `fieldManager` is required there (kube answers 422 without it). */
export const applyManager = (query: URLSearchParams) =>
  Effect.gen(function*() {
    if ((query.get("fieldManager") ?? "") === "") {
      return yield* invalidOptions("PatchOptions", [{ reason: "FieldValueRequired", field: "fieldManager", message: "Required value: is required for apply patch" }])
    }
    return yield* writeManager(query, undefined, "PatchOptions", true)
  })

/** `force`, parsed as Go's strconv.ParseBool does. */
export const forceOf = (query: URLSearchParams) => Effect.map(boolParam(query, "force"), (f) => f === true)

/** How a write to this resource (or its /status) is tracked, stamped with the current time. */
export const fieldManagement = (info: ResourceInfo, subresource: "status" | undefined) =>
  Effect.map(Clock.currentTimeMillis, (now): FieldManagement => ({
    schema: fieldManagementSchema(info),
    apiVersion: groupVersionOf(info.group, info.version),
    subresource: subresource === "status" ? "status" : "main",
    now: timestamp(now)
  }))

/** The managed fields a stored object carries; ones that cannot be read count as none. */
export const liveManaged = (live: KubeObject): Managed => {
  const decoded = decodeManagedFields(live.metadata.managedFields)
  return Result.isSuccess(decoded) ? decoded.success : new Map()
}

/** The object with this ownership as its managedFields (an empty list when nobody owns anything). */
export const withManaged = (obj: KubeObject, managed: Managed): KubeObject => ({
  ...obj,
  metadata: { ...obj.metadata, managedFields: encodeManagedFields(managed) }
})

/**
 * The object a non-apply write stores, with managedFields updated for `manager`. As kube's
 * decodeLiveOrNew: a main-resource write may set managedFields itself (`[]` resets them); otherwise
 * the live object's count. If ownership cannot be computed, the live managedFields are kept.
 */
export const trackWrite = (fm: FieldManagement, live: KubeObject | undefined, next: KubeObject, manager: string): KubeObject => {
  const requested = next.metadata.managedFields
  const fallback = live === undefined ? new Map() : liveManaged(live)
  let base: Managed = fallback
  if (fm.subresource === "main" && requested !== undefined) {
    if (isResetManagedFields(requested)) base = new Map()
    else {
      const decoded = decodeManagedFields(requested)
      if (Result.isSuccess(decoded) && decoded.success.size > 0) base = decoded.success
    }
  }
  const tracked = trackUpdate(fm, live, next, base, manager)
  return Result.isSuccess(tracked)
    ? withManaged(next, tracked.success)
    : { ...next, metadata: { ...next.metadata, managedFields: live?.metadata.managedFields ?? [] } }
}

/**
 * A status write by this server's own components (query workers, the controller), recorded as an
 * Update entry of `manager` for the status subresource, as kube records its controllers' writes.
 */
export const trackStatusWrite = (info: ResourceInfo, manager: string) => (live: KubeObject, next: KubeObject) =>
  Effect.map(fieldManagement(info, "status"), (fm) => trackWrite(fm, live, next, manager))
