/** LIST (kube's handlers/get.go ListResource): a page from storage, or the newest state from the watch hub. */
import { Effect } from "effect"
import YAML from "yaml"
import type { KubeObject } from "../../domain/object.ts"
import { textOf } from "../../domain/object.ts"
import { partialObjectMetadataList, table } from "../../domain/table.ts"
import { BadRequest, NotAcceptable } from "../../services/errors.ts"
import type { ListOptions } from "../../services/Storage.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import { WatchHub } from "../../services/WatchHub.ts"
import { boolParam, forbiddenOption, int64Param, invalidListOptions, parseInt64, resourceVersionParam } from "./params.ts"
import type { ResourceRequest } from "./request.ts"
import { oneOf, representation, selectors } from "./request.ts"
import { includeMode, json, listBody, withMetaVersion } from "./response.ts"

/** The largest page asked of a store: more than any holds, and still exact as a JS number plus one. */
const maxListLimit = 2 ** 31

/**
 * A LIST's options, checked as kube's ValidateListOptions (for a list, not a watch) and its
 * storage do: a resourceVersionMatch needs a resourceVersion and no continue, sendInitialEvents
 * is for watches, a continue token carries its own resourceVersion.
 */
const listOptions = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const { fields, labels } = yield* selectors(req)
    const limitText = req.query.get("limit")
    // kube reads an int64; a limit beyond any store's size is the same as one at its size.
    const limitValue = limitText === null || limitText === "" ? undefined : parseInt64(limitText) ?? -1n
    if (limitValue !== undefined && limitValue < 0n) {
      return yield* new BadRequest({ message: `invalid limit "${limitText}": must be a non-negative integer` })
    }
    const limit = limitValue === undefined ? undefined : Math.min(Number(limitValue), maxListLimit)
    yield* int64Param(req.query, "timeoutSeconds")
    yield* boolParam(req.query, "allowWatchBookmarks")
    const sendInitialEvents = yield* boolParam(req.query, "sendInitialEvents")
    const match = yield* oneOf(req.query, "resourceVersionMatch", ["NotOlderThan", "Exact", ""], "")
    const resourceVersion = yield* resourceVersionParam(req.query)
    const continueToken = req.query.get("continue") ?? ""
    const causes = [
      ...(match !== "" && resourceVersion === ""
        ? [forbiddenOption("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided")]
        : []),
      ...(match !== "" && continueToken !== ""
        ? [forbiddenOption("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided")]
        : []),
      ...(sendInitialEvents !== undefined ? [forbiddenOption("sendInitialEvents", "sendInitialEvents is forbidden for list")] : [])
    ]
    if (causes.length > 0) return yield* invalidListOptions(causes)
    if (continueToken !== "" && resourceVersion !== "" && resourceVersion !== "0") {
      return yield* new BadRequest({ message: "specifying resource version is not allowed when using continue" })
    }
    const options: ListOptions = {
      ...(req.namespace !== undefined ? { namespace: req.namespace } : {}),
      labelSelector: labels,
      fieldSelector: fields,
      ...(limit !== undefined && limit > 0 ? { limit } : {}),
      ...(continueToken !== "" ? { continue: continueToken } : {}),
      resourceVersion,
      ...(match !== "" ? { resourceVersionMatch: match } : {})
    }
    return options
  })

const objects = (texts: ReadonlyArray<string>) => texts.map((t) => JSON.parse(t) as KubeObject)

export const list = (req: ResourceRequest) =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    const storage = yield* Storage
    const options = yield* listOptions(req)
    // An unpaginated read of the newest state is served from the watch hub's memory.
    const fromCache = options.limit === undefined && options.continue === undefined &&
      (options.resourceVersion === "" || options.resourceVersion === "0") && options.resourceVersionMatch === undefined
    const page: { readonly resourceVersion: string; readonly continue?: string; readonly items: ReadonlyArray<string | Uint8Array> } = fromCache
      ? yield* (yield* WatchHub).list(storedResource(req.info), options)
      : yield* storage.list(storedResource(req.info), options)
    const listMeta = { resourceVersion: page.resourceVersion, ...(page.continue === undefined ? {} : { continue: page.continue }) }
    const parsed = () => objects(page.items.map((item) => typeof item === "string" ? item : textOf(item)))
    switch (rep._tag) {
      case "Table":
        return json(200, JSON.stringify(withMetaVersion(table(req.info.printerColumns, parsed(), listMeta, includeMode(req.query.get("includeObject") ?? undefined)), rep.version)))
      case "PartialObjectMetadata":
        return json(200, JSON.stringify(withMetaVersion(partialObjectMetadataList(parsed(), listMeta), rep.version)))
      case "Object":
        if (rep.format === "yaml") {
          return { status: 200, body: YAML.stringify(JSON.parse(textOf(listBody(req.info, page.resourceVersion, page.items, page.continue)))), contentType: "application/yaml" }
        }
        return json(200, listBody(req.info, page.resourceVersion, page.items, page.continue))
      case "Discovery":
        return yield* new NotAcceptable({ message: "discovery documents are served at /apis" })
    }
  })
