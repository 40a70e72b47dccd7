/**
 * Storage over a Kubernetes API server that serves Ark's CRDs (`ark crds`): the CRD
 * configuration, where kube-apiserver keeps Ark objects in its own etcd and ark never sees that
 * etcd. Every verb is kube's own (create, get, update, /status, delete with preconditions and
 * propagation, list with selectors and pagination, dry runs); kube applies the object semantics
 * (uid, generation, finalizers, CRD defaults), and its Status answers map to the same typed
 * errors as the other stores (./errors.ts).
 *
 * resourceVersions and continue tokens are kube's and passed through as they are. The layer
 * orders the versions of one kind's watch (kube's are etcd revisions, decimal integers), and
 * never computes one.
 *
 * Change feed (./feed.ts): one watch per kind per process, resumed from the last version it
 * delivered, relisting on 410, with bookmarks; its recent changes are kept in memory for the watch
 * hub, whose frontier for a kind is the last version that kind's watch delivered.
 */
import { Context, Effect, Layer, PubSub, Stream } from "effect"
import { isResourceVersion } from "../../domain/lifecycle.ts"
import type { KubeObject } from "../../domain/object.ts"
import { apiPath, group as arkGroup, resources, storageKey } from "../../domain/registry.ts"
import { formatLabelSelector } from "../../domain/selectors.ts"
import { validateObjectMeta } from "../../domain/validation.ts"
import { Commits, RemoteCommits } from "../../services/Commits.ts"
import type { StorageError } from "../../services/errors.ts"
import { BadRequest, Conflict, Expired, Unavailable } from "../../services/errors.ts"
import type { DeleteOptions, DeleteResult, GetOptions, ListOptions, StoredResource, UpdateOptions, WriteOptions } from "../../services/Storage.ts"
import { Storage, storedResource } from "../../services/Storage.ts"
import { checkSize, ident, invalid, modifiedMessage } from "../storage/objectSemantics.ts"
import { expiredContinue, tooOldResourceVersion } from "../storage/errors.ts"
import { fromStatus, statusOf } from "./errors.ts"
import { makeFeeds } from "./feed.ts"
import type { KubeAnswer } from "./KubeClient.ts"
import { KubeClient, KubeUnreachable } from "./KubeClient.ts"

/** The Ark kinds, by storage key: the version each is served at, and its stored-resource shape. */
const kinds = new Map(resources.map((info) => [storageKey(info), { version: info.version, resource: storedResource(info) }]))

/** Metadata the server owns: dropped from what is sent for a create. */
const serverOwned = ["resourceVersion", "uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"] as const

const parse = (body: string) => JSON.parse(body) as KubeObject

