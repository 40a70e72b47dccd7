/** Server-side apply (kube's handlers/patch.go applyPatcher): an apply patch merged with field ownership. */
import { Effect, Result } from "effect"
import type { FieldManagement } from "../../domain/apply.ts"
import { apply, conflictCauses, conflictMessage } from "../../domain/apply.ts"
import { parseYaml } from "../../domain/decode.ts"
import { pruneApplyConfiguration, unknownFieldMessage } from "../../domain/kinds.ts"
import type { KubeObject } from "../../domain/object.ts"
import { isRecord } from "../../domain/object.ts"
import { BadRequest, FieldManagerConflict } from "../../services/errors.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import { applyManager, fieldManagement, forceOf, liveManaged, withManaged } from "./fieldmanager.ts"
import type { ResourceRequest } from "./request.ts"
import { apiVersionOf, dryRunOf, nameMismatch, namespaceMismatch, oneOf, representation, validated } from "./request.ts"
import { renderObject } from "./response.ts"

/**
 * Server-side apply (kube's applyPatcher): the configuration is merged into the live object with
 * field ownership (src/domain/apply.ts) in a read-modify-write; a missing object is created from
 * it (201), except through /status.
 */
export const serverSideApply = (req: ResourceRequest, name: string) =>
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
      return yield* nameMismatch(String(obj.metadata?.name ?? ""), name)
    }
    const ns = obj.metadata.namespace
    if (req.namespace !== undefined && ns !== undefined && ns !== "" && ns !== req.namespace) {
      return yield* namespaceMismatch(String(ns), req.namespace)
    }
    const { object, warnings } = yield* validated(req, obj)
    return { object: withManaged(object, result.success.managed), warnings }
  })
