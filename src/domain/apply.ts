/**
 * Server-side apply and field ownership, as kube-apiserver computes them (structured-merge-diff
 * driven by k8s.io/apimachinery's field manager), over the kinds' structural schemas:
 * - maps merge by key (unless `x-kubernetes-map-type: atomic`); lists by `x-kubernetes-list-type`:
 *   `atomic` (the default) replaced whole, `set` merged by value, `map` merged by
 *   `x-kubernetes-list-map-keys`;
 * - an apply merges its configuration into the live object, owns exactly the fields it sent,
 *   removes fields it applied before and no longer does when nobody else owns them, and fails
 *   with conflicts where it would change a value another manager owns (unless forced);
 * - every other write (create, update, patch) takes ownership of the fields it changes, from
 *   whoever owned them, without conflict.
 * Pure: the caller supplies the time and stores the result.
 */
import { Result } from "effect"
import type { FieldPath, FieldSet, PathElement } from "./fieldpath.ts"
import {
  builder,
  child,
  difference,
  emptySet,
  fieldElement,
  filterTop,
  fromPaths,
  goJson,
  has,
  insertInto,
  intersection,
  isEmpty,
  keyElement,
  paths,
  pathString,
  union,
  valueElement
} from "./fieldpath.ts"
import type { Structural } from "./kinds/structural.ts"
import { jsonEqual } from "./lifecycle.ts"
import type { Managed, Owned } from "./managedfields.ts"
import { describeManager, managerIdentifier } from "./managedfields.ts"
import type { KubeObject } from "./object.ts"
import { isRecord } from "./object.ts"

/** Values the schema does not describe: maps merge by key, lists are atomic (kube's deduced type). */
const untyped: Structural = { "x-kubernetes-preserve-unknown-fields": true }

const childSchema = (s: Structural, key: string): Structural => s.properties?.[key] ?? s.additionalProperties ?? untyped
const isNamedField = (s: Structural, key: string) => s.properties?.[key] !== undefined
const listType = (s: Structural) => {
  const t = s["x-kubernetes-list-type"]
  return t === "set" || t === "map" ? t : "atomic"
}
const isAtomicMap = (s: Structural) => s["x-kubernetes-map-type"] === "atomic"

type Shape = "scalar" | "list" | "map"
const shapeOf = (v: unknown): Shape => (Array.isArray(v) ? "list" : isRecord(v) ? "map" : "scalar")
const isEmptyValue = (v: unknown) => v === undefined || (Array.isArray(v) ? v.length === 0 : isRecord(v) && Object.keys(v).length === 0)

/** A value that cannot be typed by its schema (a list-map item without its key...), with kube's message. */
class SchemaMismatch extends Error {}

const isScalar = (v: unknown) => v === null || typeof v !== "object"

/** The path element of a set or list-map item. */
const itemElement = (list: Structural, item: unknown): PathElement => {
  const keys = listType(list) === "map" ? list["x-kubernetes-list-map-keys"] ?? [] : []
  if (keys.length === 0) {
    if (!isScalar(item)) throw new SchemaMismatch("associative list without keys has an element that's a map type")
    return valueElement(item)
  }
  if (!isRecord(item)) throw new SchemaMismatch("associative list with keys may not have non-map elements")
  return keyElement(keys.map((k) => {
    const v = item[k] ?? list.items?.properties?.[k]?.default
    if (v === undefined) throw new SchemaMismatch(`associative list with keys has an element that omits key field ${JSON.stringify(k)} (and doesn't have default value)`)
    if (!isScalar(v)) throw new SchemaMismatch(`associative list with keys has an element with a non-scalar key field ${JSON.stringify(k)}`)
    return [k, v] as const
  }))
}

const describePath = (path: FieldPath) => path.map((pe) => (pe.startsWith("f:") ? `.${pe.slice(2)}` : `[${pe.slice(2)}]`)).join("")

