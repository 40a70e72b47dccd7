/**
 * The REST verbs on Ark resources (kube's generic registry handlers): get, list, create, update,
 * patch, delete, deletecollection, and the /status subresource, over the Storage service.
 */
import { Effect, Result } from "effect"
import type { Stream } from "effect"
import YAML from "yaml"
import type { FieldManagement } from "../../domain/apply.ts"
import { maxDepth, parseJson, parseYaml, withinDepth } from "../../domain/decode.ts"
import { defaultAdmission, validateAdmission } from "../../domain/admission.ts"
import { apply, conflictCauses, conflictMessage } from "../../domain/apply.ts"
import { pruneApplyConfiguration, unknownFieldMessage, validateObject } from "../../domain/kinds.ts"
import type { KubeObject } from "../../domain/object.ts"
import { isRecord, textOf } from "../../domain/object.ts"
import { applyJsonPatch, applyMergePatch } from "../../domain/patch.ts"
import type { ResourceInfo } from "../../domain/registry.ts"
import { groupVersionOf } from "../../domain/registry.ts"
import type { FieldRequirement, LabelRequirement } from "../../domain/selectors.ts"
import { parseFieldSelector, parseLabelSelector } from "../../domain/selectors.ts"
import { validateObjectMeta } from "../../domain/validation.ts"
import { partialObjectMetadata, partialObjectMetadataList, table } from "../../domain/table.ts"
import type { ApiError } from "../../services/errors.ts"
import {
  BadRequest,
  FieldManagerConflict,
  Invalid,
  MethodNotAllowed,
  NotAcceptable,
  TooLarge,
  UnsupportedMediaType
} from "../../services/errors.ts"
import type { ListOptions } from "../../services/Storage.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import { WatchHub } from "../../services/WatchHub.ts"
import { applyManager, fieldManagement, forceOf, liveManaged, trackWrite, withManaged, writeManager } from "./fieldmanager.ts"
import { watch } from "./watch.ts"
import { deleteOptions } from "./deleteOptions.ts"
import { boolParam, forbiddenOption, int64Param, invalidListOptions, parseInt64, resourceVersionParam } from "./params.ts"
import type { Representation } from "./media.ts"
import { bodyType, negotiate, patchTypes } from "./media.ts"

/** What a handler answers; the server turns it into an HTTP response (a stream for watches). */
export interface Reply {
  readonly status: number
  readonly body: string | Uint8Array | Stream.Stream<Uint8Array>
  readonly contentType: string
  readonly warnings?: ReadonlyArray<string>
}

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

const json = (status: number, body: string | Uint8Array, warnings?: ReadonlyArray<string>): Reply => ({
  status,
  body,
  contentType: "application/json",
  ...(warnings !== undefined && warnings.length > 0 ? { warnings } : {})
})

/** Renders one object in the negotiated representation. */
const renderObject = (info: ResourceInfo, rep: Representation, obj: KubeObject, status: number, warnings?: ReadonlyArray<string>, includeObject?: string): Reply => {
  switch (rep._tag) {
    case "Table":
      return json(
        status,
        JSON.stringify(withMetaVersion(
          table(info.printerColumns, [obj], { resourceVersion: obj.metadata.resourceVersion ?? "" }, includeMode(includeObject)),
          rep.version
        )),
        warnings
      )
    case "PartialObjectMetadata":
      return json(status, JSON.stringify(withMetaVersion(partialObjectMetadata(obj), rep.version)), warnings)
    case "Object":
      return rep.format === "yaml"
        ? { status, body: YAML.stringify(obj), contentType: "application/yaml", ...(warnings?.length ? { warnings } : {}) }
        : json(status, JSON.stringify(obj), warnings)
    case "Discovery":
      return json(status, JSON.stringify(obj), warnings)
  }
}

/** Table and PartialObjectMetadata have the same shape in meta.k8s.io v1 and v1beta1. */
export const withMetaVersion = <A extends { apiVersion: string }>(doc: A, version: "v1" | "v1beta1"): A => ({
  ...doc,
  apiVersion: `meta.k8s.io/${version}`
})

export const includeMode = (v: string | undefined): "None" | "Metadata" | "Object" =>
  v === "None" || v === "Object" ? v : "Metadata"

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

