/**
 * HTTP watches as kube-apiserver serves them: newline-delimited `{"type","object"}` frames over
 * one chunked response, in JSON, Table or PartialObjectMetadata form; bookmarks when asked for;
 * a failure after the stream started (too old, too slow) as one ERROR frame before the end.
 */
import { Array as Arr, Cause, Duration, Effect, Stream } from "effect"
import type { KubeObject } from "../../domain/object.ts"
import { partialObjectMetadata, table } from "../../domain/table.ts"
import type { ApiError, StorageError } from "../../services/errors.ts"
import { BadRequest, NotAcceptable } from "../../services/errors.ts"
import { storedResource } from "../../services/Storage.ts"
import type { WatchEvent } from "../../services/WatchHub.ts"
import { WatchHub } from "../../services/WatchHub.ts"
import type { ResourceRequest } from "./request.ts"
import { apiVersionOf, oneOf, representation, selectors } from "./request.ts"
import type { Reply } from "./response.ts"
import { includeMode, withMetaVersion } from "./response.ts"
import { toStatus } from "./status.ts"
import { boolParam, forbiddenOption, int64Param, invalidListOptions, isSet, resourceVersionParam } from "./params.ts"

/** Whether a request asks to watch (routing and limits; the handler refuses a malformed `watch` with a 400). */
export const isWatchQuery = (query: URLSearchParams) => isSet(query, "watch")

/** kube's default when a client gives no timeoutSeconds: a random time between 30 and 60 minutes. */
const defaultTimeout = () => Duration.seconds(1800 + Math.floor(Math.random() * 1800))

const encoder = new TextEncoder()
const frame = (type: string, object: string) => encoder.encode(`{"type":"${type}","object":${object}}\n`)

/** Plain JSON frames of an event are the same for every watcher that gets it: encoded once. */
const plainFrames = new WeakMap<WatchEvent, Uint8Array>()
const plainFrame = (e: Extract<WatchEvent, { object: string }>) => {
  let bytes = plainFrames.get(e)
  if (bytes === undefined) {
    bytes = frame(e.type, e.object)
    plainFrames.set(e, bytes)
  }
  return bytes
}

const invalid = (field: string, message: string) => invalidListOptions([forbiddenOption(field, message)])

export const watch = (req: ResourceRequest): Effect.Effect<Reply, ApiError, WatchHub> =>
  Effect.gen(function*() {
    const rep = yield* representation(req)
    if (rep._tag === "Discovery") return yield* new NotAcceptable({ message: "discovery documents are not watchable" })
    const hub = yield* WatchHub
    const { fields, labels } = yield* selectors(req)
    const match = yield* oneOf(req.query, "resourceVersionMatch", ["NotOlderThan", "Exact", ""], "")
    const sendInitialEvents = yield* boolParam(req.query, "sendInitialEvents")
    const allowBookmarks = (yield* boolParam(req.query, "allowWatchBookmarks")) === true
    if (sendInitialEvents !== undefined) {
      if (match !== "NotOlderThan") {
        return yield* invalid("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
      }
      if (sendInitialEvents && !allowBookmarks) {
        return yield* invalid("allowWatchBookmarks", "allowWatchBookmarks must be true when sendInitialEvents is set")
      }
    } else if (match !== "") {
      return yield* invalid("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
    }
    const timeout = yield* int64Param(req.query, "timeoutSeconds")
    if (timeout !== undefined && timeout < 0n) {
      return yield* new BadRequest({ message: `invalid timeoutSeconds "${timeout}": must not be negative` })
    }
    const timeoutSeconds = timeout === undefined ? undefined : Number(timeout)
    const resourceVersion = yield* resourceVersionParam(req.query)
    const byName = req.name === undefined ? [] : [{ field: "metadata.name" as const, operator: "=" as const, value: req.name }]
    const events = hub.watch(storedResource(req.info), {
      ...(req.namespace !== undefined ? { namespace: req.namespace } : {}),
      labelSelector: labels,
      fieldSelector: [...fields, ...byName],
      // sendInitialEvents=false with NotOlderThan: kube starts from "now" without replaying state.
      resourceVersion,
      ...(sendInitialEvents === true ? { sendInitialEvents: true } : {}),
      allowBookmarks,
      timeout: timeoutSeconds !== undefined ? Duration.seconds(timeoutSeconds) : defaultTimeout(),
      // kube ends a watcher that cannot keep up by closing its connection; its client relists.
      onTooSlow: req.closeConnection,
      // Live events the stream would only pass through are written by the hub's fan-out itself.
      ...(req.writeNow === undefined ? {} : { direct: (e: WatchEvent) => req.writeNow!(encode(e)) })
    })
    const info = req.info
    const includeObject = includeMode(req.query.get("includeObject") ?? undefined)
    let first = true
    /** The frame's `object`: stored text as is, or converted for Table and metadata-only watches. */
    const objectOf = (text: string): string => {
      if (rep._tag === "Object") return text
      const obj = JSON.parse(text) as KubeObject
      if (rep._tag === "PartialObjectMetadata") return JSON.stringify(withMetaVersion(partialObjectMetadata(obj), rep.version))
      const t = withMetaVersion(table(info.printerColumns, [obj], { resourceVersion: obj.metadata.resourceVersion ?? "" }, includeObject), rep.version)
      // Column definitions travel with the first event only, as kube sends them.
      const out = first ? t : { ...t, columnDefinitions: [] }
      first = false
      return JSON.stringify(out)
    }
    const bookmark = (rv: string, initialEventsEnd: boolean) =>
      JSON.stringify({
        kind: rep._tag === "Object" ? info.kind : rep._tag === "Table" ? "Table" : "PartialObjectMetadata",
        apiVersion: rep._tag === "Object" ? apiVersionOf(info) : `meta.k8s.io/${rep.version}`,
        metadata: {
          resourceVersion: rv,
          ...(initialEventsEnd ? { annotations: { "k8s.io/initial-events-end": "true" } } : {})
        }
      })
    const encode = (e: WatchEvent) =>
      e.type === "BOOKMARK"
        ? frame("BOOKMARK", bookmark(e.resourceVersion, e.initialEventsEnd))
        : rep._tag === "Object"
        ? plainFrame(e)
        : frame(e.type, objectOf(e.object))
    // One stream layer over the hub's (each layer costs every event of every watcher): an empty
    // first chunk, once the watch is registered, makes the server send the status line and
    // headers at once, so a client knows its watch is established before the first event; a
    // failure is one ERROR frame, then the end.
    const body = Stream.transformPull(events, (pull) =>
      Effect.sync(() => {
        let state: "new" | "open" | "failed" = "new"
        return Effect.suspend((): Effect.Effect<Arr.NonEmptyReadonlyArray<Uint8Array>, Cause.Done> => {
          if (state === "new") {
            state = "open"
            return Effect.succeed([new Uint8Array(0)])
          }
          if (state === "failed") return Cause.done()
          return pull.pipe(
            Effect.map(Arr.map(encode)),
            Effect.catchIf((e): e is StorageError => !Cause.isDone(e), (e) => {
              state = "failed"
              return Effect.succeed([frame("ERROR", JSON.stringify(toStatus(e)))] as const)
            })
          )
        })
      }))
    return { status: 200, body: body, contentType: "application/json" }
  })
