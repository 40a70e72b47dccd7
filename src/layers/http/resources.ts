/**
 * The REST verbs on Ark resources (kube's generic registry handlers), dispatched by method and
 * path: get, list, watch, create, update, patch, delete, deletecollection, and /status.
 */
import { Effect } from "effect"
import type { ApiError } from "../../services/errors.ts"
import { MethodNotAllowed } from "../../services/errors.ts"
import type { Storage } from "../../services/Storage.ts"
import type { WatchHub } from "../../services/WatchHub.ts"
import { create } from "./create.ts"
import { remove, removeCollection } from "./delete.ts"
import { get } from "./get.ts"
import { list } from "./list.ts"
import { boolParam } from "./params.ts"
import { patch } from "./patch.ts"
import type { ResourceRequest } from "./request.ts"
import type { Reply } from "./response.ts"
import { update } from "./update.ts"
import { watch } from "./watch.ts"

const notAllowed = (req: ResourceRequest) =>
  Effect.fail(new MethodNotAllowed({ message: `the server does not allow this method on the requested resource (${req.method})` }))

export const handleResource = (req: ResourceRequest): Effect.Effect<Reply, ApiError, Storage | WatchHub> => {
  const name = req.name
  const collection = name === undefined
  if (req.method === "GET" && req.subresource === undefined) {
    // `watch` is a boolean as kube reads it (Python's client sends `True`); a malformed one is a 400, not a list.
    return Effect.flatMap(boolParam(req.query, "watch"), (w) => req.watch || w === true ? watch(req) : collection ? list(req) : get(req, name))
  }
  if (req.subresource === "status") {
    switch (req.method) {
      case "GET":
        return get(req, name!)
      case "PUT":
        return update(req, name!)
      case "PATCH":
        return patch(req, name!)
      default:
        return notAllowed(req)
    }
  }
  // A namespaced kind across all namespaces can only be listed (and watched).
  if (req.info.namespaced && req.namespace === undefined && req.method !== "GET") return notAllowed(req)
  switch (req.method) {
    case "GET":
      return collection ? list(req) : get(req, name)
    case "POST":
      return collection ? create(req) : notAllowed(req)
    case "PUT":
      return collection ? notAllowed(req) : update(req, name)
    case "PATCH":
      return collection ? notAllowed(req) : patch(req, name)
    case "DELETE":
      return collection ? removeCollection(req) : remove(req, name)
    default:
      return notAllowed(req)
  }
}
