/**
 * What the verbs share in reading a request (kube's rest.go): the request, its negotiated
 * representation, checked query options and selectors, and a write's decoded, validated body.
 */
import { Effect, Result } from "effect"
import { parseJson, parseYaml } from "../../domain/decode.ts"
import { defaultAdmission, validateAdmission } from "../../domain/admission.ts"
import { checkObject, normalizeForAdmission, unknownFieldMessage, validateObject } from "../../domain/kinds.ts"
import type { KubeObject } from "../../domain/object.ts"
import { isRecord } from "../../domain/object.ts"
import type { ResourceInfo } from "../../domain/registry.ts"
import { groupVersionOf } from "../../domain/registry.ts"
import type { FieldRequirement, LabelRequirement } from "../../domain/selectors.ts"
import { parseFieldSelector, parseLabelSelector } from "../../domain/selectors.ts"
import { validateObjectMeta } from "../../domain/validation.ts"
import type { ApiError } from "../../services/errors.ts"
import { BadRequest, Invalid, NotAcceptable } from "../../services/errors.ts"
import { bodyType, negotiate, patchTypes } from "./media.ts"

export interface ResourceRequest {
  readonly method: string
  readonly info: ResourceInfo
  readonly namespace: string | undefined
  readonly name: string | undefined
  readonly subresource: "status" | undefined
  readonly query: URLSearchParams
  /** Addressed through the legacy `/watch/` path prefix. */
  readonly watch: boolean
  readonly accept: string | undefined
  readonly contentType: string | undefined
  /** Names the field manager of a write that gives no `fieldManager`. */
  readonly userAgent: string | undefined
  /** The request body as text; read only by verbs that take one. */
  readonly body: Effect.Effect<string, ApiError>
  /** Drops the client's connection (a watch ended as too slow: a client that does not read never sees the end). */
  readonly closeConnection: () => void
  /**
   * Writes bytes of a streaming response at once, bypassing its stream, when the response has
   * started and holds next to nothing unsent; false otherwise (absent: never).
   */
  readonly writeNow?: (bytes: Uint8Array) => boolean
}

export const apiVersionOf = (info: ResourceInfo) => groupVersionOf(info.group, info.version)

/** kube's checkName: a body's name (as it reads) that is not the URL's. */
export const nameMismatch = (name: string, onUrl: string) =>
  new BadRequest({ message: `the name of the object (${name}) does not match the name on the URL (${onUrl})` })

/** kube's checkName: a body's namespace (as it reads) that is not the URL's. */
export const namespaceMismatch = (namespace: string, onUrl: string) =>
  new BadRequest({ message: `the namespace of the object (${namespace}) does not match the namespace on the URL (${onUrl})` })

export const representation = (req: ResourceRequest) => {
  const rep = negotiate(req.accept, { table: true, partial: true })
  return rep === undefined
    ? Effect.fail(new NotAcceptable({ message: `only the following media types are accepted: application/json, application/yaml` }))
    : Effect.succeed(rep)
}

/** Query parameters that must be one of a set of values, as kube validates them. */
export const oneOf = <A extends string>(query: URLSearchParams, name: string, allowed: ReadonlyArray<A>, fallback: A) =>
  Effect.suspend(() => {
    const v = query.get(name)
    if (v === null || v === "") return Effect.succeed(fallback)
    return (allowed as ReadonlyArray<string>).includes(v)
      ? Effect.succeed(v as A)
      : Effect.fail(new BadRequest({ message: `invalid ${name} "${v}": must be one of ${allowed.map((a) => `"${a}"`).join(", ")}` }))
  })

export const dryRunOf = (query: URLSearchParams, fromBody?: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const values = [...query.getAll("dryRun"), ...(fromBody ?? [])]
    const bad = values.find((v) => v !== "All")
    return bad !== undefined
      ? Effect.fail(new BadRequest({ message: `Invalid dryRun value "${bad}": supported values: "All"` }))
      : Effect.succeed(values.length > 0)
  })

export const parseBody = (text: string, contentType: string | undefined) =>
  Effect.suspend((): Effect.Effect<unknown, BadRequest> => {
    const type = bodyType(contentType)
    try {
      return Effect.succeed(type === "application/yaml" || type === patchTypes.apply ? parseYaml(text) : parseJson(text))
    } catch (e) {
      return Effect.fail(new BadRequest({ message: `the body of the request could not be decoded: ${e instanceof Error ? e.message : String(e)}` }))
    }
  })

