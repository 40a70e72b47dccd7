/**
 * DeleteOptions of a DELETE (and deletecollection) as kube reads them: from the body when there
 * is one, else from the query; types checked as Go's JSON decoder checks them (400), values as
 * ValidateDeleteOptions does (422), all before anything is deleted.
 */
import { Effect } from "effect"
import type { PropagationPolicy } from "../../domain/lifecycle.ts"
import { propagationPolicies } from "../../domain/lifecycle.ts"
import { isRecord } from "../../domain/object.ts"
import { BadRequest, Invalid } from "../../services/errors.ts"
import type { DeleteOptions } from "../../services/Storage.ts"
import { boolParam, int64Param, parseInt64 } from "./params.ts"

/** apiVersions a DeleteOptions body may name (kube accepts it from meta.k8s.io and the core group). */
const deleteOptionsVersions = ["v1", "meta.k8s.io/v1", "meta.k8s.io/v1beta1"]

/** Go's json.Unmarshal error for a field of the wrong type. */
const typeError = (field: string, value: unknown, goType: string) =>
  new BadRequest({
    message: `json: cannot unmarshal ${Array.isArray(value) ? "array" : value === null ? "null" : typeof value} into Go struct field DeleteOptions.${field} of type ${goType}`
  })

/** The options as given, before validation: what the body or query said, each maybe absent. */
interface Given {
  readonly gracePeriodSeconds?: bigint
  readonly orphanDependents?: boolean
  readonly propagationPolicy?: string
  readonly dryRun: ReadonlyArray<string>
  readonly preconditions: { readonly uid?: string; readonly resourceVersion?: string }
}

const fromQuery = (query: URLSearchParams) =>
  Effect.gen(function*() {
    const gracePeriodSeconds = yield* int64Param(query, "gracePeriodSeconds")
    const orphanDependents = yield* boolParam(query, "orphanDependents")
    const propagationPolicy = query.get("propagationPolicy") ?? ""
    return {
      ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
      ...(orphanDependents !== undefined ? { orphanDependents } : {}),
      ...(propagationPolicy !== "" ? { propagationPolicy } : {}),
      dryRun: query.getAll("dryRun"),
      preconditions: {}
    } satisfies Given
  })

const stringField = (body: Record<string, unknown>, field: string, path = field) => {
  const v = body[field]
  return v === undefined || v === null || typeof v === "string" ? Effect.succeed(v ?? undefined) : Effect.fail(typeError(path, v, "string"))
}

const fromBody = (body: unknown) =>
  Effect.gen(function*() {
    if (!isRecord(body)) return yield* new BadRequest({ message: "DeleteOptions must be an object" })
    const kind = yield* stringField(body, "kind")
    const apiVersion = yield* stringField(body, "apiVersion")
    if ((kind !== undefined && kind !== "" && kind !== "DeleteOptions") || (apiVersion !== undefined && apiVersion !== "" && !deleteOptionsVersions.includes(apiVersion))) {
      return yield* new BadRequest({ message: `decoded object cannot be converted to DeleteOptions: got ${apiVersion ?? ""}, Kind=${kind ?? ""}` })
    }
    const grace = body["gracePeriodSeconds"]
    const gracePeriodSeconds = grace === undefined || grace === null
      ? undefined
      : typeof grace === "number" && Number.isInteger(grace) ? parseInt64(String(grace)) : undefined
    if (grace !== undefined && grace !== null && gracePeriodSeconds === undefined) return yield* typeError("gracePeriodSeconds", grace, "int64")
    const orphan = body["orphanDependents"]
    if (orphan !== undefined && orphan !== null && typeof orphan !== "boolean") return yield* typeError("orphanDependents", orphan, "bool")
    const propagationPolicy = yield* stringField(body, "propagationPolicy")
    const dryRun = body["dryRun"] ?? []
    if (!Array.isArray(dryRun)) return yield* typeError("dryRun", dryRun, "[]string")
    const badDryRun = dryRun.find((d) => typeof d !== "string")
    if (badDryRun !== undefined) return yield* typeError("dryRun", badDryRun, "string")
    const pre = body["preconditions"] ?? {}
    if (!isRecord(pre)) return yield* typeError("preconditions", pre, "v1.Preconditions")
    const uid = yield* stringField(pre, "uid", "preconditions.uid")
    const resourceVersion = yield* stringField(pre, "resourceVersion", "preconditions.resourceVersion")
    return {
      ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
      ...(typeof orphan === "boolean" ? { orphanDependents: orphan } : {}),
      ...(propagationPolicy !== undefined ? { propagationPolicy } : {}),
      dryRun: dryRun as ReadonlyArray<string>,
      preconditions: { ...(uid !== undefined ? { uid } : {}), ...(resourceVersion !== undefined ? { resourceVersion } : {}) }
    } satisfies Given
  })

/** kube's ValidateDeleteOptions, as one 422 listing every problem. */
const validate = (given: Given): Effect.Effect<DeleteOptions, Invalid> => {
  const causes: Array<{ reason: string; field: string; message: string }> = []
  if (given.orphanDependents !== undefined && given.propagationPolicy !== undefined) {
    causes.push({
      reason: "FieldValueInvalid",
      field: "propagationPolicy",
      message: `Invalid value: ${JSON.stringify(given.propagationPolicy)}: orphanDependents and deletionPropagation cannot be both set`
    })
  }
  const policy = given.propagationPolicy
  if (policy !== undefined && !(propagationPolicies as ReadonlyArray<string>).includes(policy)) {
    causes.push({
      reason: "FieldValueNotSupported",
      field: "propagationPolicy",
      message: `Unsupported value: ${JSON.stringify(policy)}: supported values: ${[...propagationPolicies, "nil"].map((p) => JSON.stringify(p)).join(", ")}`
    })
  }
  for (const d of given.dryRun) {
    if (d !== "All") {
      causes.push({ reason: "FieldValueNotSupported", field: "dryRun", message: `Unsupported value: ${JSON.stringify(d)}: supported values: "All"` })
    }
  }
  if (causes.length > 0) return Effect.fail(new Invalid({ kind: "DeleteOptions", group: "meta.k8s.io", name: "", causes }))
  // orphanDependents is the deprecated spelling: true is Orphan; false asks for neither finalizer, as Background.
  const propagationPolicy: PropagationPolicy | undefined = given.orphanDependents !== undefined
    ? given.orphanDependents ? "Orphan" : "Background"
    : policy as PropagationPolicy | undefined
  return Effect.succeed({
    dryRun: given.dryRun.length > 0,
    preconditions: given.preconditions,
    ...(propagationPolicy !== undefined ? { propagationPolicy } : {})
  })
}

/**
 * The DeleteOptions of a request, from the query and the body (when there is one). Both are
 * checked; a field the body sets wins over the query's (kube reads only the body then), and a
 * dryRun in either counts, so a client that puts it in the query is never deleted for real.
 */
export const deleteOptions = <E>(query: URLSearchParams, body: Effect.Effect<unknown | undefined, E>) =>
  Effect.gen(function*() {
    const fromParams = yield* fromQuery(query)
    const parsed = yield* body
    const fromPayload = parsed === undefined ? undefined : yield* fromBody(parsed)
    return yield* validate(fromPayload === undefined ? fromParams : {
      ...fromParams,
      ...fromPayload,
      dryRun: [...fromParams.dryRun, ...fromPayload.dryRun]
    })
  })
