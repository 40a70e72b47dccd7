/**
 * Query workers: claim queued Queries, run each against its completions engine, write the
 * outcome. Any number of replicas run them against one queue.
 *
 * Guarantees: the engine is called at least once per Query (a worker that dies mid-call loses
 * its lease and another worker calls again); the Query ends in exactly one terminal phase,
 * because terminal status writes are compare-and-swap updates that refuse a Query that is
 * already terminal.
 */
import { Cause, Deferred, Duration, Effect, Fiber, Layer, Metric, Queue, Result, Schedule, Schema, Stream } from "effect"
import { formatSeconds, parseGoDuration } from "../domain/duration.ts"
import { timestamp } from "../domain/lifecycle.ts"
import { resolveQueryInput } from "../domain/queryInput.ts"
import type { QueryParameter } from "../domain/queryInput.ts"
import { isRecord } from "../domain/object.ts"
import type { KubeObject } from "../domain/object.ts"
import { approvalRequiredPhase, isSettledQuery } from "../domain/kinds/query.ts"
import { findKind } from "../domain/registry.ts"
import { labelSelectorRequirements } from "../domain/selectors.ts"
import { Commits } from "../services/Commits.ts"
import type { CompletionResult } from "../services/CompletionsEngine.ts"
import { CompletionsEngine } from "../services/CompletionsEngine.ts"
import * as Metrics from "../services/Metrics.ts"
import { Shutdown } from "../services/Shutdown.ts"
import type { QueueItem } from "../services/QueryQueue.ts"
import { QueryQueue } from "../services/QueryQueue.ts"
import { Storage, storedResource } from "../services/Storage.ts"
import { WatchHub } from "../services/WatchHub.ts"
import { ResourceReader } from "../services/ResourceReader.ts"
import * as EngineDirectory from "./EngineDirectory.ts"
import * as QueryStreamWriter from "./queryStreamWriter.ts"
import { parameterValues } from "./engine/resolve.ts"
import { trackStatusWrite } from "./http/fieldmanager.ts"

export interface QueryWorkerOptions {
  /** Queries run at once by this replica. */
  readonly concurrency: number
  /** Engine for targets that name no ExecutionEngine; without one such Queries end in error. */
  readonly defaultEngineUrl: string | undefined
  /** How long a claim stays ours without a heartbeat. */
  readonly lease: Duration.Duration
  /** Engine calls that may fail transiently before the Query ends in error. */
  readonly maxAttempts: number
  /** First retry delay after a transient engine failure; it doubles each time (up to 30 s). */
  readonly retryBase: Duration.Duration
  /**
   * When the replica stops (or the layer is released): how long running Queries may take to
   * finish; those still running then are interrupted and their leases released, so another
   * replica takes them over at once instead of after the lease.
   */
  readonly drainTimeout?: Duration.Duration
  /**
   * Whether answers are streamed into QueryStreams as they are written (clients follow them on
   * the Query's stream endpoint); otherwise each engine call is one blocking request.
   */
  readonly streams?: boolean
}

const resourceOf = (kind: string) => storedResource(findKind(kind)!)
const queries = resourceOf("Query")
/** The kinds a selector picks a target from, in upstream's order of preference. */
const selectableTargets = [["agent", resourceOf("Agent")], ["team", resourceOf("Team")], ["model", resourceOf("Model")], ["tool", resourceOf("Tool")]] as const

const wantsCancel = (q: KubeObject) => (q.spec as { cancel?: boolean } | undefined)?.cancel === true

/** Why a terminal write did not happen: another writer already ended the Query. */
class AlreadyEnded extends Schema.TaggedError<AlreadyEnded>()("AlreadyEnded", {}) {}

interface Outcome {
  readonly phase: "done" | "error" | "canceled" | typeof approvalRequiredPhase
  readonly reason: string
  readonly message: string
  readonly result?: CompletionResult
}

const condition = (o: Outcome, generation: number | undefined) => ({
  type: "Completed",
  status: o.phase === "done" ? "True" : "False",
  reason: o.reason,
  message: o.message,
  lastTransitionTime: timestamp(Date.now()),
  ...(generation !== undefined ? { observedGeneration: generation } : {})
})

