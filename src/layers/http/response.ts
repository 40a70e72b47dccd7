/**
 * What the verbs share in answering (kube's response.go): the reply, and an object or list
 * rendered in the negotiated representation.
 */
import type { Stream } from "effect"
import YAML from "yaml"
import type { KubeObject } from "../../domain/object.ts"
import type { ResourceInfo } from "../../domain/registry.ts"
import { partialObjectMetadata, table } from "../../domain/table.ts"
import type { Representation } from "./media.ts"
import { apiVersionOf } from "./request.ts"

/** What a handler answers; the server turns it into an HTTP response (a stream for watches). */
export interface Reply {
  readonly status: number
  readonly body: string | Uint8Array | Stream.Stream<Uint8Array>
  readonly contentType: string
  readonly warnings?: ReadonlyArray<string>
}

export const json = (status: number, body: string | Uint8Array, warnings?: ReadonlyArray<string>): Reply => ({
  status,
  body,
  contentType: "application/json",
  ...(warnings !== undefined && warnings.length > 0 ? { warnings } : {})
})

/** Renders one object in the negotiated representation. */
export const renderObject = (info: ResourceInfo, rep: Representation, obj: KubeObject, status: number, warnings?: ReadonlyArray<string>, includeObject?: string): Reply => {
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

export const comma = Buffer.from(",")

/**
 * A list body assembled from the stored JSON of its items without parsing them: texts from
 * storage, or the hub's already encoded bytes, which are only copied.
 */
export const listBody = (info: ResourceInfo, resourceVersion: string, items: ReadonlyArray<string | Uint8Array>, next: string | undefined) => {
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