/** The fields a value sets (structured-merge-diff's ToFieldSet); `strict` rejects duplicate list items, as an apply must. */
const collectFields = (s: Structural, value: unknown, path: FieldPath, out: ReturnType<typeof builder>, strict: boolean): void => {
  switch (shapeOf(value)) {
    case "scalar":
      insertInto(out, path)
      return
    case "list": {
      if (listType(s) === "atomic") {
        insertInto(out, path)
        return
      }
      const items = value as ReadonlyArray<unknown>
      const pes = items.map((item) => itemElement(s, item))
      const counts = new Map<PathElement, number>()
      for (const pe of pes) counts.set(pe, (counts.get(pe) ?? 0) + 1)
      items.forEach((item, i) => {
        const p = [...path, pes[i]!]
        if (counts.get(pes[i]!)! > 1) {
          if (strict) throw new SchemaMismatch(`${describePath(path)}: duplicate entries for key ${pes[i]!.slice(2)}`)
        } else {
          collectFields(s.items ?? untyped, item, p, out, strict)
        }
        insertInto(out, p)
      })
      return
    }
    case "map": {
      if (isAtomicMap(s)) {
        insertInto(out, path)
        return
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const p = [...path, fieldElement(k)]
        collectFields(childSchema(s, k), v, p, out, strict)
        if (v === null || (isRecord(v) && Object.keys(v).length === 0) || !isNamedField(s, k)) insertInto(out, p)
      }
    }
  }
}

const attempt = <A>(f: () => A): Result.Result<A, string> => {
  try {
    return Result.succeed(f())
  } catch (e) {
    if (e instanceof SchemaMismatch) return Result.fail(e.message)
    throw e
  }
}

/** The set of fields a value sets under a schema. */
export const fieldSetOf = (s: Structural, value: unknown, options: { readonly strict?: boolean } = {}): Result.Result<FieldSet, string> =>
  attempt(() => {
    const out = builder()
    collectFields(s, value, [], out, options.strict ?? false)
    return out
  })

export interface Comparison {
  readonly added: FieldSet
  readonly modified: FieldSet
  readonly removed: FieldSet
}

/** What changed from `lhs` to `rhs`, field by field (structured-merge-diff's Compare). */
export const compare = (s: Structural, lhs: unknown, rhs: unknown): Result.Result<Comparison, string> =>
  attempt(() => {
    const added = builder()
    const modified = builder()
    const removed = builder()
    // One path, pushed and popped along the walk: insertInto copies what it keeps.
    const walk = (s: Structural, l: unknown, r: unknown, path: Array<PathElement>): void => {
      const leaf = () => {
        if (l === undefined) insertInto(added, path)
        else if (r === undefined) insertInto(removed, path)
        else if (!jsonEqual(l, r)) insertInto(modified, path)
      }
      const ls = l === undefined ? undefined : shapeOf(l)
      const rs = r === undefined ? undefined : shapeOf(r)
      const shape = rs ?? ls
      if ((ls !== undefined && rs !== undefined && ls !== rs) || shape === "scalar") return leaf()
      if (shape === "list") {
        if (listType(s) === "atomic" || (isEmptyValue(l) && isEmptyValue(r))) return leaf()
        const index = (list: unknown) => {
          const m = new Map<PathElement, Array<unknown>>()
          for (const item of (list ?? []) as ReadonlyArray<unknown>) {
            const pe = itemElement(s, item)
            m.set(pe, [...(m.get(pe) ?? []), item])
          }
          return m
        }
        const li = index(l)
        const ri = index(r)
        const item = (pe: PathElement) => {
          const la = li.get(pe) ?? []
          const ra = ri.get(pe) ?? []
          path.push(pe)
          const items = s.items ?? untyped
          if (la.length <= 1 && ra.length <= 1) walk(items, la[0], ra[0], path)
          else if (la.length >= 2 && ra.length >= 2) {
            if (!jsonEqual(la, ra)) insertInto(modified, path)
          } else if (la.length >= 2) {
            if (ra.length > 0) walk(items, undefined, ra[0], path)
            insertInto(removed, path)
          } else {
            if (la.length > 0) walk(items, la[0], undefined, path)
            insertInto(added, path)
          }
          path.pop()
        }
        for (const pe of li.keys()) item(pe)
        for (const pe of ri.keys()) if (!li.has(pe)) item(pe)
      } else {
        if (isAtomicMap(s) || (isEmptyValue(l) && isEmptyValue(r))) return leaf()
        const lm = (l ?? {}) as Record<string, unknown>
        const rm = (r ?? {}) as Record<string, unknown>
        const field = (k: string) => {
          path.push(fieldElement(k))
          walk(childSchema(s, k), lm[k], rm[k], path)
          path.pop()
        }
        for (const k in lm) field(k)
        for (const k in rm) if (!Object.hasOwn(lm, k)) field(k)
      }
      if (l === undefined) insertInto(added, path)
      else if (r === undefined) insertInto(removed, path)
    }
    walk(s, lhs, rhs, [])
    return { added, modified, removed }
  })