const dryRunOf = (query: URLSearchParams, fromBody?: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const values = [...query.getAll("dryRun"), ...(fromBody ?? [])]
    const bad = values.find((v) => v !== "All")
    return bad !== undefined
      ? Effect.fail(new BadRequest({ message: `Invalid dryRun value "${bad}": supported values: "All"` }))
      : Effect.succeed(values.length > 0)
  })

const parseBody = (text: string, contentType: string | undefined) =>
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
const decodeObject = (req: ResourceRequest, text: string) =>
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
      return yield* new BadRequest({ message: `the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${req.name})` })
    }
    return yield* validated(req, obj)
  })

/** Schema validation with kube's fieldValidation: Strict rejects unknown fields, Warn reports them, Ignore drops them. */
const validated = (req: ResourceRequest, obj: KubeObject) =>
  Effect.gen(function*() {
    const mode = yield* oneOf(req.query, "fieldValidation", ["Strict", "Warn", "Ignore"], "Warn")
    const first = validateObject(req.info, obj)
    // kube's order: Ark's mutating admission sees the defaulted object, the schema is checked
    // after it, then validating admission. /status writes skip admission (upstream's webhooks too).
    const admitted = req.subresource === "status" ? first.pruned : defaultAdmission(req.info, first.pruned)
    const result = admitted === first.pruned ? first : { ...validateObject(req.info, admitted), unknownFields: first.unknownFields }
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

/** The largest page asked of a store: more than any holds, and still exact as a JS number plus one. */
const maxListLimit = 2 ** 31

/**
 * A LIST's options, checked as kube's ValidateListOptions (for a list, not a watch) and its
 * storage do: a resourceVersionMatch needs a resourceVersion and no continue, sendInitialEvents
 * is for watches, a continue token carries its own resourceVersion.
 */
const listOptions = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const { fields, labels } = yield* selectors(req)
    const limitText = req.query.get("limit")
    // kube reads an int64; a limit beyond any store's size is the same as one at its size.
    const limitValue = limitText === null || limitText === "" ? undefined : parseInt64(limitText) ?? -1n
    if (limitValue !== undefined && limitValue < 0n) {
      return yield* new BadRequest({ message: `invalid limit "${limitText}": must be a non-negative integer` })
    }
    const limit = limitValue === undefined ? undefined : Math.min(Number(limitValue), maxListLimit)
    yield* int64Param(req.query, "timeoutSeconds")
    yield* boolParam(req.query, "allowWatchBookmarks")
    const sendInitialEvents = yield* boolParam(req.query, "sendInitialEvents")
    const match = yield* oneOf(req.query, "resourceVersionMatch", ["NotOlderThan", "Exact", ""], "")
    const resourceVersion = yield* resourceVersionParam(req.query)
    const continueToken = req.query.get("continue") ?? ""
    const causes = [
      ...(match !== "" && resourceVersion === ""
        ? [forbiddenOption("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided")]
        : []),
      ...(match !== "" && continueToken !== ""
        ? [forbiddenOption("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided")]
        : []),
      ...(sendInitialEvents !== undefined ? [forbiddenOption("sendInitialEvents", "sendInitialEvents is forbidden for list")] : [])
    ]
    if (causes.length > 0) return yield* invalidListOptions(causes)
    if (continueToken !== "" && resourceVersion !== "" && resourceVersion !== "0") {
      return yield* new BadRequest({ message: "specifying resource version is not allowed when using continue" })
    }
    const options: ListOptions = {
      ...(req.namespace !== undefined ? { namespace: req.namespace } : {}),
      labelSelector: labels,
      fieldSelector: fields,
      ...(limit !== undefined && limit > 0 ? { limit } : {}),
      ...(continueToken !== "" ? { continue: continueToken } : {}),
      resourceVersion,
      ...(match !== "" ? { resourceVersionMatch: match } : {})
    }
    return options
  })

const objects = (texts: ReadonlyArray<string>) => texts.map((t) => JSON.parse(t) as KubeObject)

const comma = Buffer.from(",")

/**
 * A list body assembled from the stored JSON of its items without parsing them: texts from
 * storage, or the hub's already encoded bytes, which are only copied.
 */
