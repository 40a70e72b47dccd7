/**
 * ResourceReader over the Kubernetes REST API (KubeRestClient: client-node's credentials), so
 * the engine reads what it runs as upstream's engine does: from ark itself (the kubeconfig of
 * the `ark serve` it is embedded in), from $KUBECONFIG, or in a pod from kube-apiserver, which
 * serves Secrets and proxies ark.mckinsey.com to ark.
 */
import { Effect, Layer } from "effect"
import type { KubeObject } from "../../domain/object.ts"
import { apiPath } from "../../domain/registry.ts"
import type { ResourceType } from "../../services/ResourceReader.ts"
import { ResourceNotFound, ResourceReadFailed, ResourceReader } from "../../services/ResourceReader.ts"
import type { KubeRestClient } from "../KubeRestClient.ts"
import { connect } from "../KubeRestClient.ts"

const basePath = (type: ResourceType) => apiPath(type.group, type.version)

/** The `message` of a kube Status body, else the body's start. */
const statusMessage = (body: string) => {
  try {
    const parsed = JSON.parse(body) as { message?: unknown }
    if (typeof parsed.message === "string") return parsed.message
  } catch {
    // Not JSON: the raw text says more than nothing.
  }
  return body.slice(0, 200)
}

/**
 * The reader of `target`, connected on first use: an `ark serve` that reads itself writes its
 * kubeconfig only once it listens, after the workers that use the reader have started.
 */
export const make = (target: string): ResourceReader["Service"] => {
  let client: KubeRestClient | undefined
  const connected = Effect.suspend(() =>
    client !== undefined ? Effect.succeed(client) : Effect.tap(connect(target), (c) => Effect.sync(() => (client = c)))
  )
  const read = (path: string) =>
    connected.pipe(
      Effect.flatMap((c) => c.request("GET", path)),
      Effect.mapError((e) => new ResourceReadFailed({ message: e.message }))
    )
  return ResourceReader.of({
    get: (type, namespace, name) =>
      Effect.flatMap(read(`${basePath(type)}/namespaces/${encodeURIComponent(namespace)}/${type.plural}/${encodeURIComponent(name)}`), (res): Effect.Effect<KubeObject, ResourceNotFound | ResourceReadFailed> => {
        const what = `${type.singular} ${namespace}/${name}`
        if (res.status === 404) return Effect.fail(new ResourceNotFound({ what, message: `${what} not found` }))
        if (res.status !== 200) return Effect.fail(new ResourceReadFailed({ message: `reading ${what}: HTTP ${res.status}: ${statusMessage(res.body)}` }))
        return Effect.succeed(JSON.parse(res.body) as KubeObject)
      }),
    list: (type, namespace, labelSelector) =>
      Effect.flatMap(
        read(`${basePath(type)}/namespaces/${encodeURIComponent(namespace)}/${type.plural}?labelSelector=${encodeURIComponent(labelSelector)}`),
        (res) =>
          res.status === 200
            ? Effect.succeed((JSON.parse(res.body) as { items: ReadonlyArray<KubeObject> }).items)
            : Effect.fail(new ResourceReadFailed({ message: `listing ${type.plural} in ${namespace}: HTTP ${res.status}: ${statusMessage(res.body)}` }))
      )
  })
}

/** `target`: a kubeconfig file, an http(s) URL, or "" for client-node's default configuration. */
export const layer = (target: string): Layer.Layer<ResourceReader> => Layer.sync(ResourceReader, () => make(target))
