/**
 * kube-apiserver's key layout on etcd, `/registry/<group>/<plural>/<namespace>/<name>`
 * (cluster-scoped: `/registry/<group>/<plural>/<name>`), Ark's change markers beside it, and the
 * stored values: an object's JSON with `"resourceVersion":""`, the key's mod_revision spliced
 * into the text on every read.
 */
import type { Etcd3 } from "etcd3"
import { Effect } from "effect"
import { splitAtResourceVersion } from "../../domain/lifecycle.ts"
import type { KubeObject } from "../../domain/object.ts"
import type { StoredResource } from "../../services/Storage.ts"
import { call } from "./errors.ts"

/** Where a resource's objects live: kube-apiserver's layout for custom resources. */
export const objectPrefix = (r: { readonly group: string; readonly plural: string }) => `/registry/${r.group}/${r.plural}/`

export const objectKey = (r: StoredResource, namespace: string, name: string) =>
  r.namespaced ? `${objectPrefix(r)}${namespace}/${name}` : `${objectPrefix(r)}${name}`

/** The per-resource change marker (see the module comment), outside `/registry/` so kube never sees it. */
export const markerKey = (r: { readonly key: string }) => `/ark-effect/changed/${r.key}`

/** The first key after every key that starts with `prefix`. */
export const prefixEnd = (prefix: string): Buffer => {
  const b = Buffer.from(prefix)
  let i = b.length - 1
  while (i >= 0 && b[i] === 0xff) i--
  if (i < 0) return Buffer.from([0])
  const end = Buffer.from(b.subarray(0, i + 1))
  end[i]! += 1
  return end
}

const rvField = "\"resourceVersion\":\""

/** The stored text with its resourceVersion: canonical order puts the metadata's first in the text. */
export const spliceRv = (stored: string, rv: string): string => {
  const at = stored.indexOf(rvField) + rvField.length
  return stored.slice(0, at) + rv + stored.slice(at)
}

export const storedText = (obj: KubeObject) => {
  const { prefix, suffix } = splitAtResourceVersion(obj)
  return prefix + suffix
}

export const labelsOf = (text: string): Record<string, string> =>
  (JSON.parse(text) as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {}

/** etcd's revision now: the header of a one-key read. */
export const revisionOf = (kv: Etcd3["kv"]) =>
  call(() => kv.range({ key: Buffer.from(markerKey({ key: "" })), limit: 1, keys_only: true })).pipe(
    Effect.map((res) => BigInt(res.header.revision))
  )
