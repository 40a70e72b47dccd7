/**
 * Discovery documents for the served groups (ark.mckinsey.com, coordination.k8s.io): the legacy
 * APIGroupList / APIGroup / APIResourceList and aggregated discovery (apidiscovery.k8s.io v2 and
 * v2beta1), all derived from the registry.
 */
import type { ResourceInfo } from "../../domain/registry.ts"
import { coreGroup, group as arkGroup, groupVersionOf, servedGroups, servedResources } from "../../domain/registry.ts"

export const resourceVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] as const
const statusVerbs = ["get", "patch", "update"] as const

const served = (group: string, version: string) =>
  servedResources.filter((r) => r.group === group && r.version === version)

const groupVersion = (group: string, version: string) => ({ groupVersion: `${group}/${version}`, version })

/** Versions of ark.mckinsey.com that serve at least one kind, in preference order. */
export const servedVersions = servedGroups.find((g) => g.name === arkGroup)!.versions

const apiGroup = (g: typeof servedGroups[number]) => ({
  name: g.name,
  versions: g.versions.map((v) => groupVersion(g.name, v)),
  preferredVersion: groupVersion(g.name, g.versions[0]!)
})

export const groupList = () => ({ kind: "APIGroupList", apiVersion: "v1", groups: servedGroups.map(apiGroup) })

/** `/apis/<group>`, or undefined for a group not served here. */
export const groupDocument = (group: string) => {
  const g = servedGroups.find((s) => s.name === group)
  return g === undefined ? undefined : { kind: "APIGroup", apiVersion: "v1", ...apiGroup(g) }
}

const apiResource = (r: ResourceInfo) => ({
  name: r.plural,
  singularName: r.singular,
  namespaced: r.namespaced,
  kind: r.kind,
  verbs: resourceVerbs,
  ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
  ...(r.categories.length > 0 ? { categories: r.categories } : {})
})

/** The main resource comes before its /status, as kube lists them. */
export const resourceList = (group: string, version: string) => {
  const kinds = served(group, version)
  if (kinds.length === 0) return undefined
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: groupVersionOf(group, version),
    resources: kinds.flatMap((r) => [
      apiResource(r),
      ...(r.status !== undefined
        ? [{ name: `${r.plural}/status`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: statusVerbs }]
        : [])
    ])
  }
}

/** One served version of a group in aggregated discovery. */
const discoveryVersion = (group: string, version: string) => ({
  version,
  resources: served(group, version).map((r) => ({
    resource: r.plural,
    responseKind: { group: "", version: "", kind: r.kind },
    scope: r.namespaced ? "Namespaced" : "Cluster",
    singularResource: r.singular,
    verbs: resourceVerbs,
    ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    ...(r.status !== undefined
      ? {
        subresources: [{
          subresource: "status",
          responseKind: { group: "", version: "", kind: r.kind },
          verbs: statusVerbs
        }]
      }
      : {})
  })),
  freshness: "Current"
})

export const aggregatedDiscovery = (apiVersion: "v2" | "v2beta1") => ({
  kind: "APIGroupDiscoveryList",
  apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
  metadata: {},
  items: servedGroups.map((g) => ({
    metadata: { name: g.name, creationTimestamp: null },
    versions: g.versions.map((version) => discoveryVersion(g.name, version))
  }))
})

/** The core group in standalone mode: v1 with the core kinds served here (Secrets, ConfigMaps). */
export const legacyVersions = (serverAddress: string) => ({
  kind: "APIVersions",
  versions: ["v1"],
  serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }]
})

export const coreDiscovery = (apiVersion: "v2" | "v2beta1") => ({
  kind: "APIGroupDiscoveryList",
  apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
  metadata: {},
  items: [{ metadata: { creationTimestamp: null }, versions: [discoveryVersion(coreGroup, "v1")] }]
})

/** /api/v1 in standalone mode. */
export const legacyResources = resourceList(coreGroup, "v1")!