const listBody = (info: ResourceInfo, resourceVersion: string, items: ReadonlyArray<string | Uint8Array>, next: string | undefined) => {
  const parts: Array<Uint8Array> = [Buffer.from(`{"apiVersion":"${apiVersionOf(info)}","kind":"${info.listKind}","metadata":{"resourceVersion":"${resourceVersion}"${
    next === undefined ? "" : `,"continue":${JSON.stringify(next)}`
  }},"items":[`)]
  items.forEach((item, i) => {
    if (i > 0) parts.push(comma)
    parts.push(typeof item === "string" ? Buffer.from(item) : item)
  })
  parts.push(Buffer.from("]}"))
  return Buffer.concat(parts)
}

const list = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const options = yield* listOptions(req)
    // An unpaginated read of the newest state is served from the watch hub's memory.
    const fromCache = options.limit === undefined && options.continue === undefined &&
      (options.resourceVersion === "" || options.resourceVersion === "0") && options.resourceVersionMatch === undefined
    const page: { readonly resourceVersion: string; readonly continue?: string; readonly items: ReadonlyArray<string | Uint8Array> } = fromCache
      ? yield* (yield* WatchHub).list(storedResource(req.info), options)
      : yield* storage.list(storedResource(req.info), options)
    const listMeta = { resourceVersion: page.resourceVersion, ...(page.continue === undefined ? {} : { continue: page.continue }) }
    const parsed = () => objects(page.items.map((item) => typeof item === "string" ? item : textOf(item)))
    switch (rep._tag) {
      case "Table":
        return json(200, JSON.stringify(withMetaVersion(table(req.info.printerColumns, parsed(), listMeta, includeMode(req.query.get("includeObject") ?? undefined)), rep.version)))
      case "PartialObjectMetadata":
        return json(200, JSON.stringify(withMetaVersion(partialObjectMetadataList(parsed(), listMeta), rep.version)))
      case "Object":
        if (rep.format === "yaml") {
          return { status: 200, body: YAML.stringify(JSON.parse(textOf(listBody(req.info, page.resourceVersion, page.items, page.continue)))), contentType: "application/yaml" }
        }
        return json(200, listBody(req.info, page.resourceVersion, page.items, page.continue))
      case "Discovery":
        return yield* new NotAcceptable({ message: "discovery documents are served at /apis" })
    }
  })

const get = (req: ResourceRequest, name: string) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const obj = yield* storage.get(storedResource(req.info), req.namespace ?? "", name, {
      resourceVersion: yield* resourceVersionParam(req.query)
    })
    return renderObject(req.info, rep, obj, 200, undefined, req.query.get("includeObject") ?? undefined)
  })

const create = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const dryRun = yield* dryRunOf(req.query)
    const manager = yield* writeManager(req.query, req.userAgent, "CreateOptions")
    const { object, warnings } = yield* decodeObject(req, yield* req.body)
    if (req.info.namespaced && object.metadata.namespace === undefined) {
      return yield* new BadRequest({ message: "the namespace of the object must be set in the URL or the body" })
    }
    const fm = yield* fieldManagement(req.info, undefined)
    const created = yield* storage.create(storedResource(req.info), trackWrite(fm, undefined, object, manager), { dryRun })
    return renderObject(req.info, rep, created, 201, warnings)
  })

const update = (req: ResourceRequest, name: string) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const dryRun = yield* dryRunOf(req.query)
    const manager = yield* writeManager(req.query, req.userAgent, "UpdateOptions")
    const { object, warnings } = yield* decodeObject(req, yield* req.body)
    if ((object.metadata.resourceVersion ?? "") === "") {
      return yield* new Invalid({ kind: req.info.kind, group: req.info.group, name, causes: [missingResourceVersion] })
    }
    const fm = yield* fieldManagement(req.info, req.subresource)
    // Read-modify-write on the object's resourceVersion, so ownership is computed against what it replaces.
    const updated = yield* storage.guaranteedUpdate(
      storedResource(req.info),
      req.namespace ?? "",
      name,
      (current) => Effect.succeed(trackWrite(fm, current, { ...object, metadata: { ...object.metadata, name } }, manager)),
      { dryRun, subresource: fm.subresource }
    )
    return renderObject(req.info, rep, updated, 200, warnings)
  })

/** kube's answer to an update without a resourceVersion. */
const missingResourceVersion = {
  reason: "FieldValueInvalid",
  field: "metadata.resourceVersion",
  message: "Invalid value: 0x0: must be specified for an update"
}

