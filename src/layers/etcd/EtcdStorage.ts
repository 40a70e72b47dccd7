/**
 * Storage on etcd, with kube-apiserver's key layout: `/registry/<group>/<plural>/<namespace>/<name>`
 * (cluster-scoped: `/registry/<group>/<plural>/<name>`), the object's JSON as the value and the
 * key's `mod_revision` as its resourceVersion. The same lifecycle rules as PostgreSQL
 * (src/domain/lifecycle.ts) decide what a write stores; etcd transactions make it atomic:
 * create on `create_revision == 0`, update and delete on `mod_revision == rv`.
 *
 * Values are stored with `"resourceVersion":""` (the rv is unknown until commit) and the
 * key's mod_revision is spliced into the text on every read, so LIST returns the stored text
 * without parsing it. LIST reads every page at the first page's revision and returns objects in
 * key order, as kube-apiserver on etcd does; label and field selectors are applied in memory.
 *
 * A finalized object (deletionTimestamp set, last finalizer removed by an update) is deleted in
 * one transaction, so its DELETED change carries the last stored state, as kube's does (the
 * PostgreSQL layer's tombstone holds the update's result instead).
 *
 * Compaction is etcd's own and global (every resource at once), as kube-apiserver compacts.
 * The change feed (`changes`, other replicas' commits) is feed.ts.
 */
import { Context, Effect, Layer } from "effect"
import type { Etcd3, IRequestOp } from "etcd3"
import { withResourceVersion } from "../../domain/lifecycle.ts"
import type { KubeObject } from "../../domain/object.ts"
import { matchesFields, matchesLabels } from "../../domain/selectors.ts"
import { Commits, RemoteCommits } from "../../services/Commits.ts"
import { AlreadyExists, BadRequest, Expired, NotFound, TooNewResourceVersion } from "../../services/errors.ts"
import type { ListOptions, StoredResource } from "../../services/Storage.ts"
import { Storage } from "../../services/Storage.ts"
import { invalidContinue } from "../storage/continueToken.ts"
import { expiredContinue, tooOldResourceVersion } from "../storage/errors.ts"
import { listStart, pageOf } from "../storage/paging.ts"
import { EtcdClient } from "./EtcdClient.ts"
import { call } from "./errors.ts"
import * as Feed from "./feed.ts"
import { labelsOf, markerKey, objectKey, objectPrefix, prefixEnd, revisionOf, spliceRv, storedText } from "./layout.ts"
import { checkSize, ident, namespaceOf, objectSemantics, revisionAtLeast } from "../storage/objectSemantics.ts"

/** Keyset position of a paginated LIST (the key after the resource prefix), pinned to the first page's revision. */
const continueVersion = "ark-etcd/1"

/** A key after the prefix: no path segment may climb out of the resource's prefix (kube refuses "..", too). */
const keyOf = (t: Record<string, unknown>) => {
  const k = t["k"]
  return typeof k === "string" && !k.split("/").some((segment) => segment === "." || segment === "..") ? k : undefined
}

