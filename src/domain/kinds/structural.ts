/**
 * Kubernetes structural schemas derived from Effect schemas.
 *
 * kube-apiserver handles a custom resource with its CRD's structural schema: it prunes unknown
 * fields, drops nulls, applies defaults, then validates. We keep the Effect schema as the single
 * source of truth and derive the same structural schema from its AST, so one walker gives us kube's
 * pruning/defaulting/validation semantics (and messages) and the OpenAPI we publish.
 *
 * Only the AST shapes the Ark kinds use are supported; anything else throws on first conversion
 * (the kinds tests convert every registered kind, so that never reaches a request).
 */
import { SchemaAST } from "effect"
import { isRecord, type StatusCause } from "../object.ts"

export type StructuralType = "object" | "array" | "string" | "integer" | "number" | "boolean"

/** The OpenAPI v3 subset kube allows in CRDs; also the JSON we publish, so field names are OpenAPI's. */
export interface Structural {
  readonly description?: string
  /** Absent only for untyped, preserve-unknown-fields values. */
  readonly type?: StructuralType
  readonly format?: string
  readonly enum?: ReadonlyArray<string>
  readonly default?: unknown
  readonly minLength?: number
  readonly maxLength?: number
  readonly minItems?: number
  readonly pattern?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly properties?: Readonly<Record<string, Structural>>
  readonly required?: ReadonlyArray<string>
  readonly items?: Structural
  readonly additionalProperties?: Structural
  readonly "x-kubernetes-preserve-unknown-fields"?: true
  readonly "x-kubernetes-map-type"?: string
  readonly "x-kubernetes-list-type"?: string
  readonly "x-kubernetes-list-map-keys"?: ReadonlyArray<string>
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const passThroughAnnotations = ["x-kubernetes-map-type", "x-kubernetes-list-type"] as const

/** Reads the constraint a built-in Effect check stands for, from its `representation` annotation. */
const applyCheck = (out: Mutable<Structural>, check: SchemaAST.Check<unknown>): void => {
  if (check._tag === "FilterGroup") {
    check.checks.forEach((inner) => applyCheck(out, inner))
    return
  }
  const representation = check.annotations?.representation
  const payload = (representation?.payload ?? {}) as Record<string, number | string>
  switch (representation?.id) {
    case "effect/schema/isInt":
      out.type = "integer"
      return
    case "effect/schema/isMinLength":
      // The same Effect check bounds a string's length and a list's size.
      if (out.type === "array") out.minItems = payload["minLength"] as number
      else out.minLength = payload["minLength"] as number
      return
    case "effect/schema/isMaxLength":
      out.maxLength = payload["maxLength"] as number
      return
    case "effect/schema/isPattern":
      // RegExp#source escapes "/", which Go's RE2 does not need; keep upstream's spelling.
      out.pattern = (payload["source"] as string).replaceAll("\\/", "/")
      return
    case "effect/schema/isGreaterThanOrEqualTo":
      out.minimum = payload["minimum"] as number
      return
    case "effect/schema/isLessThanOrEqualTo":
      out.maximum = payload["maximum"] as number
      return
    default:
      throw new Error(`structural schema: unsupported check ${String(representation?.id)}`)
  }
}

const isStringLiteral = (ast: SchemaAST.AST): ast is SchemaAST.Literal & { readonly literal: string } =>
  SchemaAST.isLiteral(ast) && typeof ast.literal === "string"

/** The type-specific part of a node: type, enum, children. */
const shape = (ast: SchemaAST.AST): Mutable<Structural> => {
  switch (ast._tag) {
    case "String":
      return { type: "string" }
    case "Number":
      return { type: "number" }
    case "Boolean":
      return { type: "boolean" }
    case "Unknown":
      return { "x-kubernetes-preserve-unknown-fields": true }
    case "Literal":
    case "Union": {
      const members = SchemaAST.isUnion(ast) ? ast.types : [ast]
      if (!members.every(isStringLiteral)) break
      return { type: "string", enum: members.map((member) => member.literal) }
    }
    case "Arrays": {
      if (ast.elements.length > 0 || ast.rest.length !== 1) break
      return { type: "array", items: toStructural(ast.rest[0]) }
    }
    case "Objects": {
      const [index, ...moreIndexes] = ast.indexSignatures
      if (index === undefined) {
        const properties = Object.fromEntries(
          ast.propertySignatures.map((ps) => [String(ps.name), toStructural(ps.type)])
        )
        const required = ast.propertySignatures.filter((ps) => !SchemaAST.isOptional(ps.type)).map((ps) =>
          String(ps.name)
        )
        return {
          type: "object",
          ...(ast.propertySignatures.length > 0 ? { properties } : {}),
          ...(required.length > 0 ? { required } : {})
        }
      }
      if (moreIndexes.length > 0 || ast.propertySignatures.length > 0 || !SchemaAST.isString(index.parameter)) break
      // A record of Unknown is upstream's `type: object` + x-kubernetes-preserve-unknown-fields.
      return SchemaAST.isUnknown(index.type)
        ? { type: "object", "x-kubernetes-preserve-unknown-fields": true }
        : { type: "object", additionalProperties: toStructural(index.type) }
    }
  }
  throw new Error(`structural schema: unsupported schema ${ast._tag}`)
}

const cache = new WeakMap<SchemaAST.AST, Structural>()

/** Converts (once per AST node) an Effect schema AST to its structural schema. */
export const toStructural = (ast: SchemaAST.AST): Structural => {
  const cached = cache.get(ast)
  if (cached !== undefined) return cached
  // Annotating a schema that has checks annotates its last check (see Schema.resolveAnnotations).
  const annotations = { ...ast.annotations, ...ast.checks?.at(-1)?.annotations }
  const out: Mutable<Structural> = {}
  if (typeof annotations.description === "string") out.description = annotations.description
  Object.assign(out, shape(ast))
  ast.checks?.forEach((check) => applyCheck(out, check))
  if (typeof annotations.format === "string") out.format = annotations.format
  if (annotations.default !== undefined) out.default = annotations.default
  for (const key of passThroughAnnotations) {
    const value = annotations[key]
    if (typeof value === "string") out[key] = value
  }
  const mapKeys = annotations["x-kubernetes-list-map-keys"]
  if (Array.isArray(mapKeys)) out["x-kubernetes-list-map-keys"] = mapKeys.map(String)
  cache.set(ast, out)
  return out
}

const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`)

const preservesUnknown = (s: Structural) => s["x-kubernetes-preserve-unknown-fields"] === true

/**
 * How a body is normalized: a stored object gets kube's null removal and defaulting; a server-side
 * apply configuration is only pruned, since its nulls and absent fields say what its manager owns.
 */
export type NormalizeMode = "object" | "applyConfiguration"

/**
 * kube's request decoding: drop fields the schema does not know (recording their paths as kube's
 * pruning does, e.g. `spec.tools[0].foo`), drop nulls, and apply defaults of absent fields.
 * Returns a new value; the input is not modified.
 */
export const normalize = (
  s: Structural,
  value: unknown,
  path: string,
  unknown: Array<string>,
  mode: NormalizeMode = "object"
): unknown => {
  if (Array.isArray(value)) {
    const items = s.items
    return items === undefined ? value : value.map((item, i) => normalize(items, item, `${path}[${i}]`, unknown, mode))
  }
  if (!isRecord(value) || s.type !== "object" && !preservesUnknown(s)) return value
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    const childSchema = s.properties?.[key] ?? s.additionalProperties
    if (childSchema === undefined) {
      if (preservesUnknown(s)) out[key] = child
      else unknown.push(join(path, key))
    } else if (child !== null) {
      out[key] = normalize(childSchema, child, join(path, key), unknown, mode)
    } else if (mode === "applyConfiguration") {
      out[key] = null
    }
  }
  if (mode === "object") {
    for (const [key, property] of Object.entries(s.properties ?? {})) {
      // A default that is an object or list is copied, so no two objects share it; scalars need no copy.
      const d = property.default
      if (out[key] === undefined && d !== undefined) out[key] = typeof d === "object" && d !== null ? structuredClone(d) : d
    }
  }
  return out
}

type JsonType = StructuralType | "null"

const jsonType = (value: unknown): JsonType => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "array"
  switch (typeof value) {
    case "string":
      return "string"
    case "boolean":
      return "boolean"
    case "number":
      return Number.isInteger(value) ? "integer" : "number"
    default:
      return "object"
  }
}

/** Go's `%v`/`%q` rendering of a bad value in kube's field error messages. */
const goValue = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : String(value))

/** kube's field.Invalid: "Invalid value: <v>: <path> in body <detail>". */
const invalid = (path: string, value: unknown, detail: string, reason = "FieldValueInvalid"): StatusCause => ({
  reason,
  field: path,
  message: `Invalid value: ${goValue(value)}: ${path} in body ${detail}`
})

/** RFC 3339 date-time, as kube-openapi's `date-time` format checker accepts it. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

const patterns = new Map<string, RegExp>()
const compiled = (pattern: string) => {
  let re = patterns.get(pattern)
  if (re === undefined) patterns.set(pattern, re = new RegExp(pattern, "u"))
  return re
}

const validateString = (s: Structural, value: string, path: string, causes: Array<StatusCause>) => {
  if (s.format === "date-time" && !DATE_TIME.test(value)) {
    causes.push(invalid(path, value, `must be of type date-time: ${JSON.stringify(value)}`, "FieldValueTypeInvalid"))
  }
  // kube-openapi counts runes, not UTF-16 units.
  const length = [...value].length
  if (s.maxLength !== undefined && length > s.maxLength) {
    causes.push({ reason: "FieldValueTooLong", field: path, message: `Too long: may not be more than ${s.maxLength} bytes` })
  }
  if (s.minLength !== undefined && length < s.minLength) {
    causes.push(invalid(path, value, `should be at least ${s.minLength} chars long`))
  }
  if (s.pattern !== undefined && !compiled(s.pattern).test(value)) {
    causes.push(invalid(path, value, `should match '${s.pattern}'`))
  }
  if (s.enum !== undefined && !s.enum.includes(value)) {
    causes.push({
      reason: "FieldValueNotSupported",
      field: path,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`
    })
  }
}

