/** PUT of an object or its /status (kube's handlers/update.go): a replace at the object's resourceVersion. */
import { Effect } from "effect"
import { missingResourceVersion } from "../../domain/lifecycle.ts"
import { Invalid } from "../../services/errors.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import { fieldManagement, trackWrite, writeManager } from "./fieldmanager.ts"
import type { ResourceRequest } from "./request.ts"
import { decodeObject, dryRunOf, representation } from "./request.ts"
import { renderObject } from "./response.ts"

export const update = (req: ResourceRequest, name: string) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const dryRun = yield* dryRunOf(req.query)
    const manager = yield* writeManager(req.query, req.userAgent, "UpdateOptions")
    const { object, warnings } = yield* decodeObject(req, yield* req.body)
    if ((object.metadata.resourceVersion ?? "") === "") {
      return yield* new Invalid({ kind: req.info.kind, group: req.info.group, name, causes: [missingResourceVersion] })
    }
    const fm = yield* fieldManagement(req.info, req.subresource)
    // Read-modify-write on the object's resourceVersion, so ownership is computed against what it replaces.
    const updated = yield* storage.guaranteedUpdate(
      storedResource(req.info),
      req.namespace ?? "",
      name,
      (current) => Effect.succeed(trackWrite(fm, current, { ...object, metadata: { ...object.metadata, name } }, manager)),
      { dryRun, subresource: fm.subresource }
    )
    return renderObject(req.info, rep, updated, 200, warnings)
  })
