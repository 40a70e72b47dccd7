/** GET of one object (kube's handlers/get.go), at the resourceVersion asked for. */
import { Effect } from "effect"
import { Storage, storedResource } from "../../services/Storage.ts"
import { resourceVersionParam } from "./params.ts"
import type { ResourceRequest } from "./request.ts"
import { representation } from "./request.ts"
import { renderObject } from "./response.ts"

export const get = (req: ResourceRequest, name: string) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const obj = yield* storage.get(storedResource(req.info), req.namespace ?? "", name, {
      resourceVersion: yield* resourceVersionParam(req.query)
    })
    return renderObject(req.info, rep, obj, 200, undefined, req.query.get("includeObject") ?? undefined)
  })