/**
 * An associative list merged as structured-merge-diff orders it: the applied items in their order,
 * live items that were not applied kept where they were relative to them.
 */
const mergeLists = (s: Structural, l: ReadonlyArray<unknown>, r: ReadonlyArray<unknown>, path: FieldPath): Array<unknown> => {
  const items = s.items ?? untyped
  const rPEs = r.map((item) => itemElement(s, item))
  const lPEs = l.map((item) => itemElement(s, item))
  const observedR = new Map<PathElement, unknown>()
  rPEs.forEach((pe, i) => {
    if (observedR.has(pe)) throw new SchemaMismatch(`${describePath(path)}: duplicate entries for key ${pe.slice(2)}`)
    observedR.set(pe, r[i])
  })
  // A duplicated live item is not merged: the applied one replaces it.
  const observedL = new Map<PathElement, unknown>()
  lPEs.forEach((pe, i) => observedL.set(pe, observedL.has(pe) ? undefined : l[i]))
  const shared = rPEs.filter((pe) => observedL.has(pe))
  let nextShared: PathElement | undefined = shared.shift()
  const mergedR = new Set<PathElement>()
  const out: Array<unknown> = []
  const mergeItem = (pe: PathElement, lv: unknown, rv: unknown) => out.push(mergeValues(items, lv, rv, [...path, pe]))
  let li = 0
  let ri = 0
  while (li < lPEs.length || ri < rPEs.length) {
    if (li < lPEs.length && ri < rPEs.length) {
      const pe = lPEs[li]!
      if (pe === rPEs[ri]) {
        mergedR.add(pe)
        mergeItem(pe, observedL.get(pe), observedR.get(pe))
        li++
        ri++
        nextShared = shared.shift()
        continue
      }
      if (observedR.has(pe) && nextShared !== undefined && nextShared !== pe) {
        li++
        continue
      }
    }
    if (li < lPEs.length) {
      const pe = lPEs[li]!
      if (!observedR.has(pe)) {
        mergeItem(pe, l[li], undefined)
        li++
        continue
      } else if (mergedR.has(pe)) {
        li++
      }
    }
    if (ri < rPEs.length) {
      const pe = rPEs[ri]!
      mergedR.add(pe)
      mergeItem(pe, observedL.get(pe), observedR.get(pe))
      ri++
      if (nextShared === pe) nextShared = shared.shift()
    }
  }
  return out
}

/** `rhs` (an apply configuration) merged into `lhs` (structured-merge-diff's Merge). */
const mergeValues = (s: Structural, l: unknown, r: unknown, path: FieldPath): unknown => {
  if (r === undefined) return l
  if (l === undefined) return r
  const shape = shapeOf(r)
  if (shapeOf(l) !== shape || shape === "scalar") return r
  if (shape === "list") {
    const la = l as ReadonlyArray<unknown>
    const ra = r as ReadonlyArray<unknown>
    return listType(s) === "atomic" || (la.length === 0 && ra.length === 0) ? r : mergeLists(s, la, ra, path)
  }
  const lm = l as Record<string, unknown>
  const rm = r as Record<string, unknown>
  if (isAtomicMap(s) || (isEmptyValue(lm) && isEmptyValue(rm))) return r
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(lm)) out[k] = k in rm ? mergeValues(childSchema(s, k), v, rm[k], [...path, fieldElement(k)]) : v
  for (const [k, v] of Object.entries(rm)) if (!(k in lm)) out[k] = v
  return out
}

export const merge = (s: Structural, live: unknown, config: unknown): Result.Result<unknown, string> =>
  attempt(() => mergeValues(s, live, config, []))

/**
 * The value without the fields in `toRemove` (structured-merge-diff's RemoveItems); a map or list
 * left empty by it disappears, as kube's null then pruning does.
 */
const removeItems = (s: Structural, value: unknown, toRemove: FieldSet): unknown => {
  if (Array.isArray(value)) {
    if (listType(s) === "atomic") return value
    const out: Array<unknown> = []
    for (const item of value) {
      const pe = itemElement(s, item)
      if (has(toRemove, [pe])) continue
      const sub = child(toRemove, pe)
      const kept = isEmpty(sub) ? item : removeItems(s.items ?? untyped, item, sub)
      if (kept !== undefined) out.push(kept)
    }
    return out.length > 0 ? out : undefined
  }
  if (!isRecord(value) || isAtomicMap(s)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    const pe = fieldElement(k)
    if (has(toRemove, [pe])) continue
    const sub = child(toRemove, pe)
    const kept = isEmpty(sub) ? v : removeItems(childSchema(s, k), v, sub)
    if (kept !== undefined) out[k] = kept
  }
  return Object.keys(out).length > 0 ? out : undefined
}

