/**
 * OpenAPI v2 and v3 documents generated from the kinds' schemas, shaped as kube-apiserver
 * publishes custom resources: definitions named by reversed group, tagged with
 * `x-kubernetes-group-version-kind`, and PATCH bodies listed exactly as this server accepts them
 * (kubectl sends a strategic merge patch only when it is advertised).
 */
import { createHash } from "node:crypto"
import { openApiSchema } from "../../domain/kinds.ts"
import type { ResourceInfo } from "../../domain/registry.ts"
import { apiPath, coordinationGroup, coreGroup, servedGroups, servedResources } from "../../domain/registry.ts"
import { patchTypes } from "./media.ts"

/** Custom resources are named by reversed group; kube's own kinds by their Go package. */
const definitionPrefix = (r: ResourceInfo) =>
  r.group === coordinationGroup
    ? "io.k8s.api.coordination"
    : r.group === coreGroup
    ? "io.k8s.api.core"
    : r.group.split(".").reverse().join(".")
const definitionName = (r: ResourceInfo, list = false) => `${definitionPrefix(r)}.${r.version}.${r.kind}${list ? "List" : ""}`
const metaName = (kind: string) => `io.k8s.apimachinery.pkg.apis.meta.v1.${kind}`

const gvk = (r: ResourceInfo, kind = r.kind) => [{ group: r.group, kind, version: r.version }]

const objectMeta = {
  description: "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
  type: "object",
  properties: {
    name: { type: "string", description: "Name must be unique within a namespace. Cannot be updated." },
    generateName: { type: "string", description: "Optional prefix the server uses to generate a unique name if name is not provided." },
    namespace: { type: "string", description: "Namespace defines the space within which each name must be unique." },
    uid: { type: "string", description: "UID is the unique in time and space value for this object. Set by the server." },
    resourceVersion: { type: "string", description: "An opaque value that represents the internal version of this object. Set by the server." },
    generation: { type: "integer", format: "int64", description: "A sequence number representing a specific generation of the desired state." },
    creationTimestamp: { type: "string", format: "date-time", description: "The time this object was created. Set by the server." },
    deletionTimestamp: { type: "string", format: "date-time", description: "The time after which this resource will be deleted. Set by the server." },
    deletionGracePeriodSeconds: { type: "integer", format: "int64", description: "Seconds allowed for this object to gracefully terminate." },
    labels: { type: "object", additionalProperties: { type: "string" }, description: "Map of string keys and values that can be used to organize and categorize objects." },
    annotations: { type: "object", additionalProperties: { type: "string" }, description: "Unstructured key value map stored with a resource." },
    finalizers: { type: "array", items: { type: "string" }, description: "Must be empty before the object is deleted from the registry." },
    ownerReferences: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true }, description: "Objects depended on by this object." },
    managedFields: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true }, description: "Which fields are managed by which workflow." }
  }
}

const listMeta = {
  description: "ListMeta describes metadata that synthetic resources must have.",
  type: "object",
  properties: {
    resourceVersion: { type: "string", description: "The version of the list." },
    continue: { type: "string", description: "Token to retrieve the next page of a paginated list." },
    remainingItemCount: { type: "integer", format: "int64" }
  }
}

/** Definitions of one version: each kind with metadata as a reference, its List, and the meta types. */
const definitions = (kinds: ReadonlyArray<ResourceInfo>, ref: (name: string) => string) => {
  const out: Record<string, unknown> = { [metaName("ObjectMeta")]: objectMeta, [metaName("ListMeta")]: listMeta }
  for (const r of kinds) {
    const schema = openApiSchema(r) as { properties: Record<string, unknown> }
    out[definitionName(r)] = {
      ...schema,
      properties: { ...schema.properties, metadata: { $ref: ref(metaName("ObjectMeta")), description: "Standard object's metadata." } },
      "x-kubernetes-group-version-kind": gvk(r)
    }
    out[definitionName(r, true)] = {
      description: `${r.listKind} is a list of ${r.kind}`,
      type: "object",
      required: ["items"],
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: { $ref: ref(metaName("ListMeta")) },
        items: { type: "array", items: { $ref: ref(definitionName(r)) } }
      },
      "x-kubernetes-group-version-kind": gvk(r, r.listKind)
    }
  }
  return out
}