/** Whether a patch uses strategic-merge directives (`$patch`, `$setElementOrder/...`, `$retainKeys`, ...). */
const hasDirective = (value: unknown): boolean =>
  Array.isArray(value)
    ? value.some(hasDirective)
    : isRecord(value) && Object.entries(value).some(([k, v]) => k.startsWith("$") || hasDirective(v))

/**
 * A strategic merge patch of a kind whose spec has no lists is a JSON merge patch, except for
 * the lists kube merges by key in metadata and for directives: those are refused, not misapplied.
 */
const strategicAsMerge = (patch: unknown): Effect.Effect<Record<string, unknown>, BadRequest> => {
  const meta = isRecord(patch) && isRecord(patch["metadata"]) ? patch["metadata"] : {}
  return !isRecord(patch) || hasDirective(patch) || "finalizers" in meta || "ownerReferences" in meta
    ? Effect.fail(new BadRequest({ message: "this server applies strategic merge patches without directives or metadata lists only; use a merge patch" }))
    : Effect.succeed(patch)
}

/** The patched object, from the current one, by the body's patch type. */
const applyPatch = (type: string, current: KubeObject, patch: unknown) => {
  if (type === patchTypes.strategic) {
    return strategicAsMerge(patch).pipe(Effect.map((p) => applyMergePatch(current, p)))
  }
  if (type === patchTypes.merge) {
    return isRecord(patch)
      ? Effect.succeed(applyMergePatch(current, patch))
      : Effect.fail(new BadRequest({ message: "Invalid JSON Patch" }))
  }
  const result = applyJsonPatch(current, patch)
  if (Result.isSuccess(result)) return Effect.succeed(result.success)
  const e = result.failure
  return Effect.fail(
    e.reason === "BadRequest"
      ? new BadRequest({ message: e.message })
      : e.reason === "RequestEntityTooLarge"
      ? new TooLarge({ message: e.message })
      : new Invalid({ kind: "", group: "", name: "", causes: [{ reason: "FieldValueInvalid", field: "", message: e.message }] })
  )
}

const patch = (req: ResourceRequest, name: string) =>
  Effect.gen(function*() {
    const type = bodyType(req.contentType)
    if (type === patchTypes.apply) return yield* serverSideApply(req, name)
    const strategic = type === patchTypes.strategic && req.info.strategicMergePatch === true
    if (type !== patchTypes.json && type !== patchTypes.merge && !strategic) {
      return yield* new UnsupportedMediaType({
        message: `the body of the request was in an unknown format - accepted media types include: ${patchTypes.json}, ${patchTypes.merge}, ${patchTypes.apply}`
      })
    }
    const rep = yield* representation(req)
    const storage = yield* Storage
    const dryRun = yield* dryRunOf(req.query)
    const manager = yield* writeManager(req.query, req.userAgent, "PatchOptions")
    const fm = yield* fieldManagement(req.info, req.subresource)
    const text = yield* req.body
    const body = yield* Effect.try({
      try: () => parseJson(text),
      catch: (e) => new BadRequest({ message: `error decoding patch: ${e instanceof Error ? e.message : String(e)}` })
    })
    let warnings: ReadonlyArray<string> = []
    const patched = yield* storage.guaranteedUpdate(storedResource(req.info), req.namespace ?? "", name, (current) =>
      Effect.gen(function*() {
        const next = yield* applyPatch(type, current, body)
        if (!isRecord(next) || !isRecord(next["metadata"])) {
          return yield* new BadRequest({ message: "the patch must leave an object with metadata" })
        }
        // A json patch can nest the object in itself: refuse what later recursion could not handle.
        if (!withinDepth(next)) return yield* new BadRequest({ message: `the patched object nests deeper than ${maxDepth} levels` })
        const obj = next as KubeObject
        if (obj.metadata.name !== name) {
          return yield* new BadRequest({ message: `the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})` })
        }
        // kube's checkName: a patch that moves the object to another namespace is refused, not ignored.
        if (req.info.namespaced && obj.metadata.namespace !== req.namespace) {
          return yield* new BadRequest({
            message: `the namespace of the object (${String(obj.metadata.namespace ?? "")}) does not match the namespace on the URL (${req.namespace ?? ""})`
          })
        }
        if (obj.apiVersion !== apiVersionOf(req.info) || obj.kind !== req.info.kind) {
          return yield* new BadRequest({ message: `the patch may not change apiVersion or kind` })
        }
        const v = yield* validated(req, obj)
        warnings = v.warnings
        return trackWrite(fm, current, v.object, manager)
      }).pipe(
        // An Invalid from the patch itself names the object it was applied to.
        Effect.mapError((e) => e._tag === "Invalid" && e.kind === "" ? new Invalid({ ...e, kind: req.info.kind, group: req.info.group, name }) : e)
      ), { dryRun, subresource: req.subresource === "status" ? "status" : "main" })
    return renderObject(req.info, rep, patched, 200, warnings)
  })

