/**
 * Server-side printing of custom resources, as kube-apiserver answers
 * `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` and `as=PartialObjectMetadata(List)`
 * (apiextensions-apiserver tableconvertor + apiserver handlers/response.go asTable).
 *
 * The shapes here are what Go's encoding/json writes for the meta/v1 types, so the HTTP layer can
 * serialize them as they are: `format`, `description` and `priority` are always present on column
 * definitions, a row's `object` is `null` for includeObject=None (RawExtension has no omitzero),
 * and an empty PartialObjectMetadataList has `items: null` (a nil Go slice).
 */
import { Result } from "effect"
import { evaluate, type JsonPath, parse, printValue } from "./jsonpath.ts"
import { timestamp } from "./lifecycle.ts"
import { isRecord, type KubeObject, type ObjectMeta } from "./object.ts"
import type { PrinterColumn } from "./registry.ts"

/** One CRD `additionalPrinterColumns` entry (structurally the kinds registry's printer column). */
export type { PrinterColumn }

export interface TableColumnDefinition {
  readonly name: string
  readonly type: string
  readonly format: string
  readonly description: string
  readonly priority: number
}

export type IncludeObject = "None" | "Metadata" | "Object"

/** The meta.k8s.io version the client negotiated; kube serves Tables and partial metadata in both. */
export type MetaVersion = "v1" | "v1beta1"

export interface TableRow {
  readonly cells: ReadonlyArray<unknown>
  /** PartialObjectMetadata, the whole object, or null, per includeObject. */
  readonly object: unknown
}

export interface ListMeta {
  readonly resourceVersion?: string
  readonly continue?: string
  readonly remainingItemCount?: number
}

export interface Table {
  readonly kind: "Table"
  readonly apiVersion: `meta.k8s.io/${MetaVersion}`
  readonly metadata: ListMeta
  readonly columnDefinitions: ReadonlyArray<TableColumnDefinition>
  readonly rows: ReadonlyArray<TableRow>
}

export interface PartialObjectMetadata {
  readonly kind: "PartialObjectMetadata"
  readonly apiVersion: `meta.k8s.io/${MetaVersion}`
  readonly metadata: ObjectMeta
}

export interface PartialObjectMetadataList {
  readonly kind: "PartialObjectMetadataList"
  readonly apiVersion: `meta.k8s.io/${MetaVersion}`
  readonly metadata: ListMeta
  readonly items: ReadonlyArray<PartialObjectMetadata> | null
}

/** metav1.ObjectMeta's swagger docs, which kube uses as the Name and default Age descriptions. */
const NAME_DESCRIPTION =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
const CREATION_TIMESTAMP_DESCRIPTION =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"

/** apiextensions' serveDefaultColumnsIfEmpty: a CRD version without printer columns shows Age. */
const AGE_COLUMN: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: CREATION_TIMESTAMP_DESCRIPTION
}

const NAME_COLUMN: TableColumnDefinition = {
  name: "Name",
  type: "string",
  format: "name",
  description: NAME_DESCRIPTION,
  priority: 0
}

interface Compiled {
  readonly column: PrinterColumn
  readonly path: JsonPath
}

/**
 * The columns kube actually serves: defaults applied, then cut at the first unparseable path,
 * because tableconvertor.New returns the convertor built so far together with its error and the
 * CRD handler serves it anyway.
 */
const compile = (columns: ReadonlyArray<PrinterColumn>): ReadonlyArray<Compiled> => {
  const out: Array<Compiled> = []
  for (const column of columns.length > 0 ? columns : [AGE_COLUMN]) {
    const path = parse(column.jsonPath)
    if (Result.isFailure(path)) break
    out.push({ column, path: path.success })
  }
  return out
}

export const tableColumns = (columns: ReadonlyArray<PrinterColumn>): ReadonlyArray<TableColumnDefinition> => [
  NAME_COLUMN,
  ...compile(columns).map(({ column }) => ({
    name: column.name,
    type: column.type,
    format: column.format ?? "",
    description: column.description !== undefined && column.description !== ""
      ? column.description
      : `Custom resource definition column (in JSONPath format): ${column.jsonPath}`,
    priority: column.priority ?? 0
  }))
]

const daysIn = (month: number, year: number): number =>
  month === 2
    ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28)
    : [4, 6, 9, 11].includes(month)
    ? 30
    : 31

/** Epoch milliseconds of a proleptic-Gregorian UTC date (Date.UTC maps years 0-99 to 19xx). */
const utcMillis = (y: number, mo: number, d: number, h: number, mi: number, s: number): number => {
  const date = new Date(0)
  date.setUTCFullYear(y, mo - 1, d)
  date.setUTCHours(h, mi, s, 0)
  return date.getTime()
}