/** The set with every named (schema-declared) field on its paths as a member (EnsureNamedFieldsAreMembers). */
const withNamedFields = (s: Structural, set: FieldSet): FieldSet => {
  const members = new Set(set.members)
  const children = new Map<PathElement, FieldSet>()
  for (const [pe, c] of set.children) {
    const name = pe.startsWith("f:") ? pe.slice(2) : undefined
    if (name !== undefined && isNamedField(s, name)) members.add(pe)
    children.set(pe, withNamedFields(name !== undefined ? childSchema(s, name) : s.items ?? untyped, c))
  }
  return { members, children }
}

/** What kube never tracks: type and identity metadata (its stripMetaManager). */
const serverOwned = fromPaths([
  ["f:apiVersion"],
  ["f:kind"],
  ["f:metadata"],
  ...["name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields", "resourceVersion"].map(
    (f) => ["f:metadata", fieldElement(f)]
  )
])

/** How a write is tracked: the object's schema, the served version, the subresource written, the time. */
export interface FieldManagement {
  readonly schema: Structural
  readonly apiVersion: string
  readonly subresource: "main" | "status"
  /** RFC 3339 time of the write. */
  readonly now: string
}

/**
 * The part of the object a write may change (kube's reset fields): the main resource never
 * touches status, and /status touches nothing else (ark's status strategy keeps spec and metadata).
 */
const inScope = (fm: FieldManagement, s: FieldSet) =>
  filterTop(s, fm.subresource === "status" ? (pe) => pe === "f:status" : (pe) => pe !== "f:status")

const scopedComparison = (fm: FieldManagement, c: Comparison): Comparison => ({
  added: inScope(fm, c.added),
  modified: inScope(fm, c.modified),
  removed: inScope(fm, c.removed)
})

const subresourceOf = (fm: FieldManagement) => (fm.subresource === "status" ? "status" : undefined)

const withoutManagedFields = (obj: KubeObject): KubeObject => {
  const { managedFields: _mf, ...metadata } = obj.metadata ?? {}
  return { ...obj, metadata }
}

const withoutEmpty = (managed: Map<string, Owned>): Map<string, Owned> => {
  for (const [id, owned] of managed) if (isEmpty(owned.set)) managed.delete(id)
  return managed
}

/**
 * Ownership after a non-apply write by `manager` (kube's field manager Update): the fields the
 * write added or changed become the manager's, taken from anyone who owned them; removed fields
 * are nobody's. `live` is undefined for a create. An object whose fields were never tracked stays
 * untracked until its first apply, as in kube.
 */
export const trackUpdate = (
  fm: FieldManagement,
  live: KubeObject | undefined,
  next: KubeObject,
  managed: Managed,
  manager: string
): Result.Result<Managed, string> => {
  if (live !== undefined && (live.metadata?.uid ?? "") !== "" && managed.size === 0) return Result.succeed(managed)
  return Result.map(compare(fm.schema, withoutManagedFields(live ?? { metadata: {} }), withoutManagedFields(next)), (raw) => {
    const c = scopedComparison(fm, raw)
    const taken = union(c.modified, c.added)
    const out = new Map<string, Owned>()
    for (const [id, owned] of managed) out.set(id, { ...owned, set: difference(difference(owned.set, taken), c.removed) })
    const mine = difference(taken, serverOwned)
    if (!isEmpty(mine)) {
      const id = managerIdentifier({ manager, operation: "Update", apiVersion: fm.apiVersion, subresource: subresourceOf(fm) })
      const previous = out.get(id)
      out.set(id, {
        set: previous === undefined ? mine : union(mine, previous.set),
        apiVersion: fm.apiVersion,
        applied: false,
        time: fm.now
      })
    }
    return capUpdateManagers(withoutEmpty(out))
  })
}

/** kube keeps at most this many Update entries (DefaultMaxUpdateManagers). */
const maxUpdateManagers = 10

const epochSeconds = (time: string | undefined) => (time === undefined ? 0 : Math.floor(Date.parse(time) / 1000))

