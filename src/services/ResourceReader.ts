/**
 * Reads Kubernetes objects by group, version and plural: how the completions engine sees the
 * Query it runs and everything that Query names (Agent, Model, Tools, MCPServers, Secrets,
 * ConfigMaps), wherever they are served (ark itself, or kube-apiserver in a cluster).
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { KubeObject } from "../domain/object.ts"

export interface ResourceType {
  /** "" for the core group (Secrets, ConfigMaps). */
  readonly group: string
  readonly version: string
  readonly plural: string
  /** "secret", "query": how messages name an object of the type. */
  readonly singular: string
}

/** The object does not exist; `what` names it for messages ("secret team-a/openai-key"). */
export class ResourceNotFound extends Schema.TaggedError<ResourceNotFound>()("ResourceNotFound", {
  what: Schema.String,
  message: Schema.String
}) {}

/** The API server could not be reached or refused the read (other than 404). */
export class ResourceReadFailed extends Schema.TaggedError<ResourceReadFailed>()("ResourceReadFailed", {
  message: Schema.String
}) {}

export class ResourceReader extends Context.Service<ResourceReader, {
  readonly get: (type: ResourceType, namespace: string, name: string) => Effect.Effect<KubeObject, ResourceNotFound | ResourceReadFailed>
  /** Objects of a namespace matching a label selector (kube's query syntax), in the server's order. */
  readonly list: (type: ResourceType, namespace: string, labelSelector: string) => Effect.Effect<ReadonlyArray<KubeObject>, ResourceReadFailed>
}>()("ark-effect/services/ResourceReader") {}
