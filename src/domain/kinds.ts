/**
 * What kube-apiserver does with a custom resource's body, for the Ark kinds: prune unknown fields,
 * drop nulls, default, validate (validateObject); and the OpenAPI schema it publishes (openApiSchema).
 * Pure functions over the registry's Effect schemas; the schemas themselves live in ./kinds/.
 */
import type { KubeObject, StatusCause } from "./object.ts"
import { normalize, type Structural, toStructural, validate } from "./kinds/structural.ts"
import type { NormalizeMode } from "./kinds/structural.ts"
import type { ResourceInfo } from "./registry.ts"

export interface ValidationResult {
  /** Schema violations in spec/status, as kube reports them in an Invalid Status. */
  readonly causes: ReadonlyArray<StatusCause>
  /** Paths of fields the schema does not declare, sorted, in kube's format (`spec.tools[0].foo`). */
  readonly unknownFields: ReadonlyArray<string>
  /**
   * The object as kube would store it: unknown fields and nulls removed, defaults applied.
   * apiVersion, kind and metadata are passed through untouched.
   */
  readonly pruned: KubeObject
}

/** The warning (fieldValidation=Warn) or strict-decoding error detail kube gives for an unknown field. */
export const unknownFieldMessage = (path: string): string => `unknown field "${path}"`

const typeMeta = {
  apiVersion: {
    description: "APIVersion defines the versioned schema of this representation of an object.\n" +
      "Servers should convert recognized schemas to the latest internal value, and\n" +
      "may reject unrecognized values.\n" +
      "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    type: "string"
  },
  kind: {
    description: "Kind is a string value representing the REST resource this object represents.\n" +
      "Servers may infer this from the endpoint the client submits requests to.\n" +
      "Cannot be updated.\n" +
      "In CamelCase.\n" +
      "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
    type: "string"
  },
  // ObjectMeta is validated by the API machinery, not by the kind's schema.
  metadata: { type: "object" }
} as const satisfies Record<string, Structural>

/** The schema of each top-level field but apiVersion/kind/metadata: spec and status, or a core kind's fields. */
const bodySchemas = (info: ResourceInfo): Record<string, Structural> => ({
  ...(info.spec !== undefined ? { spec: toStructural(info.spec.ast) } : {}),
  ...Object.fromEntries(Object.entries(info.fields ?? {}).map(([k, v]) => [k, toStructural(v.ast)])),
  ...(info.status !== undefined ? { status: toStructural(info.status.ast) } : {})
})

const roots = new WeakMap<ResourceInfo, Structural>()

/**
 * The structural OpenAPI v3 schema of a whole object of this kind (the CRD's openAPIV3Schema):
 * for /openapi/v2, /openapi/v3 and CRD generation. Shared and cached: do not mutate it.
 */
export const openApiSchema = (info: ResourceInfo): Structural => {
  let root = roots.get(info)
  if (root === undefined) {
    root = {
      description: info.description,
      type: "object",
      properties: { ...typeMeta, ...bodySchemas(info) }
    }
    roots.set(info, root)
  }
  return root
}

/**
 * kube's handling of a request body for a custom resource: pruning (with the unknown field paths
 * fieldValidation reports), null removal and defaulting, then schema validation of the result.
 * Top-level fields other than apiVersion/kind/metadata and the kind's own (spec/status, or a core
 * kind's fields) are unknown too.
 * Idempotent on its own output: kube validates after mutating admission, so when something
 * mutates `pruned` (Ark's webhooks default Model.spec.provider, Query.spec.ttl...), validate again.
 */
export const validateObject = (info: ResourceInfo, obj: KubeObject): ValidationResult => {
  const normalized = normalizeForAdmission(info, obj)
  return { ...normalized, causes: checkObject(info, normalized.pruned) }
}

/**
 * The first half of validateObject: pruned, nulls dropped and defaulted, not yet validated (the
 * write path validates after mutating admission: checkObject, or validateObject when it mutated).
 */
