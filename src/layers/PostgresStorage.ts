/**
 * Storage on PostgreSQL (schema: PgSchema.ts). Each write is one statement that takes the
 * commit barrier shared, draws its rv and writes the rows, so a write costs one round trip
 * and the object's JSON text is stored with its rv spliced in (LIST streams it as is).
 *
 * With read replicas (PgReadReplicas in context), a GET or LIST that allows an older state
 * (resourceVersion "0", NotOlderThan N, Exact N, a continue token) goes to a replica that has
 * replayed what it needs; a read that failed there, and every other read, goes to the primary.
 */
import { Config, Data, Effect, Layer, Option, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import {
  isFinalized,
  markDeleted,
  maxObjectBytes,
  prepareCreate,
  prepareUpdate,
  splitAtResourceVersion,
  withResourceVersion
} from "../domain/lifecycle.ts"
import type { KubeObject } from "../domain/object.ts"
import type { FieldRequirement, LabelRequirement } from "../domain/selectors.ts"
import { generateObjectName, validateObjectMeta } from "../domain/validation.ts"
import {
  AlreadyExists,
  BadRequest,
  Conflict,
  Expired,
  Invalid,
  NotFound,
  TooLarge,
  TooNewResourceVersion,
  Unavailable
} from "../services/errors.ts"
import { Commits } from "../services/Commits.ts"
import type { Change, GetOptions, ListOptions, ListResult, StoredResource, Subresource, WriteOptions } from "../services/Storage.ts"
import { Storage } from "../services/Storage.ts"
import { commitBarrierKey, Event } from "./PgSchema.ts"
import type { ReadReplica } from "./PgReadReplicas.ts"
import { PgReadReplicas } from "./PgReadReplicas.ts"

/** How long a request for a future resourceVersion waits for it before failing (kube: 3 s). */
const futureRevisionWait = 3_000

/** The identifying fields every per-object error carries. */
const ident = (r: StoredResource, name: string) => ({ group: r.group, resource: r.plural, name })

const modifiedMessage = "the object has been modified; please apply your changes to the latest version and try again"

const expiredContinue =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."

/** Keyset position of a paginated LIST, pinned to the rv of its first page. */
interface ContinueToken {
  readonly rv: string
  readonly namespace: string
  readonly name: string
}

const encodeContinue = (t: ContinueToken): string =>
  Buffer.from(JSON.stringify({ v: "ark/1", rv: t.rv, ns: t.namespace, n: t.name })).toString("base64url")

const decodeContinue = (s: string): ContinueToken | undefined => {
  try {
    const t = JSON.parse(Buffer.from(s, "base64url").toString("utf8"))
    return t.v === "ark/1" && /^\d+$/.test(t.rv) && typeof t.ns === "string" && typeof t.n === "string"
      ? { rv: t.rv, namespace: t.ns, name: t.n }
      : undefined
  } catch {
    return undefined
  }
}

interface Row {
  readonly namespace: string
  readonly name: string
  readonly data: string
}

/** Byte order of (namespace, name), as the "C" collation of the key columns sorts them. */
const keyOrder = (a: Row, b: Row) =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0

/** Merges two key-ordered row lists; a key in both is the same version, kept once. */
const mergeByKey = (a: ReadonlyArray<Row>, b: ReadonlyArray<Row>): ReadonlyArray<Row> => {
  const out: Array<Row> = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const order = keyOrder(a[i]!, b[j]!)
    if (order === 0) j++
    out.push(order <= 0 ? a[i++]! : b[j++]!)
  }
  while (i < a.length) out.push(a[i++]!)
  while (j < b.length) out.push(b[j++]!)
  return out
}

/** Builds `$n` placeholders while a statement's text is assembled. */
class Params {
  readonly values: Array<unknown> = []
  add(v: unknown): string {
    this.values.push(v)
    return `$${this.values.length}`
  }
}

