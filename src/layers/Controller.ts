/**
 * The controller: leader-only work, started when this replica gains leadership and interrupted
 * when it loses it (LeaderElection.whileLeading); every write goes through the election's fence.
 *
 * - Reconcilers keep one status condition each, as upstream Ark's controllers name them: Agent
 *   `Available` (its Model, ExecutionEngine and Tools exist), Team `Available` (its members exist
 *   and member agents are Available), Query `TargetFound` (its target exists; terminal Queries
 *   are left alone). Level-based: a reconcile reads the object and its references afresh and
 *   writes only when the condition differs, through the status subresource with guaranteedUpdate
 *   and touching only its own condition (the query workers' fields and conditions stay).
 *   Driven by shared informers (informers.ts: one watch per kind, its objects kept once as
 *   present keys, and whether each is Available): the kinds a reconciler refers to sync before
 *   its own; creations and deletions (and Agents' changes, for Teams) send the objects that
 *   refer to them to the queue. At start and on each change of its own kind, an object goes to
 *   the queue only when its condition differs from what that state says or has not seen its
 *   generation, so a restart with everything up to date reads and writes nothing per object.
 *   Per-key work queues dedupe, and a failed key is retried with per-key exponential backoff (100 ms doubling to 30 s).
 * - Query TTL: finished Queries are deleted once spec.ttl has passed since they ended.
 * - History compaction (HistoryCompactor.compactLoop).
 * Expired query leases need no sweep: the PostgreSQL queue hands out an item again once its
 * visible_at passes, and the in-memory queue runs on the leader itself.
 */
import { Duration, Effect, Layer, Queue, Schedule, Schema } from "effect"
import { parseGoDuration } from "../domain/duration.ts"
import { timestamp } from "../domain/lifecycle.ts"
import type { KubeObject } from "../domain/object.ts"
import { isRecord } from "../domain/object.ts"
import { isSettledQuery } from "../domain/kinds/query.ts"
import { findKind } from "../domain/registry.ts"
import { LeaderElection, whileLeading } from "../services/LeaderElection.ts"
import type { StoredResource } from "../services/Storage.ts"
import { Storage, storedResource } from "../services/Storage.ts"
import { compactLoop } from "./storage/HistoryCompactor.ts"
import { trackStatusWrite } from "./http/fieldmanager.ts"
import * as Informers from "./informers.ts"
import { ObjectIndex } from "./objectIndex.ts"

export interface ControllerOptions {
  /** How often finished Queries are checked against their spec.ttl. */
  readonly ttlSweep: Duration.Duration
  /** History compaction interval (HistoryCompactor). */
  readonly compaction: Duration.Duration
}

const resourceOf = (kind: string) => storedResource(findKind(kind)!)
const agents = resourceOf("Agent")
const models = resourceOf("Model")
const teams = resourceOf("Team")
const queries = resourceOf("Query")
const tools = resourceOf("Tool")
const executionEngines = resourceOf("ExecutionEngine")

/** Query target types and the kinds they name. */
const targetKinds: Readonly<Record<string, StoredResource>> = { agent: agents, team: teams, model: models, tool: tools }

interface Condition {
  readonly type: string
  readonly status: "True" | "False" | "Unknown"
  readonly reason: string
  readonly message: string
  readonly observedGeneration?: number
  readonly lastTransitionTime?: string
}

interface Verdict {
  readonly status: "True" | "False"
  readonly reason: string
  readonly message: string
}

/** An object another one refers to. */
interface Reference {
  readonly resource: StoredResource
  readonly namespace: string
  readonly name: string
  /** What a missing referent makes the verdict. */
  readonly missing: Verdict
  /** A present referent can still make the verdict False (a Team's member agent that is not Available). */
  readonly check?: (referent: KubeObject) => Verdict | undefined
}

