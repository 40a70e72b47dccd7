/**
 * What each kind's admission is made of (kinds/<kind>.ts defines its own, the registry entry
 * names it, admission.ts runs it): the field-cause constructors and the checks several kinds
 * share (names, durations, value sources, headers, overrides, label selectors), in kube's words
 * and with upstream's rules.
 */
import { parseGoDuration } from "../duration.ts"
import type { KubeObject, StatusCause } from "../object.ts"
import { isRecord } from "../object.ts"
import { dns1123SubdomainErrors } from "../validation.ts"

/** Annotations whose values the validating webhook returns as warnings (upstream's migration notes). */
export const migrationWarningPrefix = "ark.mckinsey.com/migration-warning-"

/** One kind's part of the two webhooks. */
export interface Admission {
  /** The mutating webhook: a new object (the input untouched), or the same object when nothing changes. */
  readonly defaults?: (obj: KubeObject, spec: Json) => KubeObject
  /** The validating webhook: pushes causes (the write is refused) and warnings (it goes through). */
  readonly validate?: (spec: Json, found: Found, obj: KubeObject) => void
}

export interface Found {
  readonly causes: Array<StatusCause>
  readonly warnings: Array<string>
}

export type Json = Record<string, unknown>

export const invalid = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`
})
export const required = (field: string, detail: string): StatusCause => ({ reason: "FieldValueRequired", field, message: `Required value: ${detail}` })
export const forbidden = (field: string, detail: string): StatusCause => ({ reason: "FieldValueForbidden", field, message: `Forbidden: ${detail}` })
export const notSupported = (field: string, value: unknown, supported: ReadonlyArray<string>): StatusCause => ({
  reason: "FieldValueNotSupported",
  field,
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`
})

export const record = (v: unknown): Json | undefined => isRecord(v) ? v : undefined
export const list = (v: unknown): ReadonlyArray<unknown> => Array.isArray(v) ? v : []
export const text = (v: unknown): string | undefined => typeof v === "string" ? v : undefined

/** A reference to another object by name: a DNS-1123 subdomain, as kube names are. */
export const checkName = (causes: Array<StatusCause>, field: string, name: unknown) => {
  if (typeof name !== "string" || name === "") return causes.push(required(field, "a name is required"))
  for (const msg of dns1123SubdomainErrors(name)) causes.push(invalid(field, name, msg))
}

/** A Go duration (`30s`, `1h30m`); `positive` also refuses zero. */
export const checkDuration = (causes: Array<StatusCause>, field: string, value: unknown, positive = false) => {
  if (value === undefined) return
  const ms = typeof value === "string" ? parseGoDuration(value) : undefined
  if (ms === undefined) causes.push(invalid(field, value, `must be a duration such as "30s", "5m" or "1h30m"`))
  else if (ms < 0 || (positive && ms === 0)) causes.push(invalid(field, value, positive ? "must be a positive duration" : "must not be negative"))
}

export const sourceKeys = ["configMapKeyRef", "secretKeyRef", "serviceRef", "queryParameterRef"] as const
/** v1prealpha1 addresses have no Query parameters. */
export const addressSources = ["configMapKeyRef", "secretKeyRef", "serviceRef"] as const

/** Upstream's builtin tools, for an agent's `built-in` tools and a builtin Tool alike. */
export const builtInTools = ["noop", "terminate"]

/** `value` xor `valueFrom`, and a valueFrom names exactly one source (upstream's parameter rules). */
export const checkValueSource = (causes: Array<StatusCause>, field: string, v: Json, allowed: ReadonlyArray<string> = sourceKeys) => {
  const hasValue = typeof v["value"] === "string" && v["value"] !== ""
  const from = record(v["valueFrom"])
  if (hasValue && from !== undefined) causes.push(forbidden(field, "may not specify both value and valueFrom"))
  if (!hasValue && from === undefined) causes.push(required(field, "must specify either value or valueFrom"))
  if (from === undefined) return
  const sources = allowed.filter((k) => from[k] !== undefined)
  if (sources.length !== 1) {
    causes.push(invalid(`${field}.valueFrom`, sources, `must specify exactly one of ${allowed.join(", ")}`))
  }
  for (const k of ["configMapKeyRef", "secretKeyRef", "serviceRef"] as const) {
    const ref = record(from[k])
    if (ref !== undefined && ref["name"] !== undefined && ref["name"] !== "") checkName(causes, `${field}.valueFrom.${k}.name`, ref["name"])
  }
}

export const checkParameters = (causes: Array<StatusCause>, field: string, parameters: unknown) =>
  list(parameters).forEach((p, i) => {
    const param = record(p)
    if (param !== undefined) checkValueSource(causes, `${field}[${i}]`, param)
  })

/** Upstream's ValidateHeader: a value or a valueFrom of one Secret or ConfigMap key; `unique` also refuses repeated names (A2AServer). */
export const checkHeaders = (causes: Array<StatusCause>, field: string, headers: unknown, unique = false) => {
  const seen = new Set<unknown>()
  list(headers).forEach((h, j) => {
    const header = record(h)
    if (header === undefined) return
    if (unique && seen.has(header["name"])) causes.push({ reason: "FieldValueDuplicate", field: `${field}[${j}].name`, message: `Duplicate value: ${JSON.stringify(header["name"])}` })
    seen.add(header["name"])
    const value = record(header["value"])
    if (value !== undefined) checkValueSource(causes, `${field}[${j}].value`, value, ["configMapKeyRef", "secretKeyRef"])
  })
}

export const checkOverrides = (causes: Array<StatusCause>, field: string, overrides: unknown) =>
  list(overrides).forEach((o, i) => {
    const override = record(o)
    if (override === undefined) return
    if (list(override["headers"]).length === 0) causes.push(required(`${field}[${i}].headers`, "at least one header"))
    checkHeaders(causes, `${field}[${i}].headers`, override["headers"])
  })

/** An address is a literal value or one valueFrom source (upstream resolves it; the lookup itself is a status condition here). */
export const checkAddress = (causes: Array<StatusCause>, field: string, address: unknown, sources: ReadonlyArray<string>) => {
  const a = record(address)
  if (a !== undefined) checkValueSource(causes, field, a, sources)
}

const selectorOperators = ["In", "NotIn", "Exists", "DoesNotExist"] as const

/** metav1.LabelSelector's rules: known operators, values only (and always) for In/NotIn. */
export const checkLabelSelector = (causes: Array<StatusCause>, field: string, selector: Json) =>
  list(selector["matchExpressions"]).forEach((e, i) => {
    const expr = record(e)
    if (expr === undefined) return
    const op = expr["operator"]
    const at = `${field}.matchExpressions[${i}]`
    if (!(selectorOperators as ReadonlyArray<unknown>).includes(op)) return causes.push(notSupported(`${at}.operator`, op, selectorOperators))
    const values = list(expr["values"])
    if ((op === "In" || op === "NotIn") && values.length === 0) causes.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"))
    if ((op === "Exists" || op === "DoesNotExist") && values.length > 0) {
      causes.push(forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    }
  })

/** A migration note for the validating webhook to return as a warning. */
export const annotate = (obj: KubeObject, key: string, value: string): KubeObject => ({
  ...obj,
  metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, [key]: value } }
})
