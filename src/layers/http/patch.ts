/**
 * PATCH of an object or its /status (kube's handlers/patch.go): a JSON, merge or strategic merge
 * patch in a read-modify-write; an apply patch goes to server-side apply.
 */
import { Effect, Result } from "effect"
import { maxDepth, parseJson, withinDepth } from "../../domain/decode.ts"
import type { KubeObject } from "../../domain/object.ts"
import { isRecord } from "../../domain/object.ts"
import { applyJsonPatch, applyMergePatch } from "../../domain/patch.ts"
import { BadRequest, Invalid, TooLarge, UnsupportedMediaType } from "../../services/errors.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import { serverSideApply } from "./apply.ts"
import { fieldManagement, trackWrite, writeManager } from "./fieldmanager.ts"
import { bodyType, patchTypes } from "./media.ts"
import type { ResourceRequest } from "./request.ts"
import { apiVersionOf, dryRunOf, nameMismatch, namespaceMismatch, representation, validated } from "./request.ts"
import { renderObject } from "./response.ts"

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

export const patch = (req: ResourceRequest, name: string) =>
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
          return yield* nameMismatch(String(obj.metadata.name), name)
        }
        // kube's checkName: a patch that moves the object to another namespace is refused, not ignored.
        if (req.info.namespaced && obj.metadata.namespace !== req.namespace) {
          return yield* namespaceMismatch(String(obj.metadata.namespace ?? ""), req.namespace ?? "")
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
