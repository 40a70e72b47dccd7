/** DELETE of an object or a collection (kube's handlers/delete.go), with DeleteOptions from query and body. */
import { Effect } from "effect"
import type { KubeObject } from "../../domain/object.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import { deleteOptions } from "./deleteOptions.ts"
import type { ResourceRequest } from "./request.ts"
import { parseBody, representation, selectors } from "./request.ts"
import { json, listBody, renderObject } from "./response.ts"

/** DeleteOptions from the query and the body (JSON or YAML; an empty body is none). */
const deleteOptionsOf = (req: ResourceRequest) =>
  deleteOptions(req.query, Effect.flatMap(req.body, (text) => text.trim() === "" ? Effect.succeed(undefined) : parseBody(text, req.contentType)))

export const remove = (req: ResourceRequest, name: string) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const options = yield* deleteOptionsOf(req)
    const result = yield* storage.delete(storedResource(req.info), req.namespace ?? "", name, options)
    return renderObject(req.info, rep, result.object, 200)
  })

/** Deletes every object the selectors match, as kube does: list, then delete each (finalizers honoured). */
export const removeCollection = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const options = yield* deleteOptionsOf(req)
    const { fields, labels } = yield* selectors(req)
    const page = yield* storage.list(storedResource(req.info), {
      ...(req.namespace !== undefined ? { namespace: req.namespace } : {}),
      labelSelector: labels,
      fieldSelector: fields
    })
    const deleted = yield* Effect.forEach(page.items, (text) => {
      const obj = JSON.parse(text) as KubeObject
      return storage.delete(storedResource(req.info), obj.metadata.namespace ?? "", obj.metadata.name!, options).pipe(
        Effect.map((r) => JSON.stringify(r.object)),
        // Gone meanwhile: nothing left to delete.
        Effect.catchTag("NotFound", () => Effect.succeed(undefined))
      )
    }, { concurrency: 8 })
    return json(200, listBody(req.info, page.resourceVersion, deleted.filter((d) => d !== undefined), undefined))
  })
