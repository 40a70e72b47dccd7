/**
 * JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7386) over parsed JSON values.
 *
 * Errors map to the Status kube-apiserver answers a PATCH with (handlers/patch.go):
 * - the body is not a list of operation objects            → 400 BadRequest, Go's decode error text;
 * - more than `maxOps` operations (kube: 10000)            → 413 RequestEntityTooLarge;
 * - any operation failing (bad op/path, missing target, test mismatch) → 422 Invalid with kube's
 *   generic message: kube passes the json-patch error nowhere, so neither do clients see it here.
 *   We keep it in `detail` for logs.
 *
 * Unlike the json-patch library kube embeds, paths follow RFC 6901/6902 strictly: no negative
 * array indices, no leading zeros, `~` must be `~0` or `~1`, `test` on a missing path fails, and
 * `""` addresses the whole document.
 */
import { JsonPointer, Result } from "effect"
import { isRecord } from "./object.ts"

export type PatchError =
  | { readonly reason: "BadRequest"; readonly code: 400; readonly message: string }
  | { readonly reason: "RequestEntityTooLarge"; readonly code: 413; readonly message: string }
  | { readonly reason: "Invalid"; readonly code: 422; readonly message: string; readonly detail: string }

/** kube's NewGenericServerResponse text for 422; the actual cause is not included by kube. */
const INVALID_MESSAGE = "the server rejected our request due to an error in our request"

const badRequest = (message: string): PatchError => ({ reason: "BadRequest", code: 400, message })
const invalid = (detail: string): PatchError => ({ reason: "Invalid", code: 422, message: INVALID_MESSAGE, detail })

type Container = Record<string, unknown> | Array<unknown>

/** Sets an own property even for `__proto__`, which plain assignment would treat as the prototype. */
const setOwn = (obj: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true })
}

const getOwn = (obj: Record<string, unknown>, key: string): unknown => Object.hasOwn(obj, key) ? obj[key] : undefined

/** Go's encoding/json names for a JSON value's type, used in its decode errors. */
const goJsonType = (u: unknown): string =>
  Array.isArray(u) ? "array" : typeof u === "boolean" ? "bool" : typeof u === "object" ? "object" : typeof u

/** RFC 6902 §4.6: numbers by value, objects regardless of member order. */
const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
  if (!isRecord(a) || !isRecord(b)) return false
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
}

// ---------------------------------------------------------------------------------------------
// JSON Pointer locations
// ---------------------------------------------------------------------------------------------

/** A parsed pointer plus its text for messages. */
interface Pointer {
  readonly text: string
  readonly tokens: ReadonlyArray<string>
}

/** The document lives in a box so that "" (the whole document) has a parent like any other target. */
const ROOT = "root"
type Box = { [ROOT]: unknown }

const parsePointer = (u: unknown): Result.Result<Pointer, string> => {
  if (typeof u !== "string") return Result.fail("missing value")
  if (u !== "" && !u.startsWith("/")) return Result.fail(`invalid JSON pointer: "${u}"`)
  if (/~([^01]|$)/.test(u)) return Result.fail(`invalid JSON pointer escape: "${u}"`)
  return Result.succeed({ text: u, tokens: u === "" ? [] : u.slice(1).split("/").map(JsonPointer.unescapeToken) })
}

const arrayIndex = (token: string): number | undefined => /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : undefined

/** The container holding the pointer's target and the target's key in it. */
interface Location {
  readonly parent: Container
  readonly key: string
}

/** The value at an existing location; undefined when the key or index is absent. */
const read = ({ parent, key }: Location): unknown => {
  if (!Array.isArray(parent)) return getOwn(parent, key)
  const i = arrayIndex(key)
  return i !== undefined && i < parent.length ? parent[i] : undefined
}

/** Walks to the target's parent; undefined when a step on the way is missing or not a container. */
const locate = (box: Box, p: Pointer): Location | undefined => {
  let loc: Location = { parent: box, key: ROOT }
  for (const token of p.tokens) {
    const next = read(loc)
    if (!isRecord(next) && !Array.isArray(next)) return undefined
    loc = { parent: next, key: token }
  }
  return loc
}

const exists = (loc: Location): boolean => read(loc) !== undefined

/** RFC 6902 "add": set a member, or insert before an index (`-` appends). */
const insert = ({ parent, key }: Location, value: unknown): Result.Result<void, string> => {
  if (!Array.isArray(parent)) {
    setOwn(parent, key, value)
    return Result.void
  }
  const i = key === "-" ? parent.length : arrayIndex(key)
  if (i === undefined || i > parent.length) return Result.fail(`Unable to access invalid index: ${key}: invalid index referenced`)
  parent.splice(i, 0, value)
  return Result.void
}

const removeAt = ({ parent, key }: Location): void => {
  if (Array.isArray(parent)) parent.splice(arrayIndex(key)!, 1)
  else delete parent[key]
}