/** Label and field selectors as SQL over the current-row columns (`labels` is indexed with GIN). */
const selectorSql = (
  p: Params,
  labels: ReadonlyArray<LabelRequirement>,
  fields: ReadonlyArray<FieldRequirement>
): string => {
  const conds: Array<string> = []
  for (const r of labels) {
    const key = () => p.add(r.key)
    switch (r.operator) {
      case "=":
        conds.push(`labels @> ${p.add(JSON.stringify({ [r.key]: r.values[0] }))}::jsonb`)
        break
      case "!=":
        conds.push(`NOT labels @> ${p.add(JSON.stringify({ [r.key]: r.values[0] }))}::jsonb`)
        break
      case "in":
        conds.push(`labels->>${key()} = ANY(${p.add(r.values)}::text[])`)
        break
      case "notin":
        {
        const k = key()
        conds.push(`(labels->>${k} IS NULL OR NOT labels->>${k} = ANY(${p.add(r.values)}::text[]))`)
        break
      }
      case "exists":
        conds.push(`labels ? ${key()}`)
        break
      case "!exists":
        conds.push(`NOT labels ? ${key()}`)
        break
    }
  }
  for (const f of fields) {
    const column = f.field === "metadata.name" ? "name" : "namespace"
    conds.push(`${column} ${f.operator === "=" ? "=" : "<>"} ${p.add(f.value)}`)
  }
  return conds.map((c) => ` AND ${c}`).join("")
}

/** A read on a replica failed: it is retried on the primary. */
class ReplicaFailed extends Data.TaggedError("ReplicaFailed")<{ readonly cause: unknown }> {}