/**
 * Server-side apply (kube's applyPatcher): the configuration is merged into the live object with
 * field ownership (src/domain/apply.ts) in a read-modify-write; a missing object is created from
 * it (201), except through /status.
 */
const serverSideApply = (req: ResourceRequest, name: string) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const dryRun = yield* dryRunOf(req.query)
    const manager = yield* applyManager(req.query)
    const force = yield* forceOf(req.query)
    const { config, warnings } = yield* applyConfiguration(req, yield* req.body)
    const fm = yield* fieldManagement(req.info, req.subresource)
    const resource = storedResource(req.info)
    // Admission warnings of the attempt that was written join the decoding warnings.
    let admissionWarnings: ReadonlyArray<string> = []
    const applied = (live: KubeObject) =>
      applyTo(req, fm, name, live, config, manager, force).pipe(
        Effect.map((r) => {
          admissionWarnings = r.warnings
          return r.object
        })
      )
    const update = storage.guaranteedUpdate(resource, req.namespace ?? "", name, applied, { dryRun, subresource: fm.subresource })
    // A new object is the configuration applied to an empty one in the URL's namespace.
    const create = Effect.flatMap(
      applied({ apiVersion: apiVersionOf(req.info), kind: req.info.kind, metadata: req.info.namespaced ? { namespace: req.namespace } : {} }),
      (object) => storage.create(resource, object, { dryRun })
    )
    const result = yield* update.pipe(
      Effect.map((object) => ({ object, status: 200 })),
      Effect.catchTag("NotFound", (e) =>
        req.subresource === "status" ? Effect.fail(e) : Effect.map(create, (object) => ({ object, status: 201 }))),
      // Created meanwhile by someone else: apply to theirs.
      Effect.retry({ times: 3, while: (e) => e._tag === "AlreadyExists" })
    )
    return renderObject(req.info, rep, result.object, result.status, [...warnings, ...admissionWarnings])
  })

/** An apply body: YAML or JSON of this kind and version, without managedFields, pruned per fieldValidation. */
const applyConfiguration = (req: ResourceRequest, text: string) =>
  Effect.gen(function*() {
    const raw = yield* Effect.try({
      try: () => parseYaml(text),
      catch: (e) => new BadRequest({ message: `error decoding YAML: ${e instanceof Error ? e.message : String(e)}` })
    })
    if (!isRecord(raw)) return yield* new BadRequest({ message: "the body of an apply patch must be an object" })
    const expected = apiVersionOf(req.info)
    if (raw["apiVersion"] !== expected) {
      return yield* new BadRequest({
        message: `Incorrect version specified in apply patch. Specified patch version: ${String(raw["apiVersion"] ?? "")}, expected: ${expected}`
      })
    }
    if (raw["kind"] !== req.info.kind) {
      return yield* new BadRequest({ message: `the kind in the data (${String(raw["kind"] ?? "")}) does not match the expected kind (${req.info.kind})` })
    }
    const metadata = raw["metadata"] ?? {}
    if (!isRecord(metadata)) return yield* new BadRequest({ message: "metadata must be an object" })
    if (metadata["managedFields"] !== undefined) return yield* new BadRequest({ message: "metadata.managedFields must be nil" })
    const mode = yield* oneOf(req.query, "fieldValidation", ["Strict", "Warn", "Ignore"], "Warn")
    const { pruned, unknownFields } = pruneApplyConfiguration(req.info, { ...raw, metadata } as KubeObject)
    if (mode === "Strict" && unknownFields.length > 0) {
      return yield* new BadRequest({ message: `error strict decoding YAML: ${unknownFields.map(unknownFieldMessage).join(", ")}` })
    }
    return { config: pruned, warnings: mode === "Warn" ? unknownFields.map(unknownFieldMessage) : [] }
  })