type Flavor = "v2" | "v3"

const queryParam = (flavor: Flavor, name: string, description: string, type = "string") =>
  flavor === "v2"
    ? { name, in: "query", description, type, uniqueItems: true }
    : { name, in: "query", description, schema: { type }, uniqueItems: true }

const pathParam = (flavor: Flavor, name: string, description: string) =>
  flavor === "v2"
    ? { name, in: "path", required: true, description, type: "string", uniqueItems: true }
    : { name, in: "path", required: true, description, schema: { type: "string" }, uniqueItems: true }

const writeParams = (f: Flavor) => [
  queryParam(f, "dryRun", "When present, indicates that modifications should not be persisted. Valid value: All"),
  queryParam(f, "fieldManager", "A name associated with the actor or entity that is making these changes."),
  queryParam(f, "fieldValidation", "How the server handles unknown fields: Ignore, Warn (default) or Strict.")
]

const listParams = (f: Flavor) => [
  queryParam(f, "labelSelector", "A selector to restrict the list of returned objects by their labels."),
  queryParam(f, "fieldSelector", "A selector to restrict the list of returned objects by their fields (metadata.name, metadata.namespace)."),
  queryParam(f, "limit", "Maximum number of responses to return for a list call.", "integer"),
  queryParam(f, "continue", "The continue token of a previous paginated list."),
  queryParam(f, "resourceVersion", "Constrains which resource versions a list may be served from."),
  queryParam(f, "resourceVersionMatch", "How resourceVersion is applied to list calls: NotOlderThan or Exact.")
]

const accepted = ["application/json", "application/yaml"]

/** One operation, in the flavor's way of writing bodies and responses. */
const operation = (
  f: Flavor,
  r: ResourceInfo,
  action: string,
  verb: string,
  ref: (name: string) => string,
  options: { body?: ReadonlyArray<string>; params?: ReadonlyArray<unknown>; list?: boolean; created?: boolean }
) => {
  const responseSchema = { $ref: ref(definitionName(r, options.list)) }
  const responses = Object.fromEntries(
    [["200", "OK"], ...(options.created ? [["201", "Created"]] : [])].map(([code, description]) => [
      code,
      f === "v2"
        ? { description, schema: responseSchema }
        : { description, content: Object.fromEntries(accepted.map((t) => [t, { schema: responseSchema }])) }
    ])
  )
  const body = options.body === undefined
    ? {}
    : f === "v2"
    ? { consumes: options.body, parameters: [...(options.params ?? []), { name: "body", in: "body", required: true, schema: verb === "patch" ? { type: "object" } : responseSchema }] }
    : {
      requestBody: {
        required: true,
        content: Object.fromEntries(options.body.map((t) => [t, { schema: verb === "patch" ? { type: "object" } : responseSchema }]))
      }
    }
  const params = f === "v2" && options.body !== undefined ? {} : { parameters: options.params ?? [] }
  const kindName = `${r.kind}${options.list ? "List" : ""}`
  return {
    description: `${action} ${r.kind}`,
    // kube names core operations without a group: readCoreV1NamespacedSecret, tag core_v1.
    operationId: `${verb}${(r.group === coreGroup ? ["core"] : r.group.split(".")).map((p) => p[0]!.toUpperCase() + p.slice(1)).join("")}${r.version[0]!.toUpperCase()}${r.version.slice(1)}${r.namespaced ? "Namespaced" : ""}${kindName}`,
    tags: [`${r.group === coreGroup ? "core" : r.group.replaceAll(".", "")}_${r.version}`],
    ...(f === "v2" ? { produces: accepted } : {}),
    ...params,
    ...body,
    responses,
    "x-kubernetes-action": verb,
    "x-kubernetes-group-version-kind": gvk(r)[0]
  }
}