const otherConditions = (q: KubeObject): ReadonlyArray<unknown> => {
  const list = isRecord(q.status) ? q.status["conditions"] : undefined
  return Array.isArray(list) ? list.filter((c) => !(isRecord(c) && c["type"] === "Completed")) : []
}

/** Status writes by the workers carry their own managedFields entry. */
const tracked = trackStatusWrite(findKind("Query")!, "ark-query-worker")

/** `live` with these status fields set (the others kept), as the workers write it. */
const withStatus = (live: KubeObject, status: Record<string, unknown>) =>
  tracked(live, { ...live, status: { ...(isRecord(live.status) ? live.status : {}), ...status } })

export const make = (options: QueryWorkerOptions) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const queue = yield* QueryQueue
    const engine = yield* CompletionsEngine
    const commits = yield* Commits
    const hub = yield* WatchHub
    const shutdown = yield* Shutdown
    // Query parameters' ConfigMaps and Secrets are read where the engine reads them.
    const reader = yield* ResourceReader

    /** Sets status fields unless the Query has already ended; conflicts are retried by guaranteedUpdate. */
    const setStatus = (item: QueueItem, status: (current: KubeObject) => Record<string, unknown>) =>
      storage.guaranteedUpdate(queries, item.namespace, item.name, (current) =>
        current.metadata.uid !== item.uid || isSettledQuery(current)
          ? Effect.fail(new AlreadyEnded())
          // Without a resourceVersion: guaranteedUpdate writes over the newest version.
          : withStatus({ ...current, metadata: { ...current.metadata, resourceVersion: undefined } }, status(current)), { subresource: "status" })

    /**
     * The status written over `live`, compare-and-swapped on its version. `live` is the version
     * this worker claimed or last wrote, so the store is not read again first.
     */
    const updateStatus = (live: KubeObject, status: Record<string, unknown>) =>
      Effect.flatMap(withStatus(live, status), (next) => storage.update(queries, next, { subresource: "status", cached: live }))

    const terminalStatus = (target: unknown, startedAt: number, o: Outcome, current: KubeObject) => ({
      phase: o.phase,
      duration: formatSeconds(Date.now() - startedAt),
      // As upstream, a failed Query also carries its error message in status.error.
      ...(o.phase === "error" ? { error: o.message } : {}),
      // The conversation the engine's memory kept it in: the next Query's spec.conversationId.
      ...(o.result?.conversationId !== undefined ? { conversationId: o.result.conversationId } : {}),
      // A Query waiting for a human names the ToolApprovalRequest to answer; any other end drops
      // the one a resumed Query kept.
      approvalRef: o.phase === approvalRequiredPhase && o.result?.approvalRef !== undefined ? { name: o.result.approvalRef, namespace: current.metadata.namespace } : undefined,
      // Completed first; other writers' conditions (the controller's TargetFound) stay after it.
      conditions: [condition(o, current.metadata.generation), ...otherConditions(current)],
      ...(o.result !== undefined
        ? {
          response: {
            target,
            content: o.result.content,
            raw: o.result.raw,
            phase: o.phase,
            ...(o.result.contextId !== undefined || o.result.taskId !== undefined
              ? {
                a2a: {
                  ...(o.result.contextId !== undefined ? { contextId: o.result.contextId } : {}),
                  ...(o.result.taskId !== undefined ? { taskId: o.result.taskId } : {})
                }
              }
              : {})
          },
          ...(o.result.tokenUsage !== undefined ? { tokenUsage: o.result.tokenUsage } : {})
        }
        : {})
    })

    /**
     * Writes the terminal status. `known` is the version this worker last wrote: when nothing
     * changed since, one compare-and-swap suffices; otherwise the status is re-applied to the
     * newest version (which may already be terminal: then nothing is written).
     */
    const finish = (item: QueueItem, target: unknown, startedAt: number, o: Outcome, known?: KubeObject) =>
      known === undefined
        ? setStatus(item, (current) => terminalStatus(target, startedAt, o, current))
        : updateStatus(known, terminalStatus(target, startedAt, o, known)).pipe(
          Effect.catchTag("Conflict", () => setStatus(item, (current) => terminalStatus(target, startedAt, o, current)))
        )

    const engineUrl = yield* EngineDirectory.make(options.defaultEngineUrl)

    /**
     * Cancel requests reach running Queries through one watch of all Queries (not one per
     * Query): a Query whose spec.cancel turns true, or that is deleted or replaced, resolves its
     * waiter. A waiter is registered before the Query's "running" write, and that write's
     * result is checked too, so no request can fall between the two.
     */
    const cancelWaiters = new Map<string, { readonly uid: string; readonly signal: Deferred.Deferred<void> }>()
    const keyOf = (namespace: string, name: string) => `${namespace}/${name}`
    const watchCancels = Effect.gen(function*() {
      const from = yield* storage.currentRevision
      // Requests made while no watch ran are caught by looking at each running Query once.
      for (const [key, waiter] of cancelWaiters) {
        const [namespace, name] = key.split("/") as [string, string]
        const q = yield* storage.get(queries, namespace, name).pipe(Effect.option)
        if (q._tag === "None" || q.value.metadata.uid !== waiter.uid || wantsCancel(q.value)) {
          yield* Deferred.succeed(waiter.signal, undefined)
        }
      }
      yield* hub.watch(queries, { resourceVersion: from }).pipe(
        Stream.runForEach((e) =>
          Effect.suspend(() => {
            if (e.type === "BOOKMARK" || e.type === "ADDED") return Effect.void
            // Most events are status writes of running Queries: only a cancel or a delete matters.
            if (e.type === "MODIFIED" && !e.object.includes('"cancel":true')) return Effect.void
            const q = JSON.parse(e.object) as KubeObject
            const waiter = cancelWaiters.get(keyOf(q.metadata.namespace ?? "", q.metadata.name ?? ""))
            if (waiter === undefined) return Effect.void
            return e.type === "DELETED" || q.metadata.uid !== waiter.uid || wantsCancel(q)
              ? Deferred.succeed(waiter.signal, undefined)
              : Effect.void
          })
        )
      )
    })
    yield* Effect.forkScoped(watchCancels.pipe(
      Effect.catchCause((cause) => Effect.logWarning("cancel watch restarting", cause)),
      Effect.andThen(Effect.sleep("200 millis")),
      Effect.forever
    ))

    /**
     * The "running" write: a compare-and-swap on the claimed version, or on a conflict a write to
     * the newest one (which fails when the Query has ended or was replaced). A cancel that
     * arrived before the cancel waiter existed shows in the written version.
     */
    const markRunning = (item: QueueItem, claimed: KubeObject, canceled: Deferred.Deferred<void>) =>
      updateStatus(claimed, { phase: "running" }).pipe(
        Effect.catchTag("Conflict", () => setStatus(item, () => ({ phase: "running" }))),
        Effect.tap((running) => wantsCancel(running) ? Deferred.succeed(canceled, undefined) : Effect.void)
      )

    /**
     * The target a `spec.selector` picks, as upstream Ark: the first matching Agent by name, else
     * Team, Model, Tool; or why there is none.
     */
    const selectedTarget = (namespace: string, selector: unknown) =>
      Effect.gen(function*() {
        if (selector === undefined) return "the query names no target (spec.target) and no selector (spec.selector)"
        const labels = labelSelectorRequirements(selector)
        if (Result.isFailure(labels)) return `spec.selector is not usable: ${labels.failure}`
        for (const [type, resource] of selectableTargets) {
          const page = yield* storage.list(resource, { namespace, labelSelector: labels.success, limit: 1 })
          const first = page.items[0]
          if (first !== undefined) return { type, name: (JSON.parse(first) as KubeObject).metadata.name! }
        }
        return `no agent, team, model or tool in namespace ${namespace} matches spec.selector`
      })

    const run = (item: QueueItem, canceled: Deferred.Deferred<void>) =>
      Effect.gen(function*() {
        const startedAt = Date.now()
        // The claim usually carries the Query as stored; otherwise it is read here.
        const claimed = item.object !== undefined
          ? JSON.parse(item.object) as KubeObject
          : yield* storage.get(queries, item.namespace, item.name)
        if (claimed.metadata.uid !== item.uid || isSettledQuery(claimed)) return yield* new AlreadyEnded()
        const spec = (claimed.spec ?? {}) as {
          input?: unknown
          parameters?: ReadonlyArray<QueryParameter>
          target?: { type: string; name: string }
          selector?: unknown
          timeout?: string
          cancel?: boolean
          conversationId?: string
        }
        if (wantsCancel(claimed)) {
          return yield* finish(item, spec.target, startedAt, { phase: "canceled", reason: "Canceled", message: "the query was canceled" })
        }
        const chosen = spec.target !== undefined ? spec.target : yield* selectedTarget(item.namespace, spec.selector)
        if (typeof chosen === "string") {
          return yield* finish(item, undefined, startedAt, { phase: "error", reason: "NoTarget", message: chosen })
        }
        const target = chosen
        const values = yield* parameterValues(spec.parameters, { namespace: item.namespace, queryParameters: new Map() }, `query ${item.namespace}/${item.name}`).pipe(
          Effect.provideService(ResourceReader, reader),
          Effect.map((v): ReadonlyMap<string, string> | string => v),
          Effect.catchTag("ExecutionFailed", (e) => Effect.succeed(e.message))
        )
        if (typeof values === "string") {
          return yield* finish(item, target, startedAt, { phase: "error", reason: "InputUnresolvable", message: values })
        }
        const input = resolveQueryInput(spec, values)
        if (input._tag === "Unresolvable") {
          return yield* finish(item, target, startedAt, { phase: "error", reason: "InputUnresolvable", message: input.message })
        }
        const url = yield* engineUrl(item.namespace, target)
        if (url === undefined) {
          return yield* finish(item, target, startedAt, { phase: "error", reason: "NoEngine", message: "no completions engine is configured for this target" })
        }
        const timeoutMs = parseGoDuration(spec.timeout ?? "5m") ?? 300_000
        const writer = options.streams === true ? yield* QueryStreamWriter.make({ namespace: item.namespace, name: item.name, uid: item.uid }, item.attempts) : undefined
        const call = engine.complete({
          ...(writer !== undefined ? { onPiece: writer.onPiece } : {}),
          url,
          input: input.text,
          ...(spec.conversationId !== undefined ? { contextId: spec.conversationId } : {}),
          target: { type: target.type, name: target.name, namespace: item.namespace },
          ...(spec.target !== undefined ? { queryTarget: spec.target } : {}),
          query: { name: item.name, namespace: item.namespace }
        })
        const outcomeOfCall = Effect.raceFirst(
          call.pipe(
            Effect.map((result): Outcome | "retry" => ({
              // An engine's task waiting for input is upstream's pause for a human (its completions
              // engine pauses a Query this way when a tool call needs approval).
              phase: result.state === approvalRequiredPhase ? approvalRequiredPhase : "done",
              reason: result.state === approvalRequiredPhase ? "ApprovalRequired" : "Completed",
              message: result.state !== approvalRequiredPhase
                ? "the query completed"
                : result.approvalRef !== undefined ? `tool calls wait for approval: toolapprovalrequest ${result.approvalRef}` : "the engine waits for approval or input",
              result
            })),
            Effect.timeoutOrElse({
              duration: Duration.millis(timeoutMs),
              orElse: () => Effect.succeed<Outcome | "retry">({ phase: "error", reason: "Timeout", message: `the engine did not answer within ${spec.timeout ?? "5m"}` })
            }),
            Effect.catchTag("EngineFailed", (e) => Effect.succeed<Outcome | "retry">({ phase: "error", reason: "EngineFailed", message: e.message })),
            Effect.catchTag("EngineUnavailable", (e) =>
              Effect.succeed<Outcome | "retry">(
                item.attempts < options.maxAttempts ? "retry" : { phase: "error", reason: "EngineUnavailable", message: e.message }
              ))
          ),
          Deferred.await(canceled).pipe(
            Effect.as<Outcome | "retry">({ phase: "canceled", reason: "Canceled", message: "the query was canceled" })
          )
        )
        // The call starts without waiting for the "running" write; a write that finds the Query
        // ended or gone interrupts the call.
        const [running, outcome] = yield* Effect.all([markRunning(item, claimed, canceled), outcomeOfCall], { concurrency: 2 })
        // Every piece of the answer is stored before the status says the Query ended.
        if (writer !== undefined) yield* writer.flush
        if (outcome === "retry") {
          // Back to the queue with exponential backoff; the next claim counts one more attempt.
          yield* queue.release(item, Duration.millis(Math.min(30_000, Duration.toMillis(options.retryBase) * 2 ** (item.attempts - 1))))
          return "released" as const
        }
        yield* finish(item, target, startedAt, outcome, running)
      })

    /** One claimed item: run it while renewing its lease, then remove it from the queue. */
    const process = (item: QueueItem) =>
      Effect.gen(function*() {
        const renewEvery = Duration.millis(Duration.toMillis(options.lease) / 3)
        const heartbeat = yield* Effect.forkChild(
          queue.renew(item, options.lease).pipe(
            Effect.delay(renewEvery),
            Effect.repeat({ until: (held) => !held }),
            // The lease ran out before this renewal: another worker may run the Query too.
            Effect.andThen(Metric.update(Metrics.leaseExpiries, 1)),
            Effect.ignore
          )
        )
        const key = keyOf(item.namespace, item.name)
        const canceled = yield* Deferred.make<void>()
        cancelWaiters.set(key, { uid: item.uid, signal: canceled })
        const result = yield* Effect.scoped(run(item, canceled)).pipe(
          Effect.catchTag("AlreadyEnded", () => Effect.void),
          Effect.catchTag("NotFound", () => Effect.void),
          Effect.ensuring(Effect.andThen(Fiber.interrupt(heartbeat), Effect.sync(() => cancelWaiters.delete(key))))
        )
        if (result !== "released") yield* queue.complete(item)
      }).pipe(
        // Interrupted (the replica stops): the item goes back at once for another worker.
        Effect.onInterrupt(() => queue.release(item, Duration.zero).pipe(Effect.ignore)),
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause)
            // Store trouble: the lease runs out and the item is claimed again.
            : Effect.logWarning(`query ${item.namespace}/${item.name} will be retried`, cause)
        )
      )

    // Wake-ups: new Queries committed here; otherwise poll (other replicas' Queries, retries).
    const wake = yield* Queue.sliding<void>(1)
    yield* Effect.forkScoped(commits.subscribe.pipe(
      Stream.filter((c) => c.key === queries.key),
      Stream.runForEach(() => Queue.offer(wake, undefined))
    ))
    let running = 0
    let stopping = false
    const slotFreed = yield* Queue.sliding<void>(1)
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      // A stopping replica claims nothing more; the loop is interrupted with the scope.
      if (stopping || shutdown.draining()) return yield* Effect.never
      const free = options.concurrency - running
      if (free <= 0) return yield* Queue.take(slotFreed)
      // Few free slots: let more free up for a moment, so that one claim takes several items.
      if (free < Math.ceil(options.concurrency / 4)) yield* Effect.sleep("2 millis")
      const items = yield* queue.claim(Math.min(options.concurrency - running, 500), options.lease).pipe(
        Effect.catchTag("QueueUnavailable", (e) => Effect.logWarning(e.message).pipe(Effect.as([] as ReadonlyArray<QueueItem>)))
      )
      if (items.length === 0) {
        yield* Queue.take(wake).pipe(Effect.timeout("250 millis"), Effect.ignore)
        return
      }
      running += items.length
      yield* Metric.update(Metrics.claims, items.length)
      yield* Metric.update(Metrics.queriesRunning, running)
      for (const item of items) {
        yield* Effect.forkScoped(process(item).pipe(Effect.ensuring(Effect.suspend(() => {
          running--
          return Metric.update(Metrics.queriesRunning, running).pipe(Effect.andThen(Queue.offer(slotFreed, undefined)))
        }))))
      }
    })))
    yield* Effect.forkScoped(queue.depth.pipe(
      Effect.flatMap((n) => Metric.update(Metrics.queueDepth, n)),
      Effect.ignore,
      Effect.repeat(Schedule.spaced("5 seconds"))
    ))

    // Added after the fibers above, so it runs before they are interrupted: claiming stops and
    // running Queries get the drain timeout to finish.
    const idle: Effect.Effect<void> = Effect.suspend(() => running === 0 ? Effect.void : Effect.andThen(Effect.sleep("20 millis"), idle))
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        stopping = true
        return idle.pipe(Effect.timeoutOrElse({ duration: options.drainTimeout ?? Duration.seconds(10), orElse: () => Effect.void }))
      })
    )
  })

/** The workers; the TTL cleanup of finished Queries is the controller's (leader-only) work. */
export const layer = (options: QueryWorkerOptions) => Layer.effectDiscard(make(options))
