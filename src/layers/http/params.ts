/**
 * Query parameters read as kube-apiserver reads them into its options structs (ListOptions,
 * DeleteOptions, PatchOptions): booleans, integers and resourceVersions, each refused with a
 * 400 when it is not one, so a client's typo is reported instead of silently meaning "false".
 */
import { Effect } from "effect"
import { isResourceVersion, maxInt64 } from "../../domain/lifecycle.ts"
import { BadRequest, Invalid } from "../../services/errors.ts"

const trueForms = new Set(["1", "t", "T", "TRUE", "true", "True"])
const falseForms = new Set(["0", "f", "F", "FALSE", "false", "False"])

/** Go's strconv.ParseBool; undefined for anything it refuses. */
export const parseBool = (v: string): boolean | undefined => trueForms.has(v) ? true : falseForms.has(v) ? false : undefined

/** Whether a boolean parameter is set: true only for a true form (absent, empty and malformed are not). */
export const isSet = (query: URLSearchParams, name: string): boolean => parseBool(query.get(name) ?? "") === true

/**
 * A boolean parameter: absent or empty is undefined, a ParseBool form its value, anything else
 * a 400 (Python's client sends `True`; a `maybe` is a mistake, not a "false").
 */
export const boolParam = (query: URLSearchParams, name: string) =>
  Effect.suspend((): Effect.Effect<boolean | undefined, BadRequest> => {
    const v = query.get(name)
    if (v === null || v === "") return Effect.succeed(undefined)
    const b = parseBool(v)
    return b === undefined
      ? Effect.fail(new BadRequest({ message: `invalid ${name} "${v}": strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax` }))
      : Effect.succeed(b)
  })

/** A decimal int64 as Go's strconv.ParseInt(v, 10, 64) reads it (an optional sign, digits). */
export const parseInt64 = (v: string): bigint | undefined => {
  if (!/^[+-]?\d{1,19}$/.test(v)) return undefined
  const n = BigInt(v)
  return n > maxInt64 || n < -maxInt64 - 1n ? undefined : n
}

/** An int64 parameter (timeoutSeconds, gracePeriodSeconds): absent or empty is undefined, else it must parse. */
export const int64Param = (query: URLSearchParams, name: string) =>
  Effect.suspend((): Effect.Effect<bigint | undefined, BadRequest> => {
    const v = query.get(name)
    if (v === null || v === "") return Effect.succeed(undefined)
    const n = parseInt64(v)
    return n === undefined
      ? Effect.fail(new BadRequest({ message: `invalid ${name} "${v}": strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax` }))
      : Effect.succeed(n)
  })

/**
 * A resourceVersion as kube's storage reads one: "" or a decimal uint64 within int64 (every
 * store's revisions are int64); anything else, a 400 before any store sees it.
 */
export const resourceVersionParam = (query: URLSearchParams) =>
  Effect.suspend((): Effect.Effect<string, BadRequest> => {
    const rv = query.get("resourceVersion") ?? ""
    return rv === "" || isResourceVersion(rv)
      ? Effect.succeed(rv)
      : Effect.fail(new BadRequest({ message: `invalid resource version "${rv}"` }))
  })

/** One ListOptions problem, as kube's field.Forbidden/NotSupported cause. */
export interface ListOptionsCause {
  readonly reason: "FieldValueForbidden" | "FieldValueNotSupported"
  readonly field: string
  readonly message: string
}

/** kube's field.Forbidden: its message starts with "Forbidden: ", as the Status shows it. */
export const forbiddenOption = (field: string, detail: string): ListOptionsCause => ({ reason: "FieldValueForbidden", field, message: `Forbidden: ${detail}` })

/** kube's answer to ListOptions that fail ValidateListOptions: 422 Invalid of kind ListOptions, every cause listed. */
export const invalidListOptions = (causes: ReadonlyArray<ListOptionsCause>) =>
  new Invalid({ kind: "ListOptions", group: "meta.k8s.io", name: "", causes })