/** Go's zero time.Time, 0001-01-01T00:00:00Z, which kube prints as `<unknown>`. */
const ZERO_TIME = utcMillis(1, 1, 1, 0, 0, 0)

const rfc3339Re = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/

/**
 * metav1.Time.UnmarshalQueryParameter: "" and "null" are the zero time, anything else must be
 * RFC 3339 (Go's strict parser: two-digit fields in range, `.` fraction, `Z` or `±hh:mm`).
 * Epoch milliseconds, fractional below a millisecond; undefined when invalid.
 */
const parseTime = (s: string): number | undefined => {
  if (s === "" || s === "null") return ZERO_TIME
  const m = rfc3339Re.exec(s)
  if (m === null) return undefined
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const [tzH, tzM] = [Number(m[9] ?? 0), Number(m[10] ?? 0)]
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 || tzH > 23 || tzM > 59) {
    return undefined
  }
  const nanos = Number((m[7] ?? "").slice(0, 9).padEnd(9, "0"))
  const offset = (m[8] === "-" ? -1 : 1) * (tzH * 60 + tzM) * 60_000
  return utcMillis(y, mo, d, h, mi, sec) - offset + nanos / 1e6
}

/** time.Duration bounds, where Go's time.Sub saturates. */
const MAX_DURATION_MS = (2 ** 63 - 1) / 1e6

/**
 * k8s.io/apimachinery/pkg/util/duration.HumanDuration of a duration in milliseconds: about two
 * significant units, `<invalid>` for more than a second in the future (clock skew tolerance).
 */
