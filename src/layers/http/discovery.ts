/**
 * Discovery documents for ark.mckinsey.com: the legacy APIGroupList / APIGroup / APIResourceList
 * and aggregated discovery (apidiscovery.k8s.io v2 and v2beta1), all derived from the registry.
 */
import type { ResourceInfo } from "../../domain/registry.ts"
import { group, resources, versions } from "../../domain/registry.ts"

export const resourceVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] as const
const statusVerbs = ["get", "patch", "update"] as const

const served = (version: string) => resources.filter((r) => r.version === version)

const groupVersion = (version: string) => ({ groupVersion: `${group}/${version}`, version })

/** Versions that serve at least one kind, in preference order. */
export const servedVersions = versions.filter((v) => served(v).length > 0)

const apiGroup = () => ({
  name: group,
  versions: servedVersions.map(groupVersion),
  preferredVersion: groupVersion(servedVersions[0]!)
})

export const groupList = () => ({ kind: "APIGroupList", apiVersion: "v1", groups: [apiGroup()] })

export const groupDocument = () => ({ kind: "APIGroup", apiVersion: "v1", ...apiGroup() })

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
export const resourceList = (version: string) => {
  const kinds = served(version)
  if (kinds.length === 0) return undefined
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: `${group}/${version}`,
    resources: kinds.flatMap((r) => [
      apiResource(r),
      { name: `${r.plural}/status`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: statusVerbs }
    ])
  }
}

export const aggregatedDiscovery = (apiVersion: "v2" | "v2beta1") => ({
  kind: "APIGroupDiscoveryList",
  apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
  metadata: {},
  items: [{
    metadata: { name: group, creationTimestamp: null },
    versions: servedVersions.map((version) => ({
      version,
      resources: served(version).map((r) => ({
        resource: r.plural,
        responseKind: { group: "", version: "", kind: r.kind },
        scope: r.namespaced ? "Namespaced" : "Cluster",
        singularResource: r.singular,
        verbs: resourceVerbs,
        ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
        ...(r.categories.length > 0 ? { categories: r.categories } : {}),
        subresources: [{
          subresource: "status",
          responseKind: { group: "", version: "", kind: r.kind },
          verbs: statusVerbs
        }]
      })),
      freshness: "Current"
    }))
  }]
})

/**
 * What /api says in standalone mode: no core versions, since none is served here (an empty v1
 * makes discovery clients report it as a failure).
 */
export const legacyVersions = (serverAddress: string) => ({
  kind: "APIVersions",
  versions: [],
  serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }]
})
