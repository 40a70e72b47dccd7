/**
 * The PostgreSQL schema of ark-effect, as numbered migrations applied once each, in order,
 * under an advisory lock so that replicas starting together never race (`ark migrate`).
 *
 * Every version of every object is a row of `ark_objects` (kine's log, made exact):
 * the current version has `superseded_rv IS NULL`; an update or delete sets the replaced
 * row's `superseded_rv` to the new rv; a delete adds a tombstone row (event 2) that is
 * superseded by itself. So the state at any retained rv R is exactly the rows with
 * `rv <= R AND (superseded_rv IS NULL OR superseded_rv > R)` minus tombstones, which gives
 * snapshot-consistent pagination, and `rv > X ORDER BY rv` is the change feed for watches.
 * Keys sort bytewise (COLLATE "C"): names are ASCII, and the order is the same in SQL and in code.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"

/** Advisory lock keys ("ARK" + purpose), shared by every replica. */
export const migrationLockKey = 0x41524b01
/** Writers hold it shared from taking an rv until commit; a reader holds it exclusively to fix a frontier. */
export const commitBarrierKey = 0x41524b02

/** Channel that every write notifies with its resource key, so other replicas catch up. */
export const changesChannel = "ark_changes"

/** Event codes of `ark_objects.event`. */
export const Event = { Added: 0, Modified: 1, Deleted: 2 } as const

