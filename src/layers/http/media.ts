/**
 * Content negotiation as kube-apiserver does it: the Accept header picks a representation
 * (plain JSON or YAML, a Table, PartialObjectMetadata, aggregated discovery), in the client's order;
 * objects are never protobuf (only /openapi/v2 is), so clients that also list JSON fall back to it.
 */

export type Representation =
  | { readonly _tag: "Object"; readonly format: "json" | "yaml" }
  | { readonly _tag: "Table"; readonly version: "v1" | "v1beta1" }
  | { readonly _tag: "PartialObjectMetadata"; readonly version: "v1" | "v1beta1"; readonly list: boolean }
  | { readonly _tag: "Discovery"; readonly version: "v2" | "v2beta1" }

interface MediaRange {
  readonly type: string
  readonly params: Readonly<Record<string, string>>
}

const parseAccept = (header: string): ReadonlyArray<MediaRange> =>
  header.split(",").map((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim())
    const record: Record<string, string> = {}
    for (const p of params) {
      const eq = p.indexOf("=")
      if (eq > 0) record[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim()
    }
    return { type: (type ?? "").toLowerCase(), params: record }
  }).filter((m) => m.type !== "")

const metaVersion = (v: string | undefined): "v1" | "v1beta1" | undefined =>
  v === "v1" || v === "v1beta1" ? v : undefined

/** What each kind of endpoint can answer with. */
export interface Offers {
  readonly table?: boolean
  readonly partial?: boolean
  readonly discovery?: boolean
}

/** The first acceptable representation, or undefined (406) when the client accepts none we serve. */
export const negotiate = (accept: string | undefined, offers: Offers): Representation | undefined => {
  if (accept === undefined || accept.trim() === "") return { _tag: "Object", format: "json" }
  for (const m of parseAccept(accept)) {
    const json = m.type === "application/json" || m.type === "*/*" || m.type === "application/*"
    const as = m.params["as"]
    if (as === undefined) {
      if (json) return { _tag: "Object", format: "json" }
      if (m.type === "application/yaml") return { _tag: "Object", format: "yaml" }
      continue
    }
    if (m.type !== "application/json") continue
    if (m.params["g"] === "meta.k8s.io") {
      const version = metaVersion(m.params["v"])
      if (version === undefined) continue
      if (as === "Table" && offers.table) return { _tag: "Table", version }
      if ((as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") && offers.partial) {
        return { _tag: "PartialObjectMetadata", version, list: as === "PartialObjectMetadataList" }
      }
    }
    if (m.params["g"] === "apidiscovery.k8s.io" && as === "APIGroupDiscoveryList" && offers.discovery) {
      const v = m.params["v"]
      if (v === "v2" || v === "v2beta1") return { _tag: "Discovery", version: v }
    }
  }
  return undefined
}

/** The protobuf form of /openapi/v2, the only one client-go's discovery asks for. */
const openApiV2ProtobufAccept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
/** The spelling kube-apiserver answers with (Go's mime parser refuses the "@"), also accepted. */
export const openApiV2ProtobufType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

/** Which form of /openapi/v2 the Accept header asks for first, or undefined (406) for neither. */
export const openApiV2Form = (accept: string | undefined): "json" | "protobuf" | undefined => {
  if (accept === undefined || accept.trim() === "") return "json"
  for (const m of parseAccept(accept)) {
    if (m.type === openApiV2ProtobufAccept || m.type === openApiV2ProtobufType) return "protobuf"
    if (m.type === "application/json" || m.type === "*/*" || m.type === "application/*") return "json"
  }
  return undefined
}

export const discoveryContentType = (version: "v2" | "v2beta1") =>
  `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`

/** Media types of PATCH bodies; strategic merge is not served (as for custom resources). */
export const patchTypes = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  /** Accepted only for kinds marked `strategicMergePatch` (kube's built-in Lease). */
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml"
} as const

/** The media type of a request body, without parameters. */
export const bodyType = (contentType: string | undefined): string =>
  (contentType ?? "").split(";")[0]!.trim().toLowerCase()
