/**
 * The wire-relevant outline of a CustomResourceDefinition: names, scope, versions, printer
 * columns and, per schema node, the keywords that decide what a client may send and will read
 * back (type, format, enum, required, default, x-kubernetes-* markers). Descriptions and
 * length/pattern limits are left out. Applied to upstream Ark's CRDs it gives the recorded
 * fixture; applied to `ark crds` it gives what is compared with it, so both sides go through
 * the same code.
 */

/** One schema node, keyed in its kind's outline by a path such as `spec.tools[].type`. */
export interface NodeOutline {
  readonly type?: string
  readonly format?: string
  readonly enum?: ReadonlyArray<unknown>
  readonly required?: ReadonlyArray<string>
  readonly default?: unknown
  readonly markers?: Readonly<Record<string, unknown>>
}

export interface VersionOutline {
  readonly name: string
  readonly served: boolean
  readonly storage: boolean
  readonly subresources: ReadonlyArray<string>
  readonly printerColumns: ReadonlyArray<{ readonly name: string; readonly type: string; readonly jsonPath: string }>
  readonly nodes: Readonly<Record<string, NodeOutline>>
}

export interface KindOutline {
  readonly kind: string
  readonly plural: string
  readonly scope: string
  readonly shortNames: ReadonlyArray<string>
  readonly versions: ReadonlyArray<VersionOutline>
}

type Json = Record<string, any>

const keywords = (node: Json): NodeOutline => {
  const markers = Object.fromEntries(
    Object.entries(node).filter(([key]) => key.startsWith("x-kubernetes-")).sort(([a], [b]) => a.localeCompare(b))
  )
  return {
    ...(node.type === undefined ? {} : { type: node.type }),
    ...(node.format === undefined ? {} : { format: node.format }),
    ...(node.enum === undefined ? {} : { enum: node.enum }),
    ...(node.required === undefined ? {} : { required: [...node.required].sort() }),
    ...(node.default === undefined ? {} : { default: node.default }),
    ...(Object.keys(markers).length === 0 ? {} : { markers })
  }
}

/** Every node below `node`, keyed by path: `.` between properties, `[]` for items, `{}` for map values. */
const walk = (node: Json, path: string, out: Record<string, NodeOutline>): void => {
  out[path] = keywords(node)
  for (const [key, child] of Object.entries<Json>(node.properties ?? {})) walk(child, path === "" ? key : `${path}.${key}`, out)
  if (node.items !== undefined) walk(node.items, `${path}[]`, out)
  if (typeof node.additionalProperties === "object") walk(node.additionalProperties, `${path}{}`, out)
}

/** The outline of one CRD (a parsed `apiextensions.k8s.io/v1` object). */
export const crdProperties = (crd: Json): KindOutline => ({
  kind: crd.spec.names.kind,
  plural: crd.spec.names.plural,
  scope: crd.spec.scope,
  shortNames: crd.spec.names.shortNames ?? [],
  versions: (crd.spec.versions as Array<Json>).map((version) => {
    const nodes: Record<string, NodeOutline> = {}
    const root = version.schema.openAPIV3Schema
    // apiVersion, kind and metadata are kube's own; only the root, spec and status are the kind's.
    for (const [key, child] of Object.entries<Json>(root.properties ?? {})) {
      if (key !== "apiVersion" && key !== "kind" && key !== "metadata") walk(child, key, nodes)
    }
    return {
      name: version.name,
      served: version.served,
      storage: version.storage,
      subresources: Object.keys(version.subresources ?? {}).sort(),
      printerColumns: (version.additionalPrinterColumns ?? []).map((c: Json) => ({
        name: c.name,
        type: c.type,
        jsonPath: c.jsonPath
      })),
      nodes
    }
  })
})
