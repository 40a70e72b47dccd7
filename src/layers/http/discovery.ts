/**
 * Discovery documents for the served groups (ark.mckinsey.com, coordination.k8s.io): the legacy
 * APIGroupList / APIGroup / APIResourceList and aggregated discovery (apidiscovery.k8s.io v2 and
 * v2beta1), all derived from the registry.
 */
import type { ResourceInfo } from "../../domain/registry.ts"
import { group as arkGroup, servedGroups, servedResources } from "../../domain/registry.ts"

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
    groupVersion: `${group}/${version}`,
    resources: kinds.flatMap((r) => [
      apiResource(r),
      ...(r.status !== undefined
        ? [{ name: `${r.plural}/status`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: statusVerbs }]
        : [])
    ])
  }
}

export const aggregatedDiscovery = (apiVersion: "v2" | "v2beta1") => ({
  kind: "APIGroupDiscoveryList",
  apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
  metadata: {},
  items: servedGroups.map((g) => ({
    metadata: { name: g.name, creationTimestamp: null },
    versions: g.versions.map((version) => ({
      version,
      resources: served(g.name, version).map((r) => ({
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
    }))
  }))
})

/**
 * The core group in standalone mode, where no core resource is served. The legacy form lists no
 * versions: client-go's caching discovery reports a listed version without resources as a
 * failure. The aggregated form (what kubectl asks for) lists v1 without resources, with no such
 * check, and kube's RESTMapper maps `kind: List` through every listed version: so kubectl can
 * apply the List that `kubectl get -o yaml` writes.
 */
export const legacyVersions = (serverAddress: string) => ({
  kind: "APIVersions",
  versions: [],
  serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }]
})

export const coreDiscovery = (apiVersion: "v2" | "v2beta1") => ({
  kind: "APIGroupDiscoveryList",
  apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
  metadata: {},
  items: [{ metadata: { creationTimestamp: null }, versions: [{ version: "v1", resources: [], freshness: "Current" }] }]
})

/** /api/v1 in standalone mode: no core resources are served here. */
export const legacyResources = { kind: "APIResourceList", apiVersion: "v1", groupVersion: "v1", resources: [] }