export const normalizeForAdmission = (info: ResourceInfo, obj: KubeObject): Omit<ValidationResult, "causes"> =>
  normalizeObject(info, obj, "object")

/** The second half: the schema causes of an object normalizeForAdmission (or validateObject) returned. */
export const checkObject = (info: ResourceInfo, normalized: KubeObject): Array<StatusCause> => {
  const body = bodySchemas(info)
  const causes: Array<StatusCause> = []
  for (const [key, value] of Object.entries(normalized)) {
    if (key !== "apiVersion" && key !== "kind" && key !== "metadata" && Object.hasOwn(body, key)) {
      validate(body[key]!, value, key, causes)
    }
  }
  return causes
}

/**
 * A server-side apply configuration pruned as kube prunes it: unknown fields dropped (and reported
 * per fieldValidation), but no defaults added and nulls kept, since both would change what the
 * applier owns. It is validated later, merged into the live object.
 */
export const pruneApplyConfiguration = (info: ResourceInfo, obj: KubeObject): Omit<ValidationResult, "causes"> =>
  normalizeObject(info, obj, "applyConfiguration")

const normalizeObject = (
  info: ResourceInfo,
  obj: KubeObject,
  mode: NormalizeMode
): Omit<ValidationResult, "causes"> => {
  const body = bodySchemas(info)
  const unknownFields: Array<string> = []
  const kept: Array<[string, unknown]> = []
  // Upstream Ark's kinds are Go structs whose spec is never nil: an absent or null spec is an
  // empty one, defaulted and validated as such (a Query's required fields are then reported).
  // Kinds without a spec (Secret, ConfigMap) get none.
  const emptySpec = mode === "object" && info.spec !== undefined && (obj.spec === undefined || obj.spec === null)
  const entries = emptySpec ? [...Object.entries(obj).filter(([k]) => k !== "spec"), ["spec", {}] as const] : Object.entries(obj)
  for (const [key, value] of entries) {
    if (key === "apiVersion" || key === "kind" || key === "metadata") kept.push([key, value])
    else if (!Object.hasOwn(body, key)) unknownFields.push(key)
    else if (value !== null) {
      const schema = body[key]!
      kept.push([key, normalize(schema, value, key, unknownFields, mode)])
    } else if (mode === "applyConfiguration") kept.push([key, null])
  }
  return { unknownFields: unknownFields.sort(), pruned: Object.fromEntries(kept) as KubeObject }
}

const str: Structural = { type: "string" }
const stringMap: Structural = { type: "object", additionalProperties: str }

/**
 * ObjectMeta with the list and map types kube's own Go types declare (finalizers a set,
 * ownerReferences a list-map by uid), which server-side apply merges by.
 */
const objectMeta: Structural = {
  type: "object",
  properties: {
    name: str,
    generateName: str,
    namespace: str,
    selfLink: str,
    uid: str,
    resourceVersion: str,
    generation: { type: "integer" },
    creationTimestamp: str,
    deletionTimestamp: str,
    deletionGracePeriodSeconds: { type: "integer" },
    labels: stringMap,
    annotations: stringMap,
    finalizers: { type: "array", items: str, "x-kubernetes-list-type": "set" },
    ownerReferences: {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["uid"],
      items: {
        type: "object",
        properties: {
          apiVersion: str,
          kind: str,
          name: str,
          uid: str,
          controller: { type: "boolean" },
          blockOwnerDeletion: { type: "boolean" }
        }
      }
    },
    managedFields: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } }
  }
}

const fieldSchemas = new WeakMap<ResourceInfo, Structural>()

/** The whole object's schema with ObjectMeta spelled out: what server-side apply merges and tracks fields by. */
export const fieldManagementSchema = (info: ResourceInfo): Structural => {
  let root = fieldSchemas.get(info)
  if (root === undefined) {
    const published = openApiSchema(info)
    root = { ...published, properties: { ...published.properties, metadata: objectMeta } }
    fieldSchemas.set(info, root)
  }
  return root
}
