/** POST of a new object (kube's handlers/create.go), with its first managedFields entry. */
import { Effect } from "effect"
import { BadRequest } from "../../services/errors.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import { fieldManagement, trackWrite, writeManager } from "./fieldmanager.ts"
import type { ResourceRequest } from "./request.ts"
import { decodeObject, dryRunOf, representation } from "./request.ts"
import { renderObject } from "./response.ts"

export const create = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const dryRun = yield* dryRunOf(req.query)
    const manager = yield* writeManager(req.query, req.userAgent, "CreateOptions")
    const { object, warnings } = yield* decodeObject(req, yield* req.body)
    if (req.info.namespaced && object.metadata.namespace === undefined) {
      return yield* new BadRequest({ message: "the namespace of the object must be set in the URL or the body" })
    }
    const fm = yield* fieldManagement(req.info, undefined)
    const created = yield* storage.create(storedResource(req.info), trackWrite(fm, undefined, object, manager), { dryRun })
    return renderObject(req.info, rep, created, 201, warnings)
  })