/**
 * kube's capManagersManager: beyond 10 Update entries, the oldest are merged, per API version,
 * into an "ancient-changes" entry.
 */
const capUpdateManagers = (managed: Map<string, Owned>): Managed => {
  const updaters = [...managed].filter(([, o]) => !o.applied).map(([id]) => id)
  if (updaters.length <= maxUpdateManagers) return managed
  updaters.sort((a, b) => epochSeconds(managed.get(a)!.time) - epochSeconds(managed.get(b)!.time) || (a < b ? -1 : a > b ? 1 : 0))
  const firstOfVersion = new Map<string, string>()
  let count = updaters.length
  for (const id of updaters) {
    if (count <= maxUpdateManagers) break
    const owned = managed.get(id)!
    const first = firstOfVersion.get(owned.apiVersion)
    if (first === undefined) {
      firstOfVersion.set(owned.apiVersion, id)
      continue
    }
    const bucket = managerIdentifier({ manager: "ancient-changes", operation: "Update", apiVersion: owned.apiVersion })
    if (!managed.has(bucket)) {
      managed.set(bucket, managed.get(first)!)
      managed.delete(first)
    }
    managed.set(bucket, { ...owned, set: union(owned.set, managed.get(bucket)!.set) })
    managed.delete(id)
    count--
  }
  return managed
}

export interface FieldConflict {
  /** The identifier of the manager that owns the field. */
  readonly manager: string
  readonly path: FieldPath
}

/** kube's apply conflict message: one conflict on a line, several grouped by manager (sorted by identity). */
export const conflictMessage = (conflicts: ReadonlyArray<FieldConflict>): string => {
  if (conflicts.length === 1) {
    const [c] = conflicts
    return `Apply failed with 1 conflict: conflict with ${describeManager(c!.manager)}: ${pathString(c!.path)}`
  }
  const byManager = new Map<string, Array<FieldConflict>>()
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c])
  const lines = [...byManager.keys()].sort().flatMap((m) => [
    `conflicts with ${describeManager(m)}:`,
    ...byManager.get(m)!.map((c) => `- ${pathString(c.path)}`)
  ])
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`
}

/** The Status causes of an apply conflict, one per field. */
export const conflictCauses = (conflicts: ReadonlyArray<FieldConflict>) =>
  conflicts.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with ${describeManager(c.manager)}`, field: pathString(c.path) }))

export type ApplyFailure =
  | { readonly _tag: "Conflicts"; readonly conflicts: ReadonlyArray<FieldConflict> }
  | { readonly _tag: "Invalid"; readonly message: string }

export interface Applied {
  readonly object: KubeObject
  readonly managed: Managed
}

/** The annotation kubectl's client-side apply keeps its last configuration in. */
export const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

/** The manager `kubectl apply --server-side` uses by default: the only one kube upgrades from client-side apply. */
const kubectlApplier = "kubectl"

const invalid = (message: string): ApplyFailure => ({ _tag: "Invalid", message })

/** One apply with the ownership it results in; conflicts unless forced. */
const applyOnce = (
  fm: FieldManagement,
  live: KubeObject,
  config: KubeObject,
  managed: Managed,
  id: string,
  force: boolean
): Result.Result<Applied, ApplyFailure> => {
  const merged = merge(fm.schema, live, config)
  if (Result.isFailure(merged)) return Result.fail(invalid(merged.failure))
  const configured = fieldSetOf(fm.schema, config, { strict: true })
  if (Result.isFailure(configured)) return Result.fail(invalid(configured.failure))
  const previous = managed.get(id)
  const withApplier = new Map(managed)
  withApplier.set(id, {
    set: difference(inScope(fm, configured.success), serverOwned),
    apiVersion: fm.apiVersion,
    applied: true,
    time: previous?.time
  })
  // Fields this manager applied last time and not now go, unless someone else still owns them.
  let next = merged.success as KubeObject
  if (previous !== undefined) {
    const owned = [...withApplier.values()].reduce((acc, o) => union(acc, o.set), emptySet)
    const toRemove = difference(withNamedFields(fm.schema, previous.set), withNamedFields(fm.schema, owned))
    const pruned = attempt(() => removeItems(fm.schema, next, toRemove) as KubeObject)
    if (Result.isFailure(pruned)) return Result.fail(invalid(pruned.failure))
    next = pruned.success
  }
  const compared = compare(fm.schema, live, next)
  if (Result.isFailure(compared)) return Result.fail(invalid(compared.failure))
  const c = scopedComparison(fm, compared.success)
  const changed = union(c.modified, c.added)
  const conflicts: Array<FieldConflict> = []
  const out = new Map<string, Owned>()
  for (const [other, owned] of withApplier) {
    if (other === id) {
      out.set(other, owned)
      continue
    }
    const conflicting = intersection(owned.set, changed)
    conflicts.push(...paths(conflicting).map((path) => ({ manager: other, path })))
    out.set(other, { ...owned, set: difference(difference(owned.set, conflicting), c.removed) })
  }
  if (!force && conflicts.length > 0) return Result.fail({ _tag: "Conflicts", conflicts })
  // kube stamps the applier's time only when the apply changed the object.
  if (!isEmpty(c.added) || !isEmpty(c.modified) || !isEmpty(c.removed)) out.set(id, { ...out.get(id)!, time: fm.now })
  return Result.succeed({ object: next, managed: withoutEmpty(out) })
}

