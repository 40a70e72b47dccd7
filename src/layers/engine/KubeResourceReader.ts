/**
 * ResourceReader (and ResourceWriter) over the Kubernetes REST API (KubeRestClient:
 * client-node's credentials), so the engine reads what it runs as upstream's engine does: from
 * ark itself (the kubeconfig of the `ark serve` it is embedded in), from $KUBECONFIG, or in a
 * pod from kube-apiserver, which serves Secrets and proxies ark.mckinsey.com to ark.
 */
import { Effect, Layer } from "effect"
import type { KubeObject } from "../../domain/object.ts"
import { apiPath } from "../../domain/registry.ts"
import type { ResourceType } from "../../services/ResourceReader.ts"
import { ResourceNotFound, ResourceReadFailed, ResourceReader } from "../../services/ResourceReader.ts"
import { ResourceWriteFailed, ResourceWriter } from "../../services/ResourceWriter.ts"
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
 * The client of `target`, connected on first use: an `ark serve` that reads itself writes its
 * kubeconfig only once it listens, after the workers that use the reader have started.
 */
const lazyClient = (target: string) => {
  let client: KubeRestClient | undefined
  return Effect.suspend(() =>
    client !== undefined ? Effect.succeed(client) : Effect.tap(connect(target), (c) => Effect.sync(() => (client = c)))
  )
}

export const make = (target: string): ResourceReader["Service"] => {
  const connected = lazyClient(target)
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

export const makeWriter = (target: string): ResourceWriter["Service"] => {
  const connected = lazyClient(target)
  const write = (method: string, path: string, body: unknown, what: string, contentType?: string) =>
    connected.pipe(
      Effect.flatMap((c) => c.request(method, path, body, contentType)),
      Effect.mapError((e) => new ResourceWriteFailed({ message: e.message })),
      Effect.flatMap((res) =>
        res.status === 200 || res.status === 201
          ? Effect.succeed(JSON.parse(res.body) as KubeObject)
          : Effect.fail(new ResourceWriteFailed({ message: `writing ${what}: HTTP ${res.status}: ${statusMessage(res.body)}`, ...(res.status === 409 ? { exists: true } : {}) }))
      )
    )
  const collection = (type: ResourceType, namespace: string) => `${basePath(type)}/namespaces/${encodeURIComponent(namespace)}/${type.plural}`
  return ResourceWriter.of({
    create: (type, namespace, object) => write("POST", collection(type, namespace), object, `${type.singular} ${namespace}/${object.metadata.name}`),
    patchStatus: (type, namespace, name, status) =>
      write("PATCH", `${collection(type, namespace)}/${encodeURIComponent(name)}/status`, { status }, `the status of ${type.singular} ${namespace}/${name}`, "application/merge-patch+json"),
    send: (method, path, body) =>
      connected.pipe(Effect.flatMap((c) => c.request(method, path, body)), Effect.mapError((e) => new ResourceWriteFailed({ message: e.message })))
  })
}

/** `target`: a kubeconfig file, an http(s) URL, or "" for client-node's default configuration. */
export const layer = (target: string): Layer.Layer<ResourceReader | ResourceWriter> =>
  Layer.mergeAll(Layer.sync(ResourceReader, () => make(target)), Layer.sync(ResourceWriter, () => makeWriter(target)))