/** Runs one statement on some server (the primary, or a replica) and fails with `E`. */
type Query<E> = <A extends object>(text: string, params: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<A>, E>

/** A read that can run on any server; `replayed` is the rv a replica has replayed (undefined: the primary). */
interface Read<A, E> {
  <E2>(query: Query<E2>, replayed: bigint | undefined): Effect.Effect<A, E | E2>
}

/**
 * The state a LIST must reflect, from its resourceVersion parameters (kube's semantics): the
 * newest ("": always the primary), any state not older than an rv ("0" is not older than 0), or
 * exactly an rv (Exact N, or the snapshot a continue token is pinned to).
 */
type ListAt =
  | { readonly _tag: "Newest" }
  | { readonly _tag: "NotOlderThan"; readonly rv: bigint }
  | { readonly _tag: "Exact"; readonly rv: bigint; readonly expired: string; readonly wait: boolean }

/** The rv a GET's answer must not be older than; undefined for "" and anything else (the primary). */
const getAtLeast = (rv: string | undefined): bigint | undefined =>
  rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : undefined

const causeMessage = (e: SqlError): string => {
  const cause = e.reason.cause
  return cause instanceof Error ? cause.message : e.message
}

export interface PostgresStorageOptions {
  /** Attempts for a statement that failed with a retryable error (connection lost, serialization). */
  readonly retries: number
}

export const makePostgresStorage = (options: PostgresStorageOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const commits = yield* Commits
    const replicas = Option.getOrUndefined(yield* Effect.serviceOption(PgReadReplicas))

    const retry = Schedule.exponential("50 millis").pipe(
      Schedule.setInputType<SqlError>(),
      Schedule.while(({ input }) => input.isRetryable),
      Schedule.upTo({ times: options.retries })
    )

    /**
     * Runs one statement; transient failures are retried, then reported as Unavailable. Any
     * other SQL error is a bug of ours, not the client's, so it is a defect.
     */
    const run: Query<Unavailable> = <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe<A>(text, params).pipe(
        Effect.retry(retry),
        Effect.catch((e) =>
          e.isRetryable
            ? Effect.fail(new Unavailable({ message: `storage unavailable: ${causeMessage(e)}` }))
            : Effect.die(e)
        )
      )

    const invalid = (r: StoredResource, name: string, causes: ReadonlyArray<{ reason: string; message: string; field: string }>) =>
      new Invalid({ kind: r.kind, group: r.group, name, causes: [...causes] })

    const checkSize = (r: StoredResource, name: string, prefix: string, suffix: string) =>
      prefix.length + suffix.length > maxObjectBytes
        ? Effect.fail(
          new TooLarge({ message: `${r.plural}.${r.group} "${name}": object exceeds the maximum size of ${maxObjectBytes} bytes` })
        )
        : Effect.void

    const namespaceOf = (r: StoredResource, obj: KubeObject) => r.namespaced ? obj.metadata.namespace ?? "" : ""

    /** Statements on a replica: any failure there (down, conflict with recovery) is retried on the primary. */
    const onReplica = (replica: ReadReplica): Query<ReplicaFailed> => <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
      replica.sql.unsafe<A>(text, params).pipe(Effect.mapError((cause) => new ReplicaFailed({ cause })))

    /** Runs `read` on a replica that has replayed `atLeast` when there is one, else on the primary. */
    const routed = <A, E>(atLeast: bigint | undefined, read: Read<A, E>): Effect.Effect<A, E | Unavailable> => {
      const onPrimary = read(run, undefined)
      if (atLeast === undefined || replicas === undefined) return onPrimary
      return Effect.flatMap(replicas.pick(atLeast), (replica) =>
        replica === undefined
          ? onPrimary
          : read(onReplica(replica), replica.replayedRv).pipe(
            Effect.catchIf(
              (e): e is ReplicaFailed => e instanceof ReplicaFailed,
              (e) => Effect.andThen(replicas.failed(replica, e.cause), onPrimary)
            )
          ))
    }

    const readCurrent = <E>(query: Query<E>, r: StoredResource, namespace: string, name: string) =>
      query<{ rv: string; data: string }>(
        `SELECT rv::text AS rv, data FROM ark_objects WHERE resource = $1 AND namespace = $2 AND name = $3 AND superseded_rv IS NULL`,
        [r.key, namespace, name]
      ).pipe(
        Effect.flatMap((rows) =>
          rows.length === 0
            ? Effect.fail(new NotFound(ident(r, name)))
            : Effect.succeed(JSON.parse(rows[0]!.data) as KubeObject)
        )
      )

    const insertObject = (r: StoredResource, obj: KubeObject) => {
      const { prefix, suffix } = splitAtResourceVersion(obj)
      const name = obj.metadata.name!
      return checkSize(r, name, prefix, suffix).pipe(
        Effect.andThen(run<{ rv: string }>(
          `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(${commitBarrierKey})),
                v AS MATERIALIZED (SELECT nextval('ark_rv') AS rv FROM l)
           INSERT INTO ark_objects (rv, resource, namespace, name, event, uid, labels, data)
           SELECT v.rv, $1, $2, $3, ${Event.Added}, $4, $5::jsonb, $6 || v.rv || $7 FROM v
           ON CONFLICT (resource, namespace, name) WHERE superseded_rv IS NULL DO NOTHING
           RETURNING rv::text AS rv`,
          [r.key, namespaceOf(r, obj), name, obj.metadata.uid, JSON.stringify(obj.metadata.labels ?? {}), prefix, suffix]
        )),
        Effect.flatMap((rows) =>
          rows.length === 0
            ? Effect.fail(new AlreadyExists(ident(r, name)))
            : Effect.as(commits.publish(r.key), withResourceVersion(obj, rows[0]!.rv))
        )
      )
    }

    /**
     * Replaces version `expectedRv` with `obj` (or with a tombstone), atomically: the statement
     * writes nothing when another writer got there first. Returns the new rv, if written.
     */
    const replace = (r: StoredResource, obj: KubeObject, expectedRv: string, event: number) => {
      const { prefix, suffix } = splitAtResourceVersion(obj)
      const name = obj.metadata.name!
      return checkSize(r, name, prefix, suffix).pipe(
        Effect.andThen(run<{ rv: string }>(
          `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(${commitBarrierKey})),
                v AS MATERIALIZED (SELECT nextval('ark_rv') AS rv FROM l),
                old AS (UPDATE ark_objects SET superseded_rv = (SELECT rv FROM v)
                        WHERE resource = $1 AND namespace = $2 AND name = $3 AND superseded_rv IS NULL AND rv = $4
                        RETURNING 1)
           INSERT INTO ark_objects (rv, resource, namespace, name, superseded_rv, event, uid, labels, data)
           SELECT v.rv, $1, $2, $3, CASE WHEN $5::smallint = ${Event.Deleted} THEN v.rv END, $5, $6, $7::jsonb,
                  $8 || v.rv || $9
           FROM v, old
           RETURNING rv::text AS rv`,
          [
            r.key,
            namespaceOf(r, obj),
            name,
            expectedRv,
            event,
            obj.metadata.uid,
            JSON.stringify(obj.metadata.labels ?? {}),
            prefix,
            suffix
          ]
        )),
        Effect.flatMap((rows) => rows[0] === undefined ? Effect.undefined : Effect.as(commits.publish(r.key), rows[0].rv))
      )
    }

    const create = (r: StoredResource, object: KubeObject, opts: WriteOptions = {}) =>
      Effect.gen(function*() {
        const meta = object.metadata ?? {}
        const generated = meta.name === undefined || meta.name === ""
        const causes = validateObjectMeta(meta, { namespaced: r.namespaced, requireName: false })
        if (causes.length > 0) return yield* invalid(r, meta.name ?? meta.generateName ?? "", causes)
        if (generated && !meta.generateName) {
          return yield* invalid(r, "", [{
            reason: "FieldValueRequired",
            field: "metadata.name",
            message: "Required value: name or generateName is required"
          }])
        }
        const attempt = Effect.suspend(() => {
          const name = generated ? generateObjectName(meta.generateName!) : meta.name!
          const prepared = prepareCreate(object, {
            uid: randomUUID(),
            now: Date.now(),
            name,
            namespace: r.namespaced ? meta.namespace : undefined,
            ...(r.initialStatus !== undefined ? { initialStatus: r.initialStatus } : {})
          })
          if (opts.dryRun) {
            const { prefix, suffix } = splitAtResourceVersion(prepared)
            return checkSize(r, name, prefix, suffix).pipe(
              Effect.andThen(
                run<{ n: number }>(
                  `SELECT 1 AS n FROM ark_objects WHERE resource = $1 AND namespace = $2 AND name = $3 AND superseded_rv IS NULL`,
                  [r.key, namespaceOf(r, prepared), name]
                )
              ),
              Effect.flatMap((rows) =>
                rows.length > 0
                  ? Effect.fail(new AlreadyExists(ident(r, name)))
                  : Effect.succeed(prepared)
              )
            )
          }
          return insertObject(r, prepared)
        })
        // A generated name that collides is drawn again, as kube-apiserver does.
        return yield* generated
          ? attempt.pipe(Effect.retry({ times: 3, while: (e) => e._tag === "AlreadyExists" }))
          : attempt
      })

    const guaranteedUpdate = <E>(
      r: StoredResource,
      namespace: string,
      name: string,
      mutate: (current: KubeObject) => Effect.Effect<KubeObject, E>,
      opts: WriteOptions & { readonly subresource?: Subresource } = {}
    ) =>
      Effect.gen(function*() {
        const ns = r.namespaced ? namespace : ""
        while (true) {
          const current = yield* readCurrent(run, r, ns, name)
          const currentRv = current.metadata.resourceVersion!
          const desired = yield* mutate(current)
          const wantRv = desired.metadata?.resourceVersion
          if (wantRv !== undefined && wantRv !== "" && wantRv !== currentRv) {
            return yield* new Conflict({ ...ident(r, name), detail: modifiedMessage })
          }
          if (opts.subresource !== "status") {
            const causes = validateObjectMeta(
              { ...desired.metadata, name, namespace: current.metadata.namespace },
              { namespaced: r.namespaced, requireName: true }
            )
            if (causes.length > 0) return yield* invalid(r, name, causes)
          }
          const decision = prepareUpdate(current, desired, opts.subresource ?? "main")
          if (decision._tag === "Conflict") {
            return yield* new Conflict({ ...ident(r, name), detail: decision.message })
          }
          if (decision._tag === "Invalid") return yield* invalid(r, name, decision.causes)
          const next = decision.object
          const finalized = isFinalized(next)
          if (opts.dryRun) return withResourceVersion(next, currentRv)
          const rv = yield* replace(r, next, currentRv, finalized ? Event.Deleted : Event.Modified)
          if (rv !== undefined) return withResourceVersion(next, rv)
          // Lost the race: a client-chosen rv is now stale; otherwise read again and retry.
          if (wantRv !== undefined && wantRv !== "") {
            return yield* new Conflict({ ...ident(r, name), detail: modifiedMessage })
          }
        }
      })

    const update = (
      r: StoredResource,
      object: KubeObject,
      opts: WriteOptions & { readonly subresource?: Subresource } = {}
    ) => {
      const name = object.metadata?.name ?? ""
      const rv = object.metadata?.resourceVersion
      if (rv === undefined || rv === "") {
        return Effect.fail(invalid(r, name, [{
          reason: "FieldValueInvalid",
          field: "metadata.resourceVersion",
          message: "Invalid value: 0x0: must be specified for an update"
        }]))
      }
      return guaranteedUpdate(r, object.metadata.namespace ?? "", name, () => Effect.succeed(object), opts)
    }

    const del = (
      r: StoredResource,
      namespace: string,
      name: string,
      opts: { readonly dryRun?: boolean; readonly preconditions?: { uid?: string; resourceVersion?: string } } = {}
    ) =>
      Effect.gen(function*() {
        const ns = r.namespaced ? namespace : ""
        while (true) {
          const current = yield* readCurrent(run, r, ns, name)
          const meta = current.metadata
          const pre = opts.preconditions ?? {}
          if (pre.uid !== undefined && pre.uid !== meta.uid) {
            return yield* new Conflict({
              ...ident(r, name),
              detail: `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`
            })
          }
          if (pre.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
            return yield* new Conflict({
              ...ident(r, name),
              detail:
                `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`
            })
          }
          const pending = (meta.finalizers ?? []).length > 0
          const next = pending ? markDeleted(current, Date.now()) : current
          if (opts.dryRun || (pending && next === current)) return { object: next, deleted: !pending }
          const rv = yield* replace(r, next, meta.resourceVersion!, pending ? Event.Modified : Event.Deleted)
          if (rv !== undefined) return { object: withResourceVersion(next, rv), deleted: !pending }
        }
      })

    /** Waits (briefly) until every rv up to `rv` has committed; kube answers a future rv the same way. */
    const frontierAtLeast = (rv: bigint) =>
      Effect.gen(function*() {
        const deadline = Date.now() + futureRevisionWait
        while (true) {
          const f = yield* frontier
          if (f >= rv) return f
          if (Date.now() > deadline) {
            return yield* new TooNewResourceVersion({
              message: `Too large resource version: ${rv}, current: ${f}`
            })
          }
          yield* Effect.sleep("50 millis")
        }
      })

    const frontier: Effect.Effect<bigint, Unavailable> = run<{ f: string }>(`SELECT ark_frontier()::text AS f`, []).pipe(
      Effect.map((rows) => BigInt(rows[0]!.f))
    )

    const purgeFloor = <E>(query: Query<E>, r: StoredResource) =>
      query<{ rv: string }>(`SELECT rv::text AS rv FROM ark_purge_floor WHERE resource = $1`, [r.key]).pipe(
        Effect.map((rows) => BigInt(rows[0]?.rv ?? "0"))
      )

    /** What a LIST must reflect, and where a continued one resumes. */
    const listPlan = (opts: ListOptions) =>
      Effect.gen(function*() {
        if (opts.continue !== undefined && opts.continue !== "") {
          const token = decodeContinue(opts.continue)
          if (token === undefined) return yield* new BadRequest({ message: "continue key is not valid" })
          const at: ListAt = { _tag: "Exact", rv: BigInt(token.rv), expired: expiredContinue, wait: false }
          return { at, after: { namespace: token.namespace, name: token.name } }
        }
        const rv = opts.resourceVersion ?? ""
        if (rv !== "" && !/^\d+$/.test(rv)) {
          return yield* new BadRequest({ message: `invalid resource version "${rv}"` })
        }
        if (opts.resourceVersionMatch === "Exact") {
          if (rv === "" || rv === "0") {
            return yield* new BadRequest({
              message: "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"\" or \"0\""
            })
          }
          const at: ListAt = { _tag: "Exact", rv: BigInt(rv), expired: `too old resource version: ${rv}`, wait: true }
          return { at, after: undefined }
        }
        const at: ListAt = rv === "" ? { _tag: "Newest" } : { _tag: "NotOlderThan", rv: BigInt(rv) }
        return { at, after: undefined }
      })

    /**
     * The rv a LIST reads at. On the primary: the frontier (waiting for a future rv). On a replica
     * (`replayed` set): the rv it has replayed, or its purge floor when compaction replayed there
     * is newer (a compaction commits after every rv it covers, so the replica has those too).
     */
    const snapshotOf = <E>(query: Query<E>, r: StoredResource, at: ListAt, replayed: bigint | undefined) =>
      Effect.gen(function*() {
        switch (at._tag) {
          case "Newest":
            return yield* frontier
          case "NotOlderThan": {
            if (replayed !== undefined) {
              const floor = yield* purgeFloor(query, r)
              return replayed > floor ? replayed : floor
            }
            return at.rv === 0n ? yield* frontier : yield* frontierAtLeast(at.rv)
          }
          case "Exact": {
            if (at.wait && replayed === undefined) yield* frontierAtLeast(at.rv)
            if (at.rv < (yield* purgeFloor(query, r))) return yield* new Expired({ message: at.expired })
            return at.rv
          }
        }
      })

    const list = (r: StoredResource, opts: ListOptions = {}) =>
      Effect.flatMap(listPlan(opts), ({ after, at }) =>
        routed<ListResult, Expired | TooNewResourceVersion | Unavailable>(
          at._tag === "Newest" ? undefined : at.rv,
          (query, replayed) => listPage(query, r, opts, at, replayed, after)
        ))

    const listPage = <E>(
      query: Query<E>,
      r: StoredResource,
      opts: ListOptions,
      at: ListAt,
      replayed: bigint | undefined,
      after: { readonly namespace: string; readonly name: string } | undefined
    ) =>
      Effect.gen(function*() {
        const snapshot = yield* snapshotOf(query, r, at, replayed)
        const p = new Params()
        const R = p.add(snapshot.toString())
        const res = p.add(r.key)
        let where = ""
        const inNamespace = r.namespaced && opts.namespace !== undefined && opts.namespace !== ""
        if (inNamespace) where += ` AND namespace = ${p.add(opts.namespace)}`
        // Within one namespace the keyset is the name alone, which the index can seek to directly.
        if (after !== undefined) {
          where += inNamespace
            ? ` AND name > ${p.add(after.name)}`
            : ` AND (namespace, name) > (${p.add(after.namespace)}, ${p.add(after.name)})`
        }
        where += selectorSql(p, opts.labelSelector ?? [], opts.fieldSelector ?? [])
        const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined
        // The snapshot is the current rows not newer than it, plus the versions that were replaced
        // after it (few: only recent history). Each is read on its own, in key order, so the current
        // rows stream out of their index without a sort, and the two are merged here. The current
        // rows are read first: a row superseded between the two reads then shows up in both (the
        // same version, kept once), and none can slip between them.
        const limitSql = limit === undefined ? "" : ` LIMIT ${p.add(limit + 1)}`
        const branch = (which: string) =>
          query<Row>(
            `SELECT namespace, name, data FROM ark_objects WHERE resource = ${res} AND ${which} AND rv <= ${R}${where}
             ORDER BY namespace, name${limitSql}`,
            p.values
          )
        const current = yield* branch("superseded_rv IS NULL")
        const replaced = yield* branch(`superseded_rv > ${R} AND event <> ${Event.Deleted}`)
        const merged = replaced.length === 0 ? current : mergeByKey(current, replaced)
        const rows = limit === undefined ? merged : merged.slice(0, limit + 1)
        const more = limit !== undefined && rows.length > limit
        const page = more ? rows.slice(0, limit) : rows
        const last = page[page.length - 1]
        return {
          resourceVersion: snapshot.toString(),
          items: page.map((row) => row.data),
          ...(more && last !== undefined
            ? { continue: encodeContinue({ rv: snapshot.toString(), namespace: last.namespace, name: last.name }) }
            : {})
        }
      })

    const changes = (r: StoredResource, after: string, upTo: string) =>
      Effect.gen(function*() {
        if (BigInt(after) < (yield* purgeFloor(run, r))) {
          return yield* new Expired({ message: `too old resource version: ${after}` })
        }
        const rows = yield* run<{ rv: string; event: number; namespace: string; name: string; labels: string; previous: string | null; data: string }>(
          `SELECT c.rv::text AS rv, c.event, c.namespace, c.name, c.labels::text AS labels, p.labels::text AS previous, c.data
           FROM ark_objects c
           LEFT JOIN ark_objects p ON c.event = ${Event.Modified} AND p.resource = c.resource AND p.superseded_rv = c.rv
           WHERE c.resource = $1 AND c.rv > $2 AND c.rv <= $3
           ORDER BY c.rv`,
          [r.key, after, upTo]
        )
        return rows.map((row): Change => ({
          type: row.event === Event.Added ? "ADDED" : row.event === Event.Deleted ? "DELETED" : "MODIFIED",
          resourceVersion: row.rv,
          namespace: row.namespace,
          name: row.name,
          labels: JSON.parse(row.labels),
          ...(row.previous === null ? {} : { previousLabels: JSON.parse(row.previous) }),
          object: row.data
        }))
      })

    const compact = (r: StoredResource, revision: string) =>
      run<{ n: number }>(
        `WITH floor AS (
           INSERT INTO ark_purge_floor (resource, rv) VALUES ($1, $2)
           ON CONFLICT (resource) DO UPDATE SET rv = GREATEST(ark_purge_floor.rv, EXCLUDED.rv)
         ), gone AS (
           DELETE FROM ark_objects WHERE resource = $1 AND superseded_rv IS NOT NULL AND superseded_rv <= $2 RETURNING 1
         )
         SELECT count(*)::int AS n FROM gone`,
        [r.key, revision]
      ).pipe(Effect.map((rows) => rows[0]?.n ?? 0))

    return Storage.of({
      create,
      get: (r, namespace, name, opts?: GetOptions) =>
        routed(getAtLeast(opts?.resourceVersion), (query) => readCurrent(query, r, r.namespaced ? namespace : "", name)),
      update,
      guaranteedUpdate,
      delete: del,
      list,
      currentRevision: Effect.map(frontier, (f) => f.toString()),
      changes,
      compact
    })
  })

/**
 * Storage on the SqlClient in context (a PgClient; the schema must already be migrated), with
 * the in-process Commits signal it publishes to (the watch hub of the same process listens).
 */
export const layer = Layer.effect(
  Storage,
  Effect.flatMap(Config.Int("ARK_STORAGE_RETRIES").pipe(Config.withDefault(4)), (retries) =>
    makePostgresStorage({ retries }))
).pipe(Layer.provideMerge(Commits.layer))