export const make = Effect.gen(function*() {
  const client = yield* KubeClient
  const remote = yield* PubSub.sliding<string>(4096)

  const versionOf = (r: StoredResource) => kinds.get(r.key)?.version
  /** The collection's path (in `namespace`, or across namespaces when it is ""). */
  const collection = (r: StoredResource, namespace: string) => {
    const version = versionOf(r) ?? "v1alpha1"
    return `${apiPath(r.group, version)}${r.namespaced && namespace !== "" ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${r.plural}`
  }
  const itemPath = (r: StoredResource, namespace: string, name: string) => `${collection(r, namespace)}/${encodeURIComponent(name)}`

  /** A request whose failure is the store being unreachable. */
  const call = (method: string, path: string, body?: unknown): Effect.Effect<KubeAnswer, Unavailable> =>
    client.request(method, path, body).pipe(Effect.mapError((e) => new Unavailable({ message: `storage unavailable: ${e.message}` })))

  /** A request that must answer 2xx: its body, or the typed error of its Status. */
  const ok = (r: StoredResource, name: string, method: string, path: string, body?: unknown) =>
    Effect.flatMap(call(method, path, body), (answer) =>
      answer.status >= 200 && answer.status < 300 ? Effect.succeed(answer.body) : Effect.fail(fromStatus(r, name, answer)))

  // At start, one clear failure rather than watches retrying for ever: the server, and Ark's CRDs on it.
  const probe = yield* client.request("GET", apiPath(arkGroup, "v1alpha1")).pipe(
    Effect.timeoutOrElse({
      duration: "5 seconds",
      orElse: () => Effect.fail(new KubeUnreachable({ message: `kube-apiserver at ${client.server} did not answer within 5 s` }))
    }),
    Effect.mapError((e) => new KubeUnreachable({ message: e.message.startsWith("kube-apiserver") ? e.message : `kube-apiserver at ${client.server} is unreachable: ${e.message}` }))
  )
  if (probe.status === 404) {
    return yield* new KubeUnreachable({ message: `kube-apiserver at ${client.server} does not serve ${arkGroup}: apply Ark's CRDs first (ark crds | kubectl apply --server-side -f -)` })
  }
  if (probe.status !== 200) {
    return yield* new KubeUnreachable({ message: `kube-apiserver at ${client.server} answered ${probe.status} for ${arkGroup}: ${statusOf(probe.body).message ?? ""}` })
  }

  const feeds = yield* makeFeeds({
    client,
    collection,
    kinds: [...kinds.values()].map((k) => k.resource),
    onChange: (key) => PubSub.publishUnsafe(remote, key)
  })

  const query = (params: Record<string, string | undefined>) => {
    const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")
    return entries.length === 0 ? "" : `?${new URLSearchParams(entries).toString()}`
  }
  const dry = (opts: WriteOptions) => (opts.dryRun ? "?dryRun=All" : "")

  const bodyOf = (r: StoredResource, obj: KubeObject) => ({ ...obj, apiVersion: `${r.group}/${versionOf(r)}`, kind: r.kind })

  const create = (r: StoredResource, object: KubeObject, opts: WriteOptions = {}) =>
    Effect.gen(function*() {
      const meta: Record<string, unknown> = { ...object.metadata }
      const name = (meta["name"] as string | undefined) ?? ""
      const causes = validateObjectMeta(meta, { namespaced: r.namespaced, requireName: false })
      if (causes.length > 0) return yield* invalid(r, name || ((meta["generateName"] as string | undefined) ?? ""), causes)
      if (name === "" && !meta["generateName"]) {
        return yield* invalid(r, "", [{ reason: "FieldValueRequired", field: "metadata.name", message: "Required value: name or generateName is required" }])
      }
      for (const field of serverOwned) delete meta[field]
      const { status: _ignored, ...rest } = object as KubeObject & { status?: unknown }
      const body = bodyOf(r, { ...rest, metadata: meta } as KubeObject)
      yield* checkSize(r, name, JSON.stringify(body).length)
      const namespace = r.namespaced ? ((meta["namespace"] as string | undefined) ?? "") : ""
      const created = parse(yield* ok(r, name, "POST", `${collection(r, namespace)}${dry(opts)}`, body))
      if (r.initialStatus === undefined || opts.dryRun) return created
      // kube drops status on create: the kind's first status is its own write.
      return parse(yield* ok(r, created.metadata.name!, "PUT", `${itemPath(r, namespace, created.metadata.name!)}/status`, { ...created, status: r.initialStatus }))
    })

  const get = (r: StoredResource, namespace: string, name: string, opts: GetOptions = {}) =>
    Effect.map(ok(r, name, "GET", `${itemPath(r, r.namespaced ? namespace : "", name)}${query({ resourceVersion: opts.resourceVersion })}`), parse)

  /** One PUT of `obj` (main resource or /status) at its resourceVersion: the stored object, or "lost" on a version conflict. */
  const put = (r: StoredResource, obj: KubeObject, opts: UpdateOptions) =>
    Effect.gen(function*() {
      const name = obj.metadata.name ?? ""
      const body = bodyOf(r, obj)
      yield* checkSize(r, name, JSON.stringify(body).length)
      const path = `${itemPath(r, r.namespaced ? obj.metadata.namespace ?? "" : "", name)}${opts.subresource === "status" ? "/status" : ""}${dry(opts)}`
      const answer = yield* call("PUT", path, body)
      if (answer.status === 200 || answer.status === 201) return parse(answer.body)
      if (answer.status === 409 && statusOf(answer.body).reason === "Conflict") return "lost" as const
      return yield* fromStatus(r, name, answer)
    })

  const update = (r: StoredResource, object: KubeObject, opts: UpdateOptions = {}) =>
    Effect.gen(function*() {
      const name = object.metadata?.name ?? ""
      const rv = object.metadata?.resourceVersion
      if (rv === undefined || rv === "") {
        return yield* invalid(r, name, [{ reason: "FieldValueInvalid", field: "metadata.resourceVersion", message: "Invalid value: 0x0: must be specified for an update" }])
      }
      const written = yield* put(r, object, opts)
      if (written === "lost") return yield* new Conflict({ ...ident(r, name), detail: modifiedMessage })
      return written
    })

  const guaranteedUpdate = <E>(
    r: StoredResource,
    namespace: string,
    name: string,
    mutate: (current: KubeObject) => Effect.Effect<KubeObject, E>,
    opts: UpdateOptions = {}
  ): Effect.Effect<KubeObject, StorageError | E> =>
    Effect.gen(function*() {
      const ns = r.namespaced ? namespace : ""
      const attempt = (current: KubeObject) =>
        Effect.gen(function*() {
          const currentRv = current.metadata.resourceVersion!
          const desired = yield* mutate(current)
          const wantRv = desired.metadata?.resourceVersion
          if (wantRv !== undefined && wantRv !== "" && wantRv !== currentRv) {
            return yield* new Conflict({ ...ident(r, name), detail: modifiedMessage })
          }
          return yield* put(r, { ...desired, metadata: { ...desired.metadata, name, ...(r.namespaced ? { namespace: ns } : {}), resourceVersion: currentRv } }, opts)
        })
      // A dry run checks against the stored version: with nothing written, a stale one would go unnoticed.
      let cached = opts.dryRun ? undefined : opts.cached
      while (true) {
        const fromCache = cached !== undefined
        const current = cached ?? (yield* get(r, ns, name))
        cached = undefined
        // A failure decided on the cached version stands only if that version is still the stored one.
        const result: KubeObject | "lost" = fromCache
          ? yield* attempt(current).pipe(Effect.catch((e) =>
            Effect.flatMap(get(r, ns, name), (stored) =>
              stored.metadata.resourceVersion === current.metadata.resourceVersion ? Effect.fail(e) : Effect.succeed("lost" as const))
          ))
          : yield* attempt(current)
        if (result !== "lost") return result
      }
    })

  const del = (r: StoredResource, namespace: string, name: string, opts: DeleteOptions = {}): Effect.Effect<DeleteResult, StorageError> =>
    Effect.gen(function*() {
      const ns = r.namespaced ? namespace : ""
      const pre = opts.preconditions ?? {}
      const body = {
        apiVersion: "v1",
        kind: "DeleteOptions",
        ...(pre.uid !== undefined || pre.resourceVersion !== undefined ? { preconditions: pre } : {}),
        ...(opts.propagationPolicy !== undefined ? { propagationPolicy: opts.propagationPolicy } : {}),
        ...(opts.dryRun ? { dryRun: ["All"] } : {})
      }
      // kube answers a removal with a Status: the last state comes from the feed's DELETED event,
      // awaited from before the request so that it cannot pass unseen.
      return yield* Effect.scoped(Effect.gen(function*() {
        const removed = yield* feeds.awaitDeletion(r, ns, name)
        const answer = yield* ok(r, name, "DELETE", itemPath(r, ns, name), body)
        const parsed = JSON.parse(answer) as KubeObject & { status?: unknown }
        if (parsed.kind !== "Status") {
          return { object: parsed, deleted: (parsed.metadata.finalizers ?? []).length === 0 && parsed.metadata.deletionTimestamp === undefined }
        }
        if (opts.dryRun) return { object: yield* get(r, ns, name), deleted: true }
        const uid = statusOf(answer).details?.uid
        return { object: yield* removed(uid), deleted: true }
      }))
    })

  /**
   * The version each continue token this process handed out was read at (the newest ones), so a
   * compaction here expires them as it expires history; tokens of other processes are kube's to judge.
   */
  const issued = new Map<string, bigint>()

  const list = (r: StoredResource, opts: ListOptions = {}) =>
    Effect.gen(function*() {
      const rv = opts.resourceVersion ?? ""
      const floor = feeds.floor(r)
      const tokenAt = opts.continue === undefined ? undefined : issued.get(opts.continue)
      if (tokenAt !== undefined && tokenAt <= floor) return yield* new Expired({ message: expiredContinue })
      if (opts.resourceVersionMatch === "Exact" && isResourceVersion(rv) && rv !== "0" && BigInt(rv) <= floor) {
        return yield* new Expired({ message: tooOldResourceVersion(rv) })
      }
      if (rv !== "" && !isResourceVersion(rv)) return yield* new BadRequest({ message: `invalid resource version "${rv}"` })
      if (opts.resourceVersionMatch === "Exact" && (rv === "" || rv === "0") && opts.continue === undefined) {
        return yield* new BadRequest({ message: "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"\" or \"0\"" })
      }
      const continued = opts.continue !== undefined && opts.continue !== ""
      const path = collection(r, opts.namespace ?? "") + query({
        labelSelector: opts.labelSelector === undefined ? undefined : formatLabelSelector(opts.labelSelector),
        fieldSelector: opts.fieldSelector?.map((f) => `${f.field}${f.operator}${f.value}`).join(","),
        limit: opts.limit !== undefined && opts.limit > 0 ? String(opts.limit) : undefined,
        continue: continued ? opts.continue : undefined,
        // A continue token carries its own point in time.
        resourceVersion: continued ? undefined : rv,
        resourceVersionMatch: continued || rv === "" ? undefined : opts.resourceVersionMatch
      })
      const body = JSON.parse(yield* ok(r, "", "GET", path)) as { metadata: { resourceVersion: string; continue?: string }; items: Array<unknown> }
      const token = body.metadata.continue
      if (token !== undefined && token !== "") {
        issued.set(token, BigInt(body.metadata.resourceVersion))
        if (issued.size > 10_000) issued.delete(issued.keys().next().value!)
      }
      return {
        resourceVersion: body.metadata.resourceVersion,
        items: body.items.map((item) => JSON.stringify(item)),
        ...(token !== undefined && token !== "" ? { continue: token } : {})
      }
    })

  /** The version kube has reached: the resourceVersion of a consistent one-item LIST. */
  const currentRevision = Effect.map(list([...kinds.values()][0]!.resource, { limit: 1 }), (l) => l.resourceVersion)

  const storage = Storage.of({
    create,
    get,
    update,
    guaranteedUpdate,
    delete: del,
    list,
    currentRevision,
    frontiers: feeds.frontiers,
    changes: feeds.changes,
    compact: (r, revision) => Effect.sync(() => feeds.compact(r, revision))
  })
  return { storage, remoteCommits: RemoteCommits.of({ changes: Stream.fromPubSub(remote) }) }
})

/**
 * Storage on kube-apiserver through the KubeClient in context, with the RemoteCommits its watches
 * announce (every replica's writes, and anyone else's) and the in-process Commits signal.
 */
export const layer: Layer.Layer<Storage | Commits | RemoteCommits, KubeUnreachable, KubeClient> = Layer.effectContext(
  Effect.map(make, ({ remoteCommits, storage }) => Context.make(Storage, storage).pipe(Context.add(RemoteCommits, remoteCommits)))
).pipe(Layer.provideMerge(Commits.layer))