/** One apply to the live object (an empty one to create): merged, checked against the URL, validated, with managedFields. */
const applyTo = (
  req: ResourceRequest,
  fm: FieldManagement,
  name: string,
  live: KubeObject,
  config: KubeObject,
  manager: string,
  force: boolean
) =>
  Effect.gen(function*() {
    const result = apply(fm, live, config, liveManaged(live), manager, force)
    if (Result.isFailure(result)) {
      const failure = result.failure
      return yield* failure._tag === "Conflicts"
        ? new FieldManagerConflict({ message: conflictMessage(failure.conflicts), causes: conflictCauses(failure.conflicts) })
        : new BadRequest({ message: failure.message })
    }
    const obj = result.success.object
    if (obj.metadata?.name !== name) {
      return yield* new BadRequest({ message: `the name of the object (${String(obj.metadata?.name ?? "")}) does not match the name on the URL (${name})` })
    }
    const ns = obj.metadata.namespace
    if (req.namespace !== undefined && ns !== undefined && ns !== "" && ns !== req.namespace) {
      return yield* new BadRequest({ message: `the namespace of the object (${String(ns)}) does not match the namespace on the URL (${req.namespace})` })
    }
    const { object, warnings } = yield* validated(req, obj)
    return { object: withManaged(object, result.success.managed), warnings }
  })

/** DeleteOptions from the query and the body (JSON or YAML; an empty body is none). */
const deleteOptionsOf = (req: ResourceRequest) =>
  deleteOptions(req.query, Effect.flatMap(req.body, (text) => text.trim() === "" ? Effect.succeed(undefined) : parseBody(text, req.contentType)))

const remove = (req: ResourceRequest, name: string) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const options = yield* deleteOptionsOf(req)
    const result = yield* storage.delete(storedResource(req.info), req.namespace ?? "", name, options)
    return renderObject(req.info, rep, result.object, 200)
  })

/** Deletes every object the selectors match, as kube does: list, then delete each (finalizers honoured). */
const removeCollection = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const options = yield* deleteOptionsOf(req)
    const { fields, labels } = yield* selectors(req)
    const page = yield* storage.list(storedResource(req.info), {
      ...(req.namespace !== undefined ? { namespace: req.namespace } : {}),
      labelSelector: labels,
      fieldSelector: fields
    })
    const deleted = yield* Effect.forEach(page.items, (text) => {
      const obj = JSON.parse(text) as KubeObject
      return storage.delete(storedResource(req.info), obj.metadata.namespace ?? "", obj.metadata.name!, options).pipe(
        Effect.map((r) => JSON.stringify(r.object)),
        // Gone meanwhile: nothing left to delete.
        Effect.catchTag("NotFound", () => Effect.succeed(undefined))
      )
    }, { concurrency: 8 })
    return json(200, listBody(req.info, page.resourceVersion, deleted.filter((d) => d !== undefined), undefined))
  })

const notAllowed = (req: ResourceRequest) =>
  Effect.fail(new MethodNotAllowed({ message: `the server does not allow this method on the requested resource (${req.method})` }))

export const handleResource = (req: ResourceRequest): Effect.Effect<Reply, ApiError, Storage | WatchHub> => {
  const name = req.name
  const collection = name === undefined
  if (req.method === "GET" && req.subresource === undefined) {
    // `watch` is a boolean as kube reads it (Python's client sends `True`); a malformed one is a 400, not a list.
    return Effect.flatMap(boolParam(req.query, "watch"), (w) => req.watch || w === true ? watch(req) : collection ? list(req) : get(req, name))
  }
  if (req.subresource === "status") {
    switch (req.method) {
      case "GET":
        return get(req, name!)
      case "PUT":
        return update(req, name!)
      case "PATCH":
        return patch(req, name!)
      default:
        return notAllowed(req)
    }
  }
  // A namespaced kind across all namespaces can only be listed (and watched).
  if (req.info.namespaced && req.namespace === undefined && req.method !== "GET") return notAllowed(req)
  switch (req.method) {
    case "GET":
      return collection ? list(req) : get(req, name)
    case "POST":
      return collection ? create(req) : notAllowed(req)
    case "PUT":
      return collection ? notAllowed(req) : update(req, name)
    case "PATCH":
      return collection ? notAllowed(req) : patch(req, name)
    case "DELETE":
      return collection ? removeCollection(req) : remove(req, name)
    default:
      return notAllowed(req)
  }
}