/** Each migration is a list of statements (the wire protocol runs one statement per query). */
const migrations: ReadonlyArray<{ readonly version: number; readonly name: string; readonly statements: ReadonlyArray<string> }> = [
  {
    version: 1,
    name: "objects",
    statements: [
      `CREATE SEQUENCE ark_rv AS bigint`,
      `CREATE TABLE ark_objects (
        rv            bigint   PRIMARY KEY,
        resource      text     NOT NULL,
        namespace     text     COLLATE "C" NOT NULL,
        name          text     COLLATE "C" NOT NULL,
        superseded_rv bigint,
        event         smallint NOT NULL,
        uid           uuid     NOT NULL,
        labels        jsonb    NOT NULL DEFAULT '{}',
        data          text     NOT NULL
      )`,
      `CREATE UNIQUE INDEX ark_objects_current ON ark_objects (resource, namespace, name) WHERE superseded_rv IS NULL`,
      `CREATE INDEX ark_objects_labels ON ark_objects USING gin (labels) WHERE superseded_rv IS NULL`,
      `CREATE INDEX ark_objects_history ON ark_objects (resource, superseded_rv) WHERE superseded_rv IS NOT NULL`,
      `CREATE INDEX ark_objects_changes ON ark_objects (resource, rv)`,
      `CREATE TABLE ark_purge_floor (
        resource text   PRIMARY KEY,
        rv       bigint NOT NULL
      )`,
      `CREATE FUNCTION ark_frontier() RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE f bigint;
      BEGIN
        PERFORM pg_advisory_xact_lock(${commitBarrierKey});
        SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO f FROM ark_rv;
        RETURN f;
      END $$`
    ]
  },
  {
    version: 2,
    name: "query queue",
    statements: [
      `CREATE TABLE ark_query_queue (
        id          bigserial   PRIMARY KEY,
        namespace   text        COLLATE "C" NOT NULL,
        name        text        COLLATE "C" NOT NULL,
        uid         uuid        NOT NULL,
        visible_at  timestamptz NOT NULL DEFAULT now(),
        attempts    int         NOT NULL DEFAULT 0,
        lease_token uuid,
        enqueued_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX ark_query_queue_ready ON ark_query_queue (namespace, visible_at, id)`,
      // A Query is enqueued by the transaction that creates it: no Query is ever lost between
      // its write and its queue item.
      `CREATE FUNCTION ark_enqueue_query() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ark_query_queue (namespace, name, uid) VALUES (NEW.namespace, NEW.name, NEW.uid);
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER ark_enqueue_query AFTER INSERT ON ark_objects FOR EACH ROW
       WHEN (NEW.resource = 'ark.mckinsey.com/queries' AND NEW.event = ${Event.Added})
       EXECUTE FUNCTION ark_enqueue_query()`
    ]
  },
  {
    version: 3,
    name: "observability views",
    statements: [
      // Every current object, one row each: what operators count and size (docs/observability.md).
      `CREATE VIEW ark_current_objects AS
       SELECT resource, namespace, name, rv AS resource_version, uid, labels, octet_length(data) AS bytes,
              (data::jsonb #>> '{metadata,creationTimestamp}')::timestamptz AS created_at,
              data::jsonb AS object
       FROM ark_objects WHERE superseded_rv IS NULL`,
      `CREATE VIEW ark_object_counts AS
       SELECT resource, count(*) AS objects, sum(bytes) AS bytes FROM ark_current_objects GROUP BY resource`,
      `CREATE VIEW ark_queries AS
       SELECT namespace, name, created_at,
              object #>> '{status,phase}' AS phase,
              object #>> '{spec,target,type}' AS target_type,
              object #>> '{spec,target,name}' AS target_name,
              nullif(rtrim(object #>> '{status,duration}', 's'), '')::numeric AS duration_seconds,
              (object #>> '{status,tokenUsage,promptTokens}')::bigint AS prompt_tokens,
              (object #>> '{status,tokenUsage,completionTokens}')::bigint AS completion_tokens,
              (object #>> '{status,tokenUsage,totalTokens}')::bigint AS total_tokens,
              (object #>> '{status,conditions,0,lastTransitionTime}')::timestamptz AS finished_at
       FROM ark_current_objects WHERE resource = 'ark.mckinsey.com/queries'`,
      `CREATE VIEW ark_query_queue_depth AS
       SELECT namespace,
              count(*) AS queued,
              count(*) FILTER (WHERE lease_token IS NOT NULL AND visible_at > now()) AS leased,
              count(*) FILTER (WHERE visible_at <= now()) AS ready,
              count(*) FILTER (WHERE attempts > 1) AS retried,
              now() - min(enqueued_at) AS oldest_age
       FROM ark_query_queue GROUP BY namespace`,
      `CREATE VIEW ark_history AS
       SELECT o.resource, coalesce(f.rv, 0) AS purge_floor,
              count(*) FILTER (WHERE o.superseded_rv IS NOT NULL AND o.event <> ${Event.Deleted}) AS replaced_versions,
              count(*) FILTER (WHERE o.event = ${Event.Deleted}) AS tombstones
       FROM ark_objects o LEFT JOIN ark_purge_floor f ON f.resource = o.resource
       GROUP BY o.resource, f.rv`
    ]
  },
  {
    version: 4,
    name: "replication mark and query leases",
    statements: [
      // The read-replica mark (PgReadReplicas.ts): the primary writes a frontier F here, in a
      // transaction that starts after F was fixed, so its commit follows every commit of an
      // rv <= F in the WAL. A hot standby that shows rv F has therefore replayed all of them:
      // it can serve the state at F, read-only, with no lock.
      `CREATE TABLE ark_replication_mark (
        id        int         PRIMARY KEY CHECK (id = 1),
        rv        bigint      NOT NULL,
        marked_at timestamptz
      )`,
      `INSERT INTO ark_replication_mark (id, rv) VALUES (1, 0)`,
      // Claimed queue items and when their worker's lease runs out (an expired one is claimed again).
      `CREATE VIEW ark_query_leases AS
       SELECT namespace, name, uid, attempts, enqueued_at, visible_at AS lease_expires_at,
              visible_at - now() AS expires_in, visible_at <= now() AS expired
       FROM ark_query_queue WHERE lease_token IS NOT NULL`
    ]
  },
  {
    version: 5,
    name: "ark_queries reads any status",
    statements: [
      // Statuses are written by engines and other tools (upstream Ark writes Go durations such
      // as "1m15.1s"): a value the view cannot read shows as NULL instead of failing the query.
      `CREATE FUNCTION ark_duration_seconds(d text) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
       DECLARE
         unit_pattern constant text := '([0-9]+(?:[.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h)';
         total numeric := 0;
         part text[];
       BEGIN
         IF d IS NULL OR d = '' THEN RETURN NULL; END IF;
         IF d = '0' THEN RETURN 0; END IF;
         IF ltrim(d, '+-') !~ ('^(' || unit_pattern || ')+$') THEN RETURN NULL; END IF;
         FOR part IN SELECT regexp_matches(d, unit_pattern, 'g') LOOP
           total := total + part[1]::numeric * CASE part[2]
             WHEN 'h' THEN 3600 WHEN 'm' THEN 60 WHEN 's' THEN 1 WHEN 'ms' THEN 0.001 WHEN 'ns' THEN 0.000000001 ELSE 0.000001 END;
         END LOOP;
         RETURN CASE WHEN left(d, 1) = '-' THEN -total ELSE total END;
       END $$`,
      `CREATE FUNCTION ark_try_bigint(t text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
       BEGIN RETURN t::bigint; EXCEPTION WHEN others THEN RETURN NULL; END $$`,
      `CREATE FUNCTION ark_try_timestamptz(t text) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
       BEGIN RETURN t::timestamptz; EXCEPTION WHEN others THEN RETURN NULL; END $$`,
      `CREATE OR REPLACE VIEW ark_queries AS
       SELECT namespace, name, created_at,
              object #>> '{status,phase}' AS phase,
              object #>> '{spec,target,type}' AS target_type,
              object #>> '{spec,target,name}' AS target_name,
              ark_duration_seconds(object #>> '{status,duration}') AS duration_seconds,
              ark_try_bigint(object #>> '{status,tokenUsage,promptTokens}') AS prompt_tokens,
              ark_try_bigint(object #>> '{status,tokenUsage,completionTokens}') AS completion_tokens,
              ark_try_bigint(object #>> '{status,tokenUsage,totalTokens}') AS total_tokens,
              ark_try_timestamptz(object #>> '{status,conditions,0,lastTransitionTime}') AS finished_at
       FROM ark_current_objects WHERE resource = 'ark.mckinsey.com/queries'`
    ]
  },
  {
    version: 6,
    name: "resumed queries are queued again",
    statements: [
      // A Query set back to "queued" (resumed after a human's approval) is enqueued by the same
      // transaction, as a new Query is; one that is still in the queue is not enqueued twice.
      `CREATE FUNCTION ark_requeue_query() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (NEW.data::jsonb #>> '{status,phase}') = 'queued' AND NOT EXISTS (
          SELECT 1 FROM ark_query_queue WHERE namespace = NEW.namespace AND name = NEW.name AND uid = NEW.uid
        ) THEN
          INSERT INTO ark_query_queue (namespace, name, uid) VALUES (NEW.namespace, NEW.name, NEW.uid);
        END IF;
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER ark_requeue_query AFTER INSERT ON ark_objects FOR EACH ROW
       WHEN (NEW.resource = 'ark.mckinsey.com/queries' AND NEW.event = ${Event.Modified} AND NEW.data LIKE '%"phase":"queued"%')
       EXECUTE FUNCTION ark_requeue_query()`
    ]
  },
  {
    version: 7,
    name: "built-in conversation memory",
    statements: [
      // Messages of conversations kept by ark's built-in memory (PgConversationStore.ts), each
      // expiring with the Query that wrote it (its spec.ttl).
      `CREATE TABLE ark_conversation_messages (
        id              bigserial   PRIMARY KEY,
        namespace       text        COLLATE "C" NOT NULL,
        memory          text        COLLATE "C" NOT NULL,
        conversation_id text        COLLATE "C" NOT NULL,
        query_id        text        NOT NULL,
        message         text        NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        expires_at      timestamptz
      )`,
      `CREATE INDEX ark_conversation_messages_by_conversation ON ark_conversation_messages (namespace, memory, conversation_id, id)`,
      `CREATE INDEX ark_conversation_messages_expiry ON ark_conversation_messages (expires_at) WHERE expires_at IS NOT NULL`
    ]
  },
  {
    version: 8,
    name: "query answer streams",
    statements: [
      // The answer's text of running and finished Queries as it was streamed (PgQueryStreams.ts),
      // kept while the Query exists.
      `CREATE TABLE ark_query_chunks (
        uid        uuid        NOT NULL,
        seq        int         NOT NULL,
        namespace  text        COLLATE "C" NOT NULL,
        name       text        COLLATE "C" NOT NULL,
        text       text        NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (uid, seq)
      )`
    ]
  },
  {
    version: 9,
    name: "query answer stream speakers",
    // Who wrote a piece (a team's member, the team) and where a message ends: null for plain text.
    statements: [`ALTER TABLE ark_query_chunks ADD COLUMN ark jsonb`]
  }
]

/** Applies every migration not yet applied; returns the versions it applied. */
export const migrate: Effect.Effect<ReadonlyArray<number>, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql.unsafe(`SELECT pg_advisory_xact_lock(${migrationLockKey})`)
    yield* sql.unsafe(
      `CREATE TABLE IF NOT EXISTS ark_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
    )
    const done = new Set(
      (yield* sql.unsafe<{ version: number }>(`SELECT version FROM ark_migrations`)).map((r) => r.version)
    )
    const pending = migrations.filter((m) => !done.has(m.version))
    for (const m of pending) {
      for (const statement of m.statements) yield* sql.unsafe(statement)
      yield* sql.unsafe(`INSERT INTO ark_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name])
    }
    return pending.map((m) => m.version)
  }))
})
