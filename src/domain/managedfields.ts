/**
 * `metadata.managedFields` as kube-apiserver reads and writes it (k8s.io/apimachinery's
 * managedfields): one entry per manager identity (name, operation, API version for updates,
 * subresource) with the FieldsV1 set it owns, sorted as kube sorts them.
 */
import { Result } from "effect"
import type { FieldSet } from "./fieldpath.ts"
import { fromFieldsV1, goJson, toFieldsV1 } from "./fieldpath.ts"
import { isRecord } from "./object.ts"

export type Operation = "Apply" | "Update"

/** Who wrote: kube's manager identity. Appliers are one identity across API versions. */
export interface ManagerIdentity {
  readonly manager: string
  readonly operation: Operation
  /** The API version of the writes; part of the identity of Update managers only. */
  readonly apiVersion: string
  readonly subresource?: string | undefined
}

export interface Owned {
  readonly set: FieldSet
  readonly apiVersion: string
  readonly applied: boolean
  /** When the manager last changed the object (RFC 3339); absent for an apply that changed nothing. */
  readonly time?: string | undefined
}

/** Owned fields by manager identifier (managerIdentifier). */
export type Managed = ReadonlyMap<string, Owned>

export interface ManagedFieldsEntry {
  readonly manager: string
  readonly operation: Operation
  readonly apiVersion: string
  readonly time?: string
  readonly fieldsType: "FieldsV1"
  readonly fieldsV1: Record<string, unknown>
  readonly subresource?: string
}

/**
 * kube's BuildManagerIdentifier: the entry's identity fields as Go marshals them, without time,
 * fields, and (for appliers) API version. Also what conflict messages group and sort by.
 */
export const managerIdentifier = (m: ManagerIdentity): string =>
  goJson({
    manager: m.manager === "" ? "unknown" : m.manager,
    operation: m.operation,
    ...(m.operation === "Update" && m.apiVersion !== "" ? { apiVersion: m.apiVersion } : {}),
    ...(m.subresource !== undefined && m.subresource !== "" ? { subresource: m.subresource } : {})
  })

export const parseIdentifier = (identifier: string): ManagerIdentity => JSON.parse(identifier) as ManagerIdentity

/** kube's printManager, as conflict messages name a manager: `"mgr"`, with subresource and version for updaters. */
export const describeManager = (identifier: string): string => {
  const m = parseIdentifier(identifier)
  const name = `${JSON.stringify(m.manager)}${m.subresource ? ` with subresource ${JSON.stringify(m.subresource)}` : ""}`
  return m.operation === "Update" ? `${name} using ${m.apiVersion}` : name
}

/** A request's managedFields of `[]` or `[{}]` asks to reset them (kube's isResetManagedFields). */
export const isResetManagedFields = (raw: unknown): boolean =>
  Array.isArray(raw) && (raw.length === 0 || raw.length === 1 && isRecord(raw[0]) && Object.keys(raw[0]).length === 0)

/** Reads managedFields; fails on entries kube would not decode. */
export const decodeManagedFields = (raw: unknown): Result.Result<Managed, string> => {
  const out = new Map<string, Owned>()
  if (raw === undefined || raw === null) return Result.succeed(out)
  if (!Array.isArray(raw)) return Result.fail("managedFields must be a list")
  for (const [i, entry] of raw.entries()) {
    if (!isRecord(entry)) return Result.fail(`managed fields entry ${i} must be an object`)
    const operation = entry["operation"]
    if (operation !== "Apply" && operation !== "Update") return Result.fail("operation must be `Apply` or `Update`")
    const apiVersion = entry["apiVersion"]
    if (typeof apiVersion !== "string" || apiVersion === "") return Result.fail("apiVersion must not be empty")
    if (entry["fieldsType"] !== "FieldsV1") {
      return Result.fail(
        entry["fieldsType"] === undefined || entry["fieldsType"] === ""
          ? `missing fieldsType in managed fields entry ${i}`
          : `invalid fieldsType ${goJson(entry["fieldsType"])} in managed fields entry ${i}`
      )
    }
    const set = fromFieldsV1(entry["fieldsV1"] ?? {})
    if (Result.isFailure(set)) return Result.fail(`error decoding set: ${set.failure}`)
    const manager = typeof entry["manager"] === "string" ? entry["manager"] : ""
    const subresource = typeof entry["subresource"] === "string" ? entry["subresource"] : undefined
    const time = typeof entry["time"] === "string" ? entry["time"] : undefined
    out.set(managerIdentifier({ manager, operation, apiVersion, subresource }), {
      set: set.success,
      apiVersion,
      applied: operation === "Apply",
      time
    })
  }
  return Result.succeed(out)
}

const seconds = (time: string | undefined) => (time === undefined ? 0 : Math.floor(Date.parse(time) / 1000))

const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The managedFields of an object, in kube's order: appliers first, then by time, manager, version, subresource. */
export const encodeManagedFields = (managed: Managed): Array<ManagedFieldsEntry> =>
  [...managed].map(([identifier, owned]): ManagedFieldsEntry => {
    const id = parseIdentifier(identifier)
    return {
      manager: id.manager,
      operation: id.operation,
      apiVersion: owned.apiVersion,
      ...(owned.time !== undefined ? { time: owned.time } : {}),
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(owned.set),
      ...(id.subresource !== undefined ? { subresource: id.subresource } : {})
    }
  }).sort((p, q) =>
    order(p.operation, q.operation) || seconds(p.time) - seconds(q.time) || order(p.manager, q.manager) ||
    order(p.apiVersion, q.apiVersion) || order(p.subresource ?? "", q.subresource ?? "")
  )
