/**
 * Ark's admission beyond the structural schema, as upstream's webhooks apply it
 * (ark/internal/validation): defaulting (the mutating webhook) and validation (the validating
 * webhook). Each kind's rules are its own (kinds/<kind>.ts, named by its registry entry); this
 * module runs them. Pure functions: the API server runs them inline on every write, and the
 * `webhook` module serves them as AdmissionReview webhooks for the etcd/CRD configuration.
 *
 * Differences from upstream, on purpose: rules that need other objects (does the target Agent
 * exist? does the Secret have the key?) are the controller's status conditions here, so that
 * admission never depends on the order in which objects are applied; and problems are reported
 * as kube field causes (all of them, not just the first).
 */
import { checkDuration, migrationWarningPrefix, record } from "./kinds/admissionRules.ts"
import type { Found } from "./kinds/admissionRules.ts"
import type { KubeObject, StatusCause } from "./object.ts"
import { isRecord } from "./object.ts"
import type { ResourceInfo } from "./registry.ts"

/**
 * The validating webhook: causes (the write is refused with 422 Invalid) and warnings (the write
 * goes through; clients print them). Expects an object that passed schema validation.
 */
export const validateAdmission = (info: ResourceInfo, obj: KubeObject): { readonly causes: ReadonlyArray<StatusCause>; readonly warnings: ReadonlyArray<string> } => {
  const found: Found = { causes: [], warnings: [] }
  // A deleting object is past admission (upstream skips it too): its finalizers must be removable.
  if (obj.metadata.deletionTimestamp !== undefined) return found
  const spec = record(obj.spec) ?? {}
  info.admission?.validate?.(spec, found, obj)
  // Kinds without a spec (core Secrets, ConfigMaps) have only their own rules.
  if (info.spec === undefined) return found
  // Every kind that polls an endpoint names the interval as a Go duration.
  checkDuration(found.causes, "spec.pollInterval", spec["pollInterval"])
  for (const [key, value] of Object.entries(obj.metadata.annotations ?? {}).sort(([a], [b]) => a < b ? -1 : 1)) {
    if (key.startsWith(migrationWarningPrefix)) found.warnings.push(value)
  }
  return found
}

/**
 * The mutating webhook (upstream's ApplyDefaults): a new object, the input untouched. Migrations
 * of deprecated spellings leave a migration-warning annotation that validation turns into a warning.
 */
export const defaultAdmission = (info: ResourceInfo, obj: KubeObject): KubeObject => {
  const defaults = info.admission?.defaults
  const spec = record(obj.spec)
  if (obj.metadata.deletionTimestamp !== undefined || defaults === undefined) return obj
  // A kind with a spec is defaulted only when the object has one (its schema reports a missing one).
  if (info.spec !== undefined && spec === undefined) return obj
  return defaults(obj, spec ?? {})
}

export type JsonPatchOperation =
  | { readonly op: "add" | "replace"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string }

const pointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1")

/**
 * The RFC 6902 patch that turns `before` into `after` (objects compared key by key, anything
 * else replaced whole): what a mutating webhook returns.
 */
export const jsonPatchBetween = (before: unknown, after: unknown, path = ""): ReadonlyArray<JsonPatchOperation> => {
  if (JSON.stringify(before) === JSON.stringify(after)) return []
  if (!isRecord(before) || !isRecord(after)) return [{ op: "replace", path, value: after }]
  const ops: Array<JsonPatchOperation> = []
  for (const key of Object.keys(before)) {
    if (!(key in after)) ops.push({ op: "remove", path: `${path}/${pointer(key)}` })
  }
  for (const [key, value] of Object.entries(after)) {
    ops.push(...(key in before ? jsonPatchBetween(before[key], value, `${path}/${pointer(key)}`) : [{ op: "add" as const, path: `${path}/${pointer(key)}`, value }]))
  }
  return ops
}