const validateNumber = (s: Structural, value: number, path: string, causes: Array<StatusCause>) => {
  if (s.minimum !== undefined && value < s.minimum) {
    causes.push(invalid(path, value, `should be greater than or equal to ${s.minimum}`))
  }
  if (s.maximum !== undefined && value > s.maximum) {
    causes.push(invalid(path, value, `should be less than or equal to ${s.maximum}`))
  }
}

/**
 * kube's CRD schema validation (kube-openapi + apiextensions' error mapping): every violation, with
 * kube's field paths (`spec.tools[0].type`), reasons and messages. Run it on a normalized value.
 */
export const validate = (s: Structural, value: unknown, path: string, causes: Array<StatusCause>): void => {
  if (s.type === undefined) return
  const actual = jsonType(value)
  if (actual !== s.type && !(s.type === "number" && actual === "integer")) {
    causes.push(invalid(path, actual, `must be of type ${s.type}: ${JSON.stringify(actual)}`, "FieldValueTypeInvalid"))
    return
  }
  if (typeof value === "string") validateString(s, value, path, causes)
  else if (typeof value === "number") validateNumber(s, value, path, causes)
  else if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) {
      causes.push(invalid(path, value.length, `should have at least ${s.minItems} items`))
    }
    const items = s.items
    if (items !== undefined) value.forEach((item, i) => validate(items, item, `${path}[${i}]`, causes))
  } else if (isRecord(value)) {
    for (const key of s.required ?? []) {
      if (value[key] === undefined) causes.push({ reason: "FieldValueRequired", field: join(path, key), message: "Required value" })
    }
    for (const [key, child] of Object.entries(value)) {
      const childSchema = s.properties?.[key] ?? s.additionalProperties
      if (childSchema !== undefined) validate(childSchema, child, join(path, key), causes)
    }
  }
}