interface Reconciler {
  readonly resource: StoredResource
  readonly conditionType: string
  /** Objects the reconciler leaves alone (terminal Queries, Queries without a target). */
  readonly skip: (obj: KubeObject) => boolean
  /** The references of an object; a verdict instead when the object itself settles it (no members). */
  readonly references: (obj: KubeObject) => ReadonlyArray<Reference> | Verdict
  readonly available: Verdict
  /** Kinds whose objects' creation or deletion (or any change, with `modified`) can change a verdict. */
  readonly dependsOn: ReadonlyArray<{ readonly resource: StoredResource; readonly modified: boolean }>
}

const conditionsOf = (obj: KubeObject): ReadonlyArray<Condition> => {
  const c = isRecord(obj.status) ? obj.status["conditions"] : undefined
  return Array.isArray(c) ? c as ReadonlyArray<Condition> : []
}

const notFound = (kind: string, name: string, namespace: string) => `${kind} '${name}' not found in namespace '${namespace}'`

const agentReconciler: Reconciler = {
  resource: agents,
  conditionType: "Available",
  skip: () => false,
  references: (agent) => {
    const ns = agent.metadata.namespace ?? ""
    const spec = (agent.spec ?? {}) as {
      modelRef?: { name: string; namespace?: string }
      executionEngine?: { name: string; namespace?: string }
      tools?: ReadonlyArray<{ type?: string; name?: string }>
    }
    const refs: Array<Reference> = []
    if (spec.modelRef !== undefined) {
      const mns = spec.modelRef.namespace || ns
      refs.push({ resource: models, namespace: mns, name: spec.modelRef.name, missing: { status: "False", reason: "ModelNotFound", message: notFound("Model", spec.modelRef.name, mns) } })
    } else if (spec.executionEngine === undefined) {
      return { status: "False", reason: "ModelNotConfigured", message: "Agent has no model configured; the default executor requires a model" }
    }
    // "a2a" is the engine built into Ark, not an ExecutionEngine resource.
    if (spec.executionEngine !== undefined && spec.executionEngine.name !== "a2a") {
      const ens = spec.executionEngine.namespace || ns
      refs.push({
        resource: executionEngines,
        namespace: ens,
        name: spec.executionEngine.name,
        missing: { status: "False", reason: "ExecutionEngineNotFound", message: notFound("ExecutionEngine", spec.executionEngine.name, ens) }
      })
    }
    for (const tool of spec.tools ?? []) {
      if (tool.type === "built-in" || !tool.name) continue
      refs.push({ resource: tools, namespace: ns, name: tool.name, missing: { status: "False", reason: "ToolNotFound", message: notFound("Tool", tool.name, ns) } })
    }
    return refs
  },
  available: { status: "True", reason: "Available", message: "All dependencies are available" },
  dependsOn: [{ resource: models, modified: false }, { resource: executionEngines, modified: false }, { resource: tools, modified: false }]
}

const teamReconciler: Reconciler = {
  resource: teams,
  conditionType: "Available",
  skip: () => false,
  references: (team) => {
    const ns = team.metadata.namespace ?? ""
    const members = ((team.spec ?? {}) as { members?: ReadonlyArray<{ name: string; type: string }> }).members ?? []
    if (members.length === 0) return { status: "False", reason: "NoMembers", message: "Team has no members configured" }
    return members.flatMap((m): ReadonlyArray<Reference> => {
      const resource = m.type === "agent" ? agents : m.type === "team" ? teams : undefined
      if (resource === undefined) return []
      return [{
        resource,
        namespace: ns,
        name: m.name,
        missing: { status: "False", reason: "MemberNotFound", message: `${m.type === "agent" ? "Agent" : "Team"} member ${m.name} not found` },
        ...(m.type === "agent"
          ? {
            check: (agent: KubeObject) =>
              conditionsOf(agent).some((c) => c.type === "Available" && c.status === "True")
                ? undefined
                : { status: "False" as const, reason: "MemberNotAvailable", message: `Agent member ${m.name} is not available` }
          }
          : {})
      }]
    })
  },
  available: { status: "True", reason: "Available", message: "All team members are available" },
  dependsOn: [{ resource: agents, modified: true }, { resource: teams, modified: false }]
}

