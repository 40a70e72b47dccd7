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
import { isResourceVersion, splitAtResourceVersion, withResourceVersion } from "../../domain/lifecycle.ts"
import type { KubeObject } from "../../domain/object.ts"
import type { FieldRequirement, LabelRequirement } from "../../domain/selectors.ts"
import { AlreadyExists, BadRequest, Expired, NotFound, TooNewResourceVersion, Unavailable } from "../../services/errors.ts"
import { Commits } from "../../services/Commits.ts"
import type { Change, GetOptions, ListOptions, ListResult, StoredResource } from "../../services/Storage.ts"
import { Storage } from "../../services/Storage.ts"
import { isSafeToRetry, unavailableOrDie } from "./PgErrors.ts"
import { invalidContinue } from "../storage/continueToken.ts"
import { expiredContinue, tooOldResourceVersion } from "../storage/errors.ts"
import { listStart, pageOf } from "../storage/paging.ts"
import { checkSize, ident, namespaceOf, objectSemantics, revisionAtLeast } from "../storage/objectSemantics.ts"
import * as batched from "../storage/batched.ts"
import { commitBarrierKey, Event } from "./PgSchema.ts"
import type { ReadReplica } from "./PgReadReplicas.ts"
import { PgReadReplicas } from "./PgReadReplicas.ts"

/** Keyset position of a paginated LIST (after this namespace and name), pinned to the rv of its first page. */
const continueVersion = "ark/1"

const keyOf = (t: Record<string, unknown>) =>
  typeof t["ns"] === "string" && typeof t["n"] === "string" ? { namespace: t["ns"], name: t["n"] } : undefined

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

/** An object to insert, its JSON text split around the rv the statement draws. */
interface NewRow {
  readonly r: StoredResource
  readonly namespace: string
  readonly name: string
  readonly uid: string
  readonly labels: Record<string, string>
  readonly prefix: string
  readonly suffix: string
}

/** Most object text in one insert statement (a single larger object is written alone). */
const groupBytes = 4 * 1024 * 1024

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
  rv !== undefined && isResourceVersion(rv) ? BigInt(rv) : undefined

export interface PostgresStorageOptions {
  /** Attempts for a statement that failed without effect (no connection yet, rolled back). */
  readonly retries: number
}