const pathsFor = (f: Flavor, r: ResourceInfo, ref: (name: string) => string) => {
  const base = `${apiPath(r.group, r.version)}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.plural}`
  const scope = r.namespaced ? [pathParam(f, "namespace", "object name and auth scope, such as for teams and projects")] : []
  const named = [...scope, pathParam(f, "name", `name of the ${r.kind}`)]
  const patchBody = [patchTypes.json, patchTypes.merge, ...(r.strategicMergePatch ? [patchTypes.strategic] : []), patchTypes.apply]
  const item = (sub: string) => ({
    get: operation(f, r, `read${sub} the specified`, "get", ref, {}),
    put: operation(f, r, `replace${sub} the specified`, "put", ref, { body: accepted, params: writeParams(f), created: true }),
    patch: operation(f, r, `partially update${sub} the specified`, "patch", ref, {
      body: patchBody,
      params: [
        ...writeParams(f),
        queryParam(f, "force", "Force is going to \"force\" Apply requests: conflicting fields of other managers are taken over. Only for apply patches.", "boolean")
      ]
    }),
    parameters: named
  })
  const paths: Record<string, unknown> = {
    [base]: {
      get: operation(f, r, "list or watch objects of kind", "list", ref, { params: listParams(f), list: true }),
      post: operation(f, r, "create a", "post", ref, { body: accepted, params: writeParams(f), created: true }),
      delete: operation(f, r, "delete collection of", "deletecollection", ref, { params: [...listParams(f), queryParam(f, "dryRun", "Valid value: All")] }),
      parameters: scope
    },
    [`${base}/{name}`]: {
      ...item(""),
      delete: operation(f, r, "delete a", "delete", ref, { params: [queryParam(f, "dryRun", "Valid value: All")] })
    },
    ...(r.status !== undefined ? { [`${base}/{name}/status`]: item(" status of") } : {})
  }
  if (r.namespaced) {
    paths[`${apiPath(r.group, r.version)}/${r.plural}`] = {
      get: operation(f, r, "list or watch objects of kind", "list", ref, { params: listParams(f), list: true })
    }
  }
  return paths
}

const info = { title: "Kubernetes", version: "v1.35.0" }

/** `/openapi/v3/apis/<group>/<version>`, or undefined for a version that serves nothing. */
export const openApiV3 = (group: string, version: string) => {
  const kinds = servedResources.filter((r) => r.group === group && r.version === version)
  if (kinds.length === 0) return undefined
  const ref = (name: string) => `#/components/schemas/${name}`
  return {
    openapi: "3.0.0",
    info,
    paths: Object.assign({}, ...kinds.map((r) => pathsFor("v3", r, ref))),
    components: { schemas: definitions(kinds, ref) }
  }
}

export const openApiV2 = () => {
  const ref = (name: string) => `#/definitions/${name}`
  return {
    swagger: "2.0",
    info,
    paths: Object.assign({}, ...servedResources.map((r) => pathsFor("v2", r, ref))),
    definitions: definitions(servedResources, ref)
  }
}

/** Every served group-version: the core group's v1 (group ""), then each group's versions. */
export const servedGroupVersions: ReadonlyArray<{ readonly group: string; readonly version: string }> = [
  { group: coreGroup, version: "v1" },
  ...servedGroups.flatMap((g) => g.versions.map((version) => ({ group: g.name, version })))
]

/** The v3 index's key of a group-version: `api/v1`, or `apis/<group>/<version>`. */
export const openApiV3Key = (group: string, version: string) => apiPath(group, version).slice(1)

/** Each served group-version's v3 document with the content hash clients cache by. */
export const openApiV3Index = () => ({
  paths: Object.fromEntries(servedGroupVersions.map(({ group, version }) => {
    const hash = createHash("sha512").update(JSON.stringify(openApiV3(group, version))).digest("hex").slice(0, 128).toUpperCase()
    const key = openApiV3Key(group, version)
    return [key, { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` }]
  }))
})