/**
 * A create/update body as kube's decoder sees it: an object of this kind and version, in the
 * URL's namespace and (for updates) with the URL's name; then pruned and validated per fieldValidation.
 */
export const decodeObject = (req: ResourceRequest, text: string) =>
  Effect.gen(function*() {
    const info = req.info
    const raw = yield* parseBody(text, req.contentType)
    if (!isRecord(raw)) return yield* new BadRequest({ message: "the body of the request must be a JSON object" })
    const apiVersion = raw["apiVersion"]
    const kind = raw["kind"]
    if (apiVersion !== undefined && apiVersion !== apiVersionOf(info)) {
      return yield* new BadRequest({
        message: `the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(info)})`
      })
    }
    if (kind !== undefined && kind !== info.kind) {
      return yield* new BadRequest({ message: `the kind in the data (${String(kind)}) does not match the expected kind (${info.kind})` })
    }
    const metadata = raw["metadata"] ?? {}
    if (!isRecord(metadata)) return yield* new BadRequest({ message: "metadata must be an object" })
    const ns = metadata["namespace"]
    if (info.namespaced) {
      if (ns !== undefined && ns !== "" && req.namespace !== undefined && ns !== req.namespace) {
        return yield* new BadRequest({ message: "the namespace of the provided object does not match the namespace sent on the request" })
      }
    }
    const obj: KubeObject = {
      ...raw,
      apiVersion: apiVersionOf(info),
      kind: info.kind,
      metadata: { ...metadata, ...(info.namespaced ? { namespace: req.namespace ?? (ns as string | undefined) } : {}) }
    }
    if (!info.namespaced) delete obj.metadata.namespace
    if (req.name !== undefined && obj.metadata.name !== undefined && obj.metadata.name !== req.name) {
      return yield* nameMismatch(String(obj.metadata.name), req.name)
    }
    return yield* validated(req, obj)
  })

/** Schema validation with kube's fieldValidation: Strict rejects unknown fields, Warn reports them, Ignore drops them. */
export const validated = (req: ResourceRequest, obj: KubeObject) =>
  Effect.gen(function*() {
    const mode = yield* oneOf(req.query, "fieldValidation", ["Strict", "Warn", "Ignore"], "Warn")
    const first = normalizeForAdmission(req.info, obj)
    // kube's order: Ark's mutating admission sees the defaulted object, the schema is checked
    // after it, then validating admission. /status writes skip admission (upstream's webhooks too).
    const admitted = req.subresource === "status" ? first.pruned : defaultAdmission(req.info, first.pruned)
    const result = admitted === first.pruned
      ? { ...first, causes: checkObject(req.info, first.pruned) }
      : { ...validateObject(req.info, admitted), unknownFields: first.unknownFields }
    // Metadata and schema problems are reported together, as kube does.
    const causes = [
      ...validateObjectMeta(obj.metadata, { namespaced: req.info.namespaced, requireName: false }),
      ...result.causes
    ]
    const admission = causes.length > 0 || req.subresource === "status" ? { causes: [], warnings: [] } : validateAdmission(req.info, result.pruned)
    causes.push(...admission.causes)
    if (mode === "Strict" && result.unknownFields.length > 0) {
      return yield* new BadRequest({
        message: `${req.info.kind} in version "${req.info.version}" cannot be handled as a ${req.info.kind}: strict decoding error: ${
          result.unknownFields.map(unknownFieldMessage).join(", ")
        }`
      })
    }
    if (causes.length > 0) {
      return yield* new Invalid({ kind: req.info.kind, group: req.info.group, name: obj.metadata.name ?? "", causes })
    }
    const warnings = [...(mode === "Warn" ? result.unknownFields.map(unknownFieldMessage) : []), ...admission.warnings]
    return { object: result.pruned, warnings }
  })

export const selectors = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const label = req.query.get("labelSelector") ?? ""
    const field = req.query.get("fieldSelector") ?? ""
    const labels = parseLabelSelector(label)
    if (Result.isFailure(labels)) return yield* new BadRequest({ message: `unable to parse requirement: ${labels.failure}` })
    const supported = req.info.namespaced ? ["metadata.name", "metadata.namespace"] : ["metadata.name"]
    const fields = parseFieldSelector(field, supported)
    if (Result.isFailure(fields)) return yield* new BadRequest({ message: fields.failure })
    return { labels: labels.success as ReadonlyArray<LabelRequirement>, fields: fields.success as ReadonlyArray<FieldRequirement> }
  })