export const make = (options: PostgresStorageOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const commits = yield* Commits
    const replicas = Option.getOrUndefined(yield* Effect.serviceOption(PgReadReplicas))

    const retry = Schedule.exponential("50 millis").pipe(
      Schedule.setInputType<SqlError>(),
      Schedule.while(({ input }) => isSafeToRetry(input)),
      Schedule.upTo({ times: options.retries })
    )

    /**
     * Runs one statement; failures that took no effect are retried, and an unusable database is
     * reported as Unavailable (an ambiguous one too: the client retries knowing it). Any
     * other SQL error is a bug of ours, not the client's, so it is a defect.
     */
    const run: Query<Unavailable> = <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe<A>(text, params).pipe(
        Effect.retry(retry),
        Effect.catch(unavailableOrDie((message) => new Unavailable({ message: `storage unavailable: ${message}` })))
      )

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

    /**
     * Writes new objects, a group per statement (one commit for a burst of creates): each gets its
     * rv, or none when its key is taken (by a current object, or by an earlier row of the group).
     * The group's commits are published in rv order.
     */
    const insertRows = (rows: ReadonlyArray<NewRow>) =>
      run<{ rv: string; uid: string }>(
        `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(${commitBarrierKey})),
              v AS MATERIALIZED (
                SELECT nextval('ark_rv') AS rv, x.* FROM l,
                  unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::jsonb[], $6::text[], $7::text[])
                    AS x(resource, namespace, name, uid, labels, prefix, suffix))
         INSERT INTO ark_objects (rv, resource, namespace, name, event, uid, labels, data)
         SELECT rv, resource, namespace, name, ${Event.Added}, uid, labels, prefix || rv || suffix FROM v
         ON CONFLICT (resource, namespace, name) WHERE superseded_rv IS NULL DO NOTHING
         RETURNING rv::text AS rv, uid::text AS uid`,
        [
          rows.map((w) => w.r.key),
          rows.map((w) => w.namespace),
          rows.map((w) => w.name),
          rows.map((w) => w.uid),
          rows.map((w) => JSON.stringify(w.labels)),
          rows.map((w) => w.prefix),
          rows.map((w) => w.suffix)
        ]
      ).pipe(Effect.flatMap((written) => {
        const rvByUid = new Map(written.map((w) => [w.uid, w.rv]))
        const published = rows
          .filter((w) => rvByUid.has(w.uid))
          .map((w): [StoredResource, Change] => {
            const rv = rvByUid.get(w.uid)!
            return [w.r, { type: "ADDED", resourceVersion: rv, namespace: w.namespace, name: w.name, labels: w.labels, object: w.prefix + rv + w.suffix }]
          })
          .sort(([, a], [, b]) => Number(BigInt(a.resourceVersion) - BigInt(b.resourceVersion)))
        return Effect.as(
          Effect.forEach(published, ([r, change]) => commits.publish(r.key, change), { discard: true }),
          rows.map((w) => rvByUid.get(w.uid))
        )
      }))

    const insertRow = yield* batched.make({ writers: 4, maxItems: 256, maxWeight: groupBytes, weigh: (w: NewRow) => w.prefix.length + w.suffix.length }, insertRows)

    const insertObject = (r: StoredResource, obj: KubeObject) => {
      const { prefix, suffix } = splitAtResourceVersion(obj)
      const name = obj.metadata.name!
      const namespace = namespaceOf(r, obj)
      return checkSize(r, name, prefix.length + suffix.length).pipe(
        Effect.andThen(insertRow({ r, namespace, name, uid: obj.metadata.uid!, labels: obj.metadata.labels ?? {}, prefix, suffix })),
        Effect.flatMap((rv) => rv === undefined ? Effect.fail(new AlreadyExists(ident(r, name))) : Effect.succeed(withResourceVersion(obj, rv)))
      )
    }

    /**
     * Replaces version `expectedRv` with `obj` (or with a tombstone), atomically: the statement
     * writes nothing when another writer got there first. Returns the new rv, if written.
     */
    const replace = (r: StoredResource, obj: KubeObject, expectedRv: string, event: number) => {
      const { prefix, suffix } = splitAtResourceVersion(obj)
      const name = obj.metadata.name!
      return checkSize(r, name, prefix.length + suffix.length).pipe(
        Effect.andThen(run<{ rv: string; previous: string }>(
          `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(${commitBarrierKey})),
                v AS MATERIALIZED (SELECT nextval('ark_rv') AS rv FROM l),
                old AS (UPDATE ark_objects SET superseded_rv = (SELECT rv FROM v)
                        WHERE resource = $1 AND namespace = $2 AND name = $3 AND superseded_rv IS NULL AND rv = $4
                        RETURNING labels),
                new AS (INSERT INTO ark_objects (rv, resource, namespace, name, superseded_rv, event, uid, labels, data)
                        SELECT v.rv, $1, $2, $3, CASE WHEN $5::smallint = ${Event.Deleted} THEN v.rv END, $5, $6, $7::jsonb,
                               $8 || v.rv || $9
                        FROM v, old
                        RETURNING rv)
           SELECT new.rv::text AS rv, old.labels::text AS previous FROM new, old`,
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
        Effect.flatMap((rows) => {
          const row = rows[0]
          if (row === undefined) return Effect.undefined
          const change: Change = {
            type: event === Event.Deleted ? "DELETED" : "MODIFIED",
            resourceVersion: row.rv,
            namespace: namespaceOf(r, obj),
            name,
            labels: obj.metadata.labels ?? {},
            ...(event === Event.Modified ? { previousLabels: JSON.parse(row.previous) as Record<string, string> } : {}),
            object: prefix + row.rv + suffix
          }
          return Effect.as(commits.publish(r.key, change), row.rv)
        })
      )
    }

    const { create, guaranteedUpdate, update, delete: del } = objectSemantics({
      readCurrent: (r, namespace, name) => readCurrent(run, r, namespace, name),
      exists: (r, namespace, name) =>
        run<{ n: number }>(
          `SELECT 1 AS n FROM ark_objects WHERE resource = $1 AND namespace = $2 AND name = $3 AND superseded_rv IS NULL`,
          [r.key, namespace, name]
        ).pipe(Effect.map((rows) => rows.length > 0)),
      insert: insertObject,
      // A removal is a tombstone row (superseded by itself) that watches and snapshots see.
      replace: (r, obj, expectedRv, removal) => replace(r, obj, expectedRv, removal ? Event.Deleted : Event.Modified)
    })

    /** Waits (briefly) until every rv up to `rv` has committed. */
    const frontierAtLeast = (rv: bigint) => revisionAtLeast(frontier, rv)

    const frontier: Effect.Effect<bigint, Unavailable> = run<{ f: string }>(`SELECT ark_frontier()::text AS f`, []).pipe(
      Effect.map((rows) => BigInt(rows[0]!.f))
    )

    /** The largest rv the store has handed out (committed or not). */
    const issued = <E>(query: Query<E>) =>
      query<{ rv: string }>(`SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS rv FROM ark_rv`, []).pipe(
        Effect.map((rows) => BigInt(rows[0]!.rv))
      )

    const purgeFloor = <E>(query: Query<E>, r: StoredResource) =>
      query<{ rv: string }>(`SELECT rv::text AS rv FROM ark_purge_floor WHERE resource = $1`, [r.key]).pipe(
        Effect.map((rows) => BigInt(rows[0]?.rv ?? "0"))
      )

    /** What a LIST must reflect, and where a continued one resumes. */
    const listPlan = (opts: ListOptions) =>
      Effect.map(listStart(opts, continueVersion, keyOf), (start): { readonly at: ListAt; readonly after: ReturnType<typeof keyOf> } => {
        switch (start._tag) {
          case "Continue":
            return { at: { _tag: "Exact", rv: start.rv, expired: expiredContinue, wait: false }, after: start.position }
          case "Exact":
            return { at: { _tag: "Exact", rv: start.rv, expired: tooOldResourceVersion(start.resourceVersion), wait: true }, after: undefined }
          case "NotOlderThan":
            return { at: { _tag: "NotOlderThan", rv: start.rv }, after: undefined }
          case "Newest":
            return { at: start, after: undefined }
        }
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
            // A continue token's rv was a snapshot of this store: one beyond every rv issued was forged.
            if (!at.wait && at.rv > (yield* issued(query))) return yield* invalidContinue()
            if (at.rv < (yield* purgeFloor(query, r))) return yield* new Expired({ message: at.expired })
            return at.rv
          }
        }
      })

    const list = (r: StoredResource, opts: ListOptions = {}) =>
      Effect.flatMap(listPlan(opts), ({ after, at }) =>
        routed<ListResult, BadRequest | Expired | TooNewResourceVersion | Unavailable>(
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
        return pageOf(rows, limit, snapshot, continueVersion, (row) => row.data, (row) => ({ ns: row.namespace, n: row.name }))
      })

    /**
     * One statement, so one round trip and one snapshot: the purge floor comes first (a row of its
     * own, with no change when there is none or when `after` is below it), then the changes. Read
     * apart, a compaction committing between the two could delete history the changes then miss.
     */
    const changes = (r: StoredResource, after: string, upTo: string) =>
      Effect.gen(function*() {
        const rows = yield* run<{ floor: string; rv: string | null; event: number; namespace: string; name: string; labels: string; previous: string | null; data: string }>(
          `SELECT f.floor::text AS floor, x.rv::text AS rv, x.event, x.namespace, x.name, x.labels, x.previous, x.data
           FROM (SELECT coalesce((SELECT rv FROM ark_purge_floor WHERE resource = $1), 0) AS floor) f
           LEFT JOIN LATERAL (
             SELECT c.rv, c.event, c.namespace, c.name, c.labels::text AS labels, p.labels::text AS previous, c.data
             FROM ark_objects c
             LEFT JOIN ark_objects p ON c.event = ${Event.Modified} AND p.resource = c.resource AND p.superseded_rv = c.rv
             WHERE c.resource = $1 AND c.rv > $2 AND c.rv <= $3
           ) x ON $2::bigint >= f.floor
           ORDER BY x.rv`,
          [r.key, after, upTo]
        )
        if (BigInt(after) < BigInt(rows[0]!.floor)) return yield* new Expired({ message: tooOldResourceVersion(after) })
        return rows.filter((row) => row.rv !== null).map((row): Change => ({
          type: row.event === Event.Added ? "ADDED" : row.event === Event.Deleted ? "DELETED" : "MODIFIED",
          resourceVersion: row.rv!,
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
      frontiers: Effect.map(frontier, (f) => () => f.toString()),
      changes,
      compact
    })
  })

/**
 * Storage on the SqlClient in context (a PgClient; the schema must already be migrated), with
 * the in-process Commits signal it publishes to (the watch hub of the same process listens).
 */
export const layer: Layer.Layer<Storage | Commits, Config.ConfigError, SqlClient.SqlClient> = Layer.effect(
  Storage,
  Effect.flatMap(Config.Int("ARK_STORAGE_RETRIES").pipe(Config.withDefault(4)), (retries) =>
    make({ retries }))
).pipe(Layer.provideMerge(Commits.layer))