export const make = Effect.gen(function*() {
  const client: Etcd3 = yield* EtcdClient
  const commits = yield* Commits
  const kv = client.kv
  const revisionNow = revisionOf(kv)

  const readCurrent = (r: StoredResource, namespace: string, name: string) =>
    call(() => kv.range({ key: Buffer.from(objectKey(r, namespace, name)) })).pipe(
      Effect.flatMap((res) => {
        const found = res.kvs[0]
        return found === undefined
          ? Effect.fail(new NotFound(ident(r, name)))
          : Effect.succeed(JSON.parse(spliceRv(found.value.toString("utf8"), found.mod_revision)) as KubeObject)
      })
    )

  const touchMarker = (r: StoredResource): IRequestOp => ({
    request_put: { key: Buffer.from(markerKey(r)), value: Buffer.alloc(0) }
  })

  /** Runs a write transaction; the new revision when the comparison held, undefined otherwise. */
  const write = (r: StoredResource, compare: Parameters<typeof kv.txn>[0]["compare"], op: IRequestOp) =>
    call(() => kv.txn({ compare, success: [op, touchMarker(r)], failure: [] })).pipe(
      Effect.flatMap((res) =>
        res.succeeded ? Effect.as(commits.publish(r.key), res.header.revision) : Effect.succeed(undefined)
      )
    )

  const insertObject = (r: StoredResource, obj: KubeObject) => {
    const name = obj.metadata.name!
    const text = storedText(obj)
    const key = Buffer.from(objectKey(r, namespaceOf(r, obj), name))
    return checkSize(r, name, text.length).pipe(
      Effect.andThen(write(r, [{ key, target: "Create", result: "Equal", create_revision: 0 }], {
        request_put: { key, value: Buffer.from(text) }
      })),
      Effect.flatMap((rv) =>
        rv === undefined ? Effect.fail(new AlreadyExists(ident(r, name))) : Effect.succeed(withResourceVersion(obj, rv))
      )
    )
  }

  /** Replaces version `expectedRv` with `obj`, or deletes it; the new revision, if this writer won. */
  const replace = (r: StoredResource, obj: KubeObject, expectedRv: string, remove: boolean) => {
    const name = obj.metadata.name!
    const key = Buffer.from(objectKey(r, namespaceOf(r, obj), name))
    const compare = [{ key, target: "Mod" as const, result: "Equal" as const, mod_revision: expectedRv }]
    if (remove) return write(r, compare, { request_delete_range: { key } })
    const text = storedText(obj)
    return checkSize(r, name, text.length).pipe(
      Effect.andThen(write(r, compare, { request_put: { key, value: Buffer.from(text) } }))
    )
  }

  const { create, guaranteedUpdate, update, delete: del } = objectSemantics({
    readCurrent,
    exists: (r, namespace, name) =>
      call(() => kv.range({ key: Buffer.from(objectKey(r, namespace, name)), count_only: true })).pipe(
        Effect.map((res) => res.count !== "0")
      ),
    insert: insertObject,
    // A removal leaves etcd: its DELETED event carries the last stored state, as kube's does.
    replace
  })

  /** Waits (briefly) until etcd has reached revision `rv`. */
  const atRevision = (rv: bigint) => revisionAtLeast(revisionNow, rv)

  const list = (r: StoredResource, opts: ListOptions = {}) =>
    Effect.gen(function*() {
      const inNamespace = r.namespaced && opts.namespace !== undefined && opts.namespace !== ""
      const base = objectPrefix(r) + (inNamespace ? `${opts.namespace}/` : "")
      const end = prefixEnd(base)
      let from = Buffer.from(base)
      /** The revision every chunk is read at; 0 until the first read pins the newest. */
      let revision = 0n
      let expiredMessage: (rv: bigint) => string = tooOldResourceVersion
      const start = yield* listStart(opts, continueVersion, keyOf)
      const continued = start._tag === "Continue"
      if (start._tag === "Continue") {
        revision = start.rv
        const after = Buffer.from(objectPrefix(r) + start.position + "\u0000")
        if (Buffer.compare(after, from) > 0) from = after
        expiredMessage = () => expiredContinue
      } else if (start._tag === "Exact") {
        revision = start.rv
        yield* atRevision(revision)
      } else if (start._tag === "NotOlderThan" && start.resourceVersion !== "0") {
        yield* atRevision(start.rv)
      }
      const labels = opts.labelSelector ?? []
      const fields = opts.fieldSelector ?? []
      const filtering = labels.length > 0 || fields.length > 0
      const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined
      const items: Array<{ readonly rest: string; readonly text: string }> = []
      const prefixLength = Buffer.byteLength(objectPrefix(r))
      while (true) {
        const wanted = limit === undefined ? 0 : filtering ? Math.max(limit + 1, 500) : limit + 1 - items.length
        const at = revision
        const res = yield* call(() => kv.range({ key: from, range_end: end, revision: at.toString(), limit: wanted })).pipe(
          Effect.catchTag("Expired", () => Effect.fail(new Expired({ message: expiredMessage(at) }))),
          // A continue token's revision was one etcd had reached: a future one was forged.
          Effect.catchTag("TooNewResourceVersion", (e): Effect.Effect<never, BadRequest | TooNewResourceVersion> => Effect.fail(continued ? invalidContinue() : e))
        )
        if (revision === 0n) revision = BigInt(res.header.revision)
        for (const item of res.kvs) {
          const rest = item.key.subarray(prefixLength).toString("utf8")
          const text = spliceRv(item.value.toString("utf8"), item.mod_revision)
          if (filtering) {
            const slash = r.namespaced ? rest.indexOf("/") : -1
            const metadata = { name: slash < 0 ? rest : rest.slice(slash + 1), namespace: slash < 0 ? "" : rest.slice(0, slash) }
            if (!matchesFields(fields, { metadata }) || !matchesLabels(labels, labelsOf(text))) continue
          }
          items.push({ rest, text })
          if (limit !== undefined && items.length > limit) break
        }
        const last = res.kvs[res.kvs.length - 1]
        if (!res.more || last === undefined || (limit !== undefined && items.length > limit)) break
        from = Buffer.concat([last.key, Buffer.from([0])])
      }
      return pageOf(items, limit, revision, continueVersion, (i) => i.text, (i) => ({ k: i.rest }))
    })

  const feed = yield* Feed.make

  let compactedThrough = 0n

  const compact = (_r: StoredResource, revision: string) =>
    Effect.gen(function*() {
      const rev = BigInt(revision)
      if (rev <= compactedThrough) return 0
      yield* call(() => kv.compact({ revision })).pipe(
        // Another replica (or an earlier call) compacted at or past it already.
        Effect.catchTag("Expired", () => Effect.void)
      )
      compactedThrough = rev
      feed.trimThrough(rev)
      // etcd does not report how many versions it dropped.
      return 0
    })

  const storage = Storage.of({
    create,
    get: (r, namespace, name) => readCurrent(r, r.namespaced ? namespace : "", name),
    update,
    guaranteedUpdate,
    delete: del,
    list,
    currentRevision: Effect.map(revisionNow, (rv) => rv.toString()),
    changes: feed.changes,
    compact
  })
  const remoteCommits = RemoteCommits.of({ changes: feed.remote })
  return { storage, remoteCommits }
})

/**
 * Storage on the etcd client in context, with the in-process Commits signal it publishes to and
 * the RemoteCommits of other replicas (its long-lived watch sees every replica's writes).
 */
export const layer: Layer.Layer<Storage | Commits | RemoteCommits, never, EtcdClient> = Layer.effectContext(
  Effect.map(make, ({ remoteCommits, storage }) =>
    Context.make(Storage, storage).pipe(Context.add(RemoteCommits, remoteCommits)))
).pipe(Layer.provideMerge(Commits.layer))