const replaceAt = ({ parent, key }: Location, value: unknown): void => {
  if (Array.isArray(parent)) parent[arrayIndex(key)!] = value
  else setOwn(parent, key, value)
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

const OPS = ["add", "remove", "replace", "move", "copy", "test"] as const
type OpName = (typeof OPS)[number]

const isOpName = (u: unknown): u is OpName => typeof u === "string" && (OPS as ReadonlyArray<string>).includes(u)

/**
 * What `copy` operations of one patch may add in all (as json-patch's AccumulatedCopySizeLimit):
 * without it, copying the document into itself a few dozen times exhausts memory.
 */
export const maxCopiedBytes = 3 * 1024 * 1024

/** Applies one operation to the boxed (already cloned) document; failures are json-patch style details. */
const applyOp = (box: Box, raw: unknown, copied: { bytes: number }): Result.Result<void, string> =>
  Result.gen(function*() {
    const op: Record<string, unknown> = isRecord(raw) ? raw : {}
    const kind = op.op
    if (!isOpName(kind)) return yield* Result.fail(`Unexpected kind: ${typeof kind === "string" ? kind : "unknown"}`)
    const pointer = (member: "path" | "from") =>
      Result.mapError(parsePointer(op[member]), (e) => `${kind} operation failed to decode ${member}: ${e}`)
    const value = () =>
      Object.hasOwn(op, "value")
        ? Result.succeed(structuredClone(op.value))
        : Result.fail(`${kind} operation, missing value field: missing value`)
    const path = yield* pointer("path")
    const target = locate(box, path)

    switch (kind) {
      case "add": {
        const v = yield* value()
        if (target === undefined) return yield* Result.fail(`add operation does not apply: doc is missing path: "${path.text}": missing value`)
        return yield* Result.mapError(insert(target, v), (e) => `error in add for path: '${path.text}': ${e}`)
      }
      case "remove": {
        if (path.tokens.length === 0 || target === undefined || !exists(target)) {
          return yield* Result.fail(`remove operation does not apply: doc is missing path: "${path.text}": missing value`)
        }
        return removeAt(target)
      }
      case "replace": {
        const v = yield* value()
        if (target === undefined || !exists(target)) {
          return yield* Result.fail(`replace operation does not apply: doc is missing key: ${path.text}: missing value`)
        }
        return replaceAt(target, v)
      }
      case "test": {
        const v = yield* value()
        if (target === undefined || !exists(target)) {
          return yield* Result.fail(`test operation does not apply: is missing path: ${path.text}: missing value`)
        }
        if (!jsonEqual(read(target), v)) return yield* Result.fail(`testing value ${path.text} failed: test failed`)
        return
      }
      case "move":
      case "copy": {
        const from = yield* pointer("from")
        const source = locate(box, from)
        if (source === undefined || !exists(source)) {
          return yield* Result.fail(`${kind} operation does not apply: doc is missing from path: ${from.text}: missing value`)
        }
        if (kind === "move" && path.text.startsWith(from.text + "/")) {
          return yield* Result.fail(`move operation does not apply: path ${path.text} is inside from ${from.text}`)
        }
        if (kind === "move" && path.text === from.text) return
        if (kind === "copy") {
          copied.bytes += JSON.stringify(read(source))?.length ?? 0
          if (copied.bytes > maxCopiedBytes) {
            return yield* Result.fail(
              `Unable to complete the copy, the accumulated size increase of copy is ${copied.bytes}, exceeding the limit ${maxCopiedBytes}`
            )
          }
        }
        const v = kind === "copy" ? structuredClone(read(source)) : read(source)
        if (kind === "move") removeAt(source)
        // the removal may have shifted array indices or emptied the way to the destination: locate again
        const destination = locate(box, path)
        if (destination === undefined) {
          return yield* Result.fail(`${kind} operation does not apply: doc is missing destination path: ${path.text}: missing value`)
        }
        return yield* Result.mapError(insert(destination, v), (e) => `error in ${kind} for path: '${path.text}': ${e}`)
      }
    }
  })

/**
 * Applies an RFC 6902 patch. `ops` is the parsed request body; `doc` is not mutated (the result
 * is a fresh copy). See the module comment for how failures map to kube's status codes.
 */
export const applyJsonPatch = (doc: unknown, ops: unknown, maxOps = 10000): Result.Result<unknown, PatchError> => {
  // Go decodes a JSON `null` patch as an empty list of operations.
  if (ops === null) return Result.succeed(structuredClone(doc))
  if (!Array.isArray(ops)) return Result.fail(badRequest(`json: cannot unmarshal ${goJsonType(ops)} into Go value of type jsonpatch.Patch`))
  const notObject = ops.find((op) => op !== null && !isRecord(op))
  if (notObject !== undefined) {
    return Result.fail(badRequest(`json: cannot unmarshal ${goJsonType(notObject)} into Go value of type jsonpatch.Operation`))
  }
  if (ops.length > maxOps) {
    return Result.fail({
      reason: "RequestEntityTooLarge",
      code: 413,
      message: `The allowed maximum operations in a JSON patch is ${maxOps}, got ${ops.length}`
    })
  }
  const box: Box = { [ROOT]: structuredClone(doc) }
  const copied = { bytes: 0 }
  for (const op of ops) {
    const applied = applyOp(box, op, copied)
    if (Result.isFailure(applied)) return Result.fail(invalid(applied.failure))
  }
  return Result.succeed(box[ROOT])
}

/**
 * Applies an RFC 7386 merge patch: objects merge recursively, `null` deletes a member, anything
 * else replaces. Inputs are not mutated; untouched subtrees are shared with them.
 * (kube rejects merge-patch bodies that are not JSON objects with 400 before getting here.)
 */
export const applyMergePatch = (doc: unknown, patch: unknown): unknown => {
  if (!isRecord(patch)) return patch
  const target: Record<string, unknown> = isRecord(doc) ? { ...doc } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key]
    else setOwn(target, key, applyMergePatch(getOwn(target, key), value))
  }
  return target
}