const queryReconciler: Reconciler = {
  resource: queries,
  conditionType: "TargetFound",
  skip: (q) => isSettledQuery(q) || (q.spec as { target?: unknown } | undefined)?.target === undefined,
  references: (q) => {
    const ns = q.metadata.namespace ?? ""
    const target = (q.spec as { target: { type: string; name: string } }).target
    const resource = targetKinds[target.type]
    if (resource === undefined) return { status: "False", reason: "TargetNotFound", message: `unknown target type '${target.type}'` }
    return [{ resource, namespace: ns, name: target.name, missing: { status: "False", reason: "TargetNotFound", message: notFound(resource.kind, target.name, ns) } }]
  },
  available: { status: "True", reason: "TargetFound", message: "The query's target exists" },
  dependsOn: Object.values(targetKinds).map((resource) => ({ resource, modified: false }))
}

export const reconcilers: ReadonlyArray<Reconciler> = [agentReconciler, teamReconciler, queryReconciler]

/** An object referred to, and the objects of the reconciler's kind that refer to it. */
interface Referred {
  readonly resource: string
  readonly namespace: string
  readonly name: string
  readonly dependents: ObjectIndex<true>
}

/** The condition already says this (status, reason, message, for this generation): nothing to write. */
class UpToDate extends Schema.TaggedError<UpToDate>()("UpToDate", {}) {}

const sameVerdict = (c: Condition | undefined, v: Verdict, generation: number | undefined) =>
  c !== undefined && c.status === v.status && c.reason === v.reason && c.message === v.message &&
  c.observedGeneration === generation

