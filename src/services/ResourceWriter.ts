/**
 * Writes Kubernetes objects by group, version and plural: what the completions engine records
 * for a human to answer (a ToolApprovalRequest), through the same API it reads from, so that a
 * paused Query's state lives in the store and not in the engine's process.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { KubeObject } from "../domain/object.ts"
import type { ResourceType } from "./ResourceReader.ts"

/** The API server refused or could not take the write. */
export class ResourceWriteFailed extends Schema.TaggedError<ResourceWriteFailed>()("ResourceWriteFailed", {
  message: Schema.String,
  /** The object exists already (409 AlreadyExists on create). */
  exists: Schema.optionalKey(Schema.Boolean)
}) {}

export class ResourceWriter extends Context.Service<ResourceWriter, {
  readonly create: (type: ResourceType, namespace: string, object: KubeObject) => Effect.Effect<KubeObject, ResourceWriteFailed>
  /** A JSON merge patch of the object's status subresource. */
  readonly patchStatus: (type: ResourceType, namespace: string, name: string, status: Record<string, unknown>) => Effect.Effect<KubeObject, ResourceWriteFailed>
  /** Any request to the same API, with its credentials: ark's own endpoints (the built-in memory). */
  readonly send: (method: string, path: string, body?: unknown) => Effect.Effect<{ readonly status: number; readonly body: string }, ResourceWriteFailed>
}>()("ark-effect/services/ResourceWriter") {}