export const humanDuration = (ms: number): string => {
  const seconds = Math.trunc(ms / 1000)
  if (seconds < -1) return "<invalid>"
  if (seconds < 0) return "0s"
  if (seconds < 60 * 2) return `${seconds}s`
  const minutes = Math.trunc(ms / 60_000)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 60 * 3) return `${minutes}m`
  const hours = Math.trunc(ms / 3_600_000)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  const days = Math.trunc(hours / 24)
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${days}d` : `${days}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${days}d`
  const years = Math.trunc(days / 365)
  if (hours < 24 * 365 * 8) {
    const dy = days % 365
    return dy === 0 ? `${years}y` : `${years}y${dy}d`
  }
  return `${years}y`
}

/** tableconvertor's cellForJSONValue for the non-string column types. */
const typedCell = (type: PrinterColumn["type"], value: unknown, now: number): unknown => {
  switch (type) {
    case "integer":
      return typeof value === "number" ? Math.trunc(value) : null
    case "number":
      return typeof value === "number" ? value : null
    case "boolean":
      return typeof value === "boolean" ? value : null
    case "date": {
      if (typeof value !== "string") return null
      const t = parseTime(value)
      if (t === undefined) return "<invalid>"
      if (t === ZERO_TIME) return "<unknown>"
      return humanDuration(Math.min(Math.max(now - t, -MAX_DURATION_MS), MAX_DURATION_MS))
    }
    case "string":
      return printValue(value)
  }
}

/** The cell of one column: the first selected value only, or null when nothing is selected. */
const cell = ({ column, path }: Compiled, obj: KubeObject, now: number): unknown => {
  const results = evaluate(path, obj)
  return results.length === 0 ? null : typedCell(column.type, results[0], now)
}

const nonEmptyString = (u: unknown): string | undefined => typeof u === "string" && u !== "" ? u : undefined
const int64 = (u: unknown): number | undefined => typeof u === "number" && Number.isInteger(u) ? u : undefined

/** metav1.Time's JSON: UTC at second precision; absent when unparseable or zero (omitzero). */
const timeField = (u: unknown): string | undefined => {
  const t = typeof u === "string" ? parseTime(u) : undefined
  if (t === undefined || t === ZERO_TIME) return undefined
  return timestamp(t)
}

/** Unstructured's NestedStringMap: any non-string value makes the whole map unreadable. */
const stringMap = (u: unknown): Record<string, string> | undefined =>
  isRecord(u) && Object.keys(u).length > 0 && Object.values(u).every((v) => typeof v === "string")
    ? u as Record<string, string>
    : undefined

const stringSlice = (u: unknown): Array<string> | undefined =>
  Array.isArray(u) && u.length > 0 && u.every((v) => typeof v === "string") ? u : undefined

/** Unstructured's GetOwnerReferences: a non-object entry drops them all; missing strings are "". */
const ownerReferences = (u: unknown): ObjectMeta["ownerReferences"] => {
  if (!Array.isArray(u) || u.length === 0 || !u.every(isRecord)) return undefined
  return u.map((r) => {
    const text = (k: string) => typeof r[k] === "string" ? r[k] : ""
    return {
      apiVersion: text("apiVersion"),
      kind: text("kind"),
      name: text("name"),
      uid: text("uid"),
      ...(typeof r.controller === "boolean" ? { controller: r.controller } : {}),
      ...(typeof r.blockOwnerDeletion === "boolean" ? { blockOwnerDeletion: r.blockOwnerDeletion } : {})
    }
  })
}

/** Drops undefined members, as Go's omitempty drops empty ones. */
const defined = <A extends Record<string, unknown>>(a: A): A =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as A

/**
 * meta.AsPartialObjectMetadata over an unstructured object: only ObjectMeta's own fields, read
 * through Unstructured's typed getters, in Go struct order.
 */
export const partialObjectMetadata = (obj: KubeObject, version: MetaVersion = "v1"): PartialObjectMetadata => {
  const m: Record<string, unknown> = isRecord(obj.metadata) ? obj.metadata : {}
  const generation = int64(m.generation)
  return {
    kind: "PartialObjectMetadata",
    apiVersion: `meta.k8s.io/${version}`,
    metadata: defined({
      name: nonEmptyString(m.name),
      generateName: nonEmptyString(m.generateName),
      namespace: nonEmptyString(m.namespace),
      selfLink: nonEmptyString(m.selfLink),
      uid: nonEmptyString(m.uid),
      resourceVersion: nonEmptyString(m.resourceVersion),
      generation: generation === 0 ? undefined : generation,
      creationTimestamp: timeField(m.creationTimestamp),
      deletionTimestamp: timeField(m.deletionTimestamp),
      deletionGracePeriodSeconds: int64(m.deletionGracePeriodSeconds),
      labels: stringMap(m.labels),
      annotations: stringMap(m.annotations),
      ownerReferences: ownerReferences(m.ownerReferences),
      finalizers: stringSlice(m.finalizers),
      managedFields: Array.isArray(m.managedFields) && m.managedFields.length > 0 ? m.managedFields : undefined
    })
  }
}

/** ListMeta with Go's omitempty: empty strings dropped, remainingItemCount kept when set. */
const listMetadata = (meta: ListMeta): ListMeta =>
  defined({
    resourceVersion: nonEmptyString(meta.resourceVersion),
    continue: nonEmptyString(meta.continue),
    remainingItemCount: meta.remainingItemCount
  })

export const partialObjectMetadataList = (
  objs: ReadonlyArray<KubeObject>,
  listMeta: ListMeta,
  version: MetaVersion = "v1"
): PartialObjectMetadataList => ({
  kind: "PartialObjectMetadataList",
  apiVersion: `meta.k8s.io/${version}`,
  metadata: listMetadata(listMeta),
  items: objs.length === 0 ? null : objs.map((obj) => partialObjectMetadata(obj, version))
})

const rowObject = (obj: KubeObject, includeObject: IncludeObject, version: MetaVersion): unknown => {
  switch (includeObject) {
    case "None":
      return null
    case "Metadata":
      return partialObjectMetadata(obj, version)
    case "Object":
      return obj
  }
}

const rowOf = (
  compiled: ReadonlyArray<Compiled>,
  obj: KubeObject,
  includeObject: IncludeObject,
  version: MetaVersion,
  now: number
): TableRow => ({
  cells: [typeof obj.metadata?.name === "string" ? obj.metadata.name : "", ...compiled.map((c) => cell(c, obj, now))],
  object: rowObject(obj, includeObject, version)
})

/**
 * One object's row. `version` is the negotiated meta.k8s.io version, which the attached
 * PartialObjectMetadata carries; `now` (epoch ms) is what date columns measure ages against.
 */
export const tableRow = (
  columns: ReadonlyArray<PrinterColumn>,
  obj: KubeObject,
  includeObject: IncludeObject,
  version: MetaVersion = "v1",
  now: number = Date.now()
): TableRow => rowOf(compile(columns), obj, includeObject, version, now)

/**
 * The Table for a list (or, with the object's resourceVersion as listMeta, for a single object,
 * as kube's convertor reads it through CommonAccessor).
 */
export const table = (
  columns: ReadonlyArray<PrinterColumn>,
  objects: ReadonlyArray<KubeObject>,
  listMeta: ListMeta,
  includeObject: IncludeObject,
  version: MetaVersion = "v1",
  now: number = Date.now()
): Table => {
  const compiled = compile(columns)
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${version}`,
    metadata: listMetadata(listMeta),
    columnDefinitions: tableColumns(columns),
    rows: objects.map((obj) => rowOf(compiled, obj, includeObject, version, now))
  }
}
