/**
 * CustomResourceDefinitions for the Ark kinds, for the configuration where kube-apiserver serves
 * ark.mckinsey.com from etcd itself (and ark-effect runs the controller, query workers and
 * webhook only). Generated from the same registry and Effect schemas as the aggregated API
 * server's discovery and OpenAPI, so both configurations publish one API.
 */
import { stringify } from "yaml"
import { openApiSchema } from "./kinds.ts"
import type { Structural } from "./kinds/structural.ts"
import type { PrinterColumn, ResourceInfo } from "./registry.ts"
import { resources } from "./registry.ts"

export interface CustomResourceDefinition {
  readonly apiVersion: "apiextensions.k8s.io/v1"
  readonly kind: "CustomResourceDefinition"
  readonly metadata: { readonly name: string }
  readonly spec: {
    readonly group: string
    readonly names: {
      readonly kind: string
      readonly listKind: string
      readonly plural: string
      readonly singular: string
      readonly shortNames?: ReadonlyArray<string>
      readonly categories?: ReadonlyArray<string>
    }
    readonly scope: "Namespaced" | "Cluster"
    readonly versions: ReadonlyArray<{
      readonly name: string
      readonly served: boolean
      readonly storage: boolean
      readonly schema: { readonly openAPIV3Schema: Structural }
      readonly subresources: { readonly status: Record<string, never> }
      readonly additionalPrinterColumns: ReadonlyArray<PrinterColumn>
    }>
  }
}

/** The CRD of one kind: its one version served and stored, with the status subresource. */
export const customResourceDefinition = (info: ResourceInfo): CustomResourceDefinition => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${info.plural}.${info.group}` },
  spec: {
    group: info.group,
    names: {
      kind: info.kind,
      listKind: info.listKind,
      plural: info.plural,
      singular: info.singular,
      ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
      ...(info.categories.length > 0 ? { categories: info.categories } : {})
    },
    scope: info.namespaced ? "Namespaced" : "Cluster",
    versions: [{
      name: info.version,
      served: true,
      storage: true,
      schema: { openAPIV3Schema: openApiSchema(info) },
      subresources: { status: {} },
      additionalPrinterColumns: info.printerColumns
    }]
  }
})

export const customResourceDefinitions = (infos: ReadonlyArray<ResourceInfo> = resources) =>
  infos.map(customResourceDefinition)

/**
 * Every CRD as one multi-document YAML stream (`ark crds | kubectl apply -f -`). Schemas share
 * subtrees in memory; they are written out in full, since YAML aliases would only confuse readers.
 */
export const crdsYaml = (infos: ReadonlyArray<ResourceInfo> = resources): string =>
  customResourceDefinitions(infos)
    .map((crd) => stringify(crd, { aliasDuplicateObjects: false, lineWidth: 0 }))
    .join("---\n")