const now = () => timestamp(Date.now())

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`

/**
 * A work queue of object keys (client-go's workqueue): a key waits at most once, a key enqueued
 * while it is processed runs again afterwards, and a failed key comes back after its backoff.
 */
const workQueue = <E, R>(name: string, process: (key: string) => Effect.Effect<void, E, R>, workers: number) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<string>()
    const waiting = new Set<string>()
    const running = new Set<string>()
    const dirty = new Set<string>()
    const failures = new Map<string, number>()
    const enqueue = (key: string) =>
      Effect.suspend(() => {
        if (running.has(key)) {
          dirty.add(key)
          return Effect.void
        }
        if (waiting.has(key)) return Effect.void
        waiting.add(key)
        return Queue.offer(queue, key)
      })
    const worker = Effect.forever(Effect.gen(function*() {
      const key = yield* Queue.take(queue)
      waiting.delete(key)
      running.add(key)
      const failed = yield* process(key).pipe(
        Effect.as(false),
        Effect.catchCause((cause) => Effect.as(Effect.logWarning(`${name} ${key}: reconcile failed; retrying`, cause), true))
      )
      running.delete(key)
      if (failed) {
        const n = (failures.get(key) ?? 0) + 1
        failures.set(key, n)
        yield* Effect.forkScoped(Effect.delay(enqueue(key), Duration.millis(Math.min(30_000, 100 * 2 ** (n - 1)))))
      } else failures.delete(key)
      if (dirty.delete(key)) yield* enqueue(key)
    }))
    for (let i = 0; i < workers; i++) yield* Effect.forkScoped(worker)
    return enqueue
  })

/** Registers one reconciler's handlers on the informers; needs a Scope for its work queue. */
const runReconciler = (r: Reconciler, informerOf: (resource: StoredResource) => Informers.Informer) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const election = yield* LeaderElection

    /** The verdict from referents as `lookup` finds them (the store, or the watched state). */
    const verdictWith = <E>(obj: KubeObject, lookup: (ref: Reference) => Effect.Effect<KubeObject | undefined, E>) =>
      Effect.gen(function*() {
        const refs = r.references(obj)
        if (!Array.isArray(refs)) return refs as Verdict
        for (const ref of refs as ReadonlyArray<Reference>) {
          const referent = yield* lookup(ref)
          if (referent === undefined) return ref.missing
          const problem = ref.check?.(referent)
          if (problem !== undefined) return problem
        }
        return r.available
      })

    /** The verdict read from the store: what a write is decided on. */
    const verdictOf = (obj: KubeObject) =>
      verdictWith(obj, (ref) =>
        storage.get(ref.resource, ref.namespace, ref.name).pipe(
          Effect.map((o): KubeObject | undefined => o),
          Effect.catchTag("NotFound", () => Effect.succeed(undefined))
        ))

    const reconcile = (key: string) =>
      Effect.gen(function*() {
        const slash = key.indexOf("/")
        const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)]
        const obj = yield* storage.get(r.resource, namespace, name).pipe(
          Effect.map((o): KubeObject | undefined => o),
          Effect.catchTag("NotFound", () => Effect.succeed(undefined))
        )
        if (obj === undefined || obj.metadata.deletionTimestamp !== undefined || r.skip(obj)) return
        const verdict = yield* verdictOf(obj)
        const write = storage.guaranteedUpdate(r.resource, namespace, name, (current) => {
          if (current.metadata.uid !== obj.metadata.uid || r.skip(current)) return Effect.fail(new UpToDate())
          const generation = current.metadata.generation
          const conditions = conditionsOf(current)
          const existing = conditions.find((c) => c.type === r.conditionType)
          if (sameVerdict(existing, verdict, generation)) return Effect.fail(new UpToDate())
          const condition: Condition = {
            type: r.conditionType,
            ...verdict,
            ...(generation !== undefined ? { observedGeneration: generation } : {}),
            lastTransitionTime: existing !== undefined && existing.status === verdict.status && existing.lastTransitionTime !== undefined
              ? existing.lastTransitionTime
              : now()
          }
          const status = isRecord(current.status) ? current.status : {}
          return trackStatusWrite(findKind(r.resource.kind)!, "ark-controller")(current, {
            ...current,
            metadata: { ...current.metadata, resourceVersion: undefined },
            status: {
              ...status,
              conditions: existing === undefined
                ? [...conditions, condition]
                : conditions.map((c) => c.type === r.conditionType ? condition : c)
            }
          })
        }, { subresource: "status", cached: obj })
        yield* election.fenced(write).pipe(
          Effect.catchTags({ UpToDate: () => Effect.void, NotFound: () => Effect.void })
        )
      })

    const enqueue = yield* workQueue(`${r.resource.kind} controller`, reconcile, 2)

    /**
     * Who refers to what, kept from the own kind's events (which show every object), so a
     * referent's event finds the objects that refer to it without reading them all. A referent's
     * entry is shared by everything that refers to it (100k Agents of one Model hold one entry).
     */
    const referrers = new Map<string, ObjectIndex<Referred>>()
    const referencesOf = new ObjectIndex<ReadonlyArray<Referred>>()
    const index = (namespace: string, name: string, obj: KubeObject | undefined) => {
      for (const referred of referencesOf.get(namespace, name) ?? []) {
        referred.dependents.delete(namespace, name)
        if (referred.dependents.size === 0) referrers.get(referred.resource)?.delete(referred.namespace, referred.name)
      }
      referencesOf.delete(namespace, name)
      const refs = obj === undefined || r.skip(obj) ? [] : r.references(obj)
      if (!Array.isArray(refs) || refs.length === 0) return
      referencesOf.set(namespace, name, (refs as ReadonlyArray<Reference>).map((ref) => {
        let byName = referrers.get(ref.resource.key)
        if (byName === undefined) referrers.set(ref.resource.key, byName = new ObjectIndex())
        let referred = byName.get(ref.namespace, ref.name)
        if (referred === undefined) {
          referred = { resource: ref.resource.key, namespace: ref.namespace, name: ref.name, dependents: new ObjectIndex() }
          byName.set(ref.namespace, ref.name, referred)
        }
        referred.dependents.set(namespace, name, true)
        return referred
      }))
    }

    /**
     * The verdict from the referents as the informers last showed them: a resync decides from
     * this which objects need a look, instead of reading every object and its referents.
     */
    const cachedVerdict = (obj: KubeObject) =>
      Effect.runSync(verdictWith(obj, (ref) => Effect.succeed(informerOf(ref.resource).index.get(ref.namespace, ref.name))))
    /** An object needs a reconcile when its condition has not seen its generation or says otherwise than its referents. */
    const needsReconcile = (obj: KubeObject) => {
      if (r.skip(obj) || obj.metadata.deletionTimestamp !== undefined) return false
      const existing = conditionsOf(obj).find((c) => c.type === r.conditionType)
      return !sameVerdict(existing, cachedVerdict(obj), obj.metadata.generation)
    }

    /** A referent created, deleted (or changed): every object of this kind that refers to it looks again. */
    const dependents = (resource: StoredResource, namespace: string, name: string) =>
      Effect.forEach(
        [...referrers.get(resource.key)?.get(namespace, name)?.dependents.entries() ?? []],
        ([namespace, name]) => enqueue(keyOf(namespace, name)),
        { discard: true }
      )
    // Referents' changes send the objects that refer to them to the queue. A referent kind's
    // initial state synced before this kind's started, except this kind's own (Teams of Teams):
    // those events come in key order, so an object seen before its referent looks again.
    for (const dep of r.dependsOn) {
      informerOf(dep.resource).handle((e) =>
        (e.initial && dep.resource.key !== r.resource.key) || (e.type === "MODIFIED" && !dep.modified)
          ? Effect.void
          : dependents(dep.resource, e.namespace, e.name)
      )
    }
    // Own-kind events: at start every object, of which only those whose condition is stale go to
    // the queue (after a restart, usually none); then changes. Each is indexed and dropped: the
    // controller holds no copy of the objects.
    informerOf(r.resource).handle((e) => {
      index(e.namespace, e.name, e.type === "DELETED" ? undefined : e.object)
      return e.type !== "DELETED" && needsReconcile(e.object) ? enqueue(keyOf(e.namespace, e.name)) : Effect.void
    })
  })

/**
 * Deletes finished Queries once their spec.ttl (default 720h, as upstream) has passed since they
 * completed; each delete is fenced and preconditioned on the Query's uid.
 */
export const reapExpired = Effect.gen(function*() {
  const storage = yield* Storage
  const election = yield* LeaderElection
  const at = Date.now()
  let token: string | undefined
  let deleted = 0
  do {
    const page = yield* storage.list(queries, { limit: 500, ...(token !== undefined ? { continue: token } : {}) })
    for (const text of page.items) {
      const q = JSON.parse(text) as KubeObject
      if (!isSettledQuery(q)) continue
      const ttl = parseGoDuration((q.spec as { ttl?: string } | undefined)?.ttl ?? "720h") ?? 720 * 3_600_000
      const completed = conditionsOf(q).find((c) => c.type === "Completed") ?? conditionsOf(q)[0]
      const ended = Date.parse(completed?.lastTransitionTime ?? "")
      if (Number.isFinite(ended) && ended + ttl <= at) {
        yield* election.fenced(
          storage.delete(queries, q.metadata.namespace ?? "", q.metadata.name!, { preconditions: { uid: q.metadata.uid! } })
        ).pipe(
          Effect.andThen(Effect.sync(() => deleted++)),
          Effect.catchTags({ NotFound: () => Effect.void, Conflict: () => Effect.void })
        )
      }
    }
    token = page.continue
  } while (token !== undefined)
  return deleted
})

/** Everything the leader runs, in one scope that closes when leadership is lost. */
const leaderWork = (options: ControllerOptions) =>
  Effect.gen(function*() {
    const ttl = reapExpired.pipe(
      Effect.catchCause((cause) => Effect.logWarning("query TTL sweep failed", cause)),
      Effect.repeat(Schedule.spaced(options.ttlSweep))
    )
    // The kinds in the order they sync: each one's referents before it.
    const informers = yield* Informers.make([models, executionEngines, tools, agents, teams, queries])
    const informerOf = (resource: StoredResource) => informers.find((i) => i.resource.key === resource.key)!
    yield* Effect.forEach(reconcilers, (r) => runReconciler(r, informerOf), { discard: true })
    // One failing part ends them all; whileLeading restarts the whole after a pause.
    yield* Effect.all([Informers.run(informers), ttl, compactLoop(options.compaction)], { concurrency: "unbounded", discard: true })
  })

export const layer = (options: ControllerOptions) =>
  Layer.effectDiscard(whileLeading("controller", leaderWork(options)))