/**
 * The fields kubectl's client-side apply recorded in last-applied-configuration that still have
 * those values: a `kubectl` apply may take them over without conflict (kube's lastAppliedManager).
 */
const lastAppliedFields = (fm: FieldManagement, live: KubeObject): FieldSet | undefined => {
  const text = live.metadata.annotations?.[lastAppliedAnnotation]
  if (text === undefined || text === "") return undefined
  let last: unknown
  try {
    last = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isRecord(last) || last["apiVersion"] !== fm.apiVersion) return undefined
  const set = fieldSetOf(fm.schema, last)
  const c = compare(fm.schema, last, live)
  if (Result.isFailure(set) || Result.isFailure(c)) return undefined
  return difference(difference(difference(set.success, c.success.modified), c.success.added), c.success.removed)
}

/** JSON as Go marshals a map: keys sorted, compact, with the trailing newline of its encoder. */
const sortedJson = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortedJson)
    : isRecord(value)
    ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedJson(value[k])]))
    : value

/**
 * Server-side apply of `config` by `manager` to `live` (an empty object to create one):
 * the merged object and everyone's ownership after it, or the conflicts kube reports.
 */
export const apply = (
  fm: FieldManagement,
  live: KubeObject,
  config: KubeObject,
  managed: Managed,
  manager: string,
  force: boolean
): Result.Result<Applied, ApplyFailure> => {
  const liveObject = withoutManagedFields(live)
  let current = managed
  // The first apply to an untracked object: its existing fields become "before-first-apply"'s.
  if (current.size === 0 && (live.metadata?.uid ?? "") !== "") {
    const tracked = trackUpdate(fm, undefined, liveObject, current, "before-first-apply")
    if (Result.isFailure(tracked)) return Result.fail(invalid(tracked.failure))
    current = tracked.success
  }
  const id = managerIdentifier({ manager, operation: "Apply", apiVersion: fm.apiVersion, subresource: subresourceOf(fm) })
  let result = applyOnce(fm, liveObject, config, current, id, force)
  if (manager !== kubectlApplier) return result
  // kubectl moving from client-side to server-side apply: conflicts on fields its last-applied
  // configuration still describes are not conflicts.
  if (Result.isFailure(result) && result.failure._tag === "Conflicts") {
    const allowed = lastAppliedFields(fm, liveObject)
    if (allowed !== undefined) {
      const remaining = result.failure.conflicts.filter((c) => !has(allowed, c.path))
      result = remaining.length === 0
        ? applyOnce(fm, liveObject, config, current, id, true)
        : Result.fail({ _tag: "Conflicts", conflicts: remaining })
    }
  }
  // ...and the annotation follows what kubectl applies, so a later client-side apply still works.
  return Result.map(result, ({ managed, object }) => {
    const annotations = object.metadata.annotations
    if (annotations?.[lastAppliedAnnotation] === undefined || annotations[lastAppliedAnnotation] === "") return { managed, object }
    const configAnnotations = config.metadata?.annotations
    const lastApplied: KubeObject = { ...config, metadata: { ...config.metadata } }
    if (configAnnotations !== undefined) {
      const { [lastAppliedAnnotation]: _, ...rest } = configAnnotations
      lastApplied.metadata.annotations = rest
    }
    const text = `${goJson(sortedJson(lastApplied))}\n`
    return { managed, object: { ...object, metadata: { ...object.metadata, annotations: { ...annotations, [lastAppliedAnnotation]: text } } } }
  })
}
