/**
 * What a team records on its Query, as upstream's engine does (its eventing OperationTracker):
 * for the team, each turn and each member's run, an Event `<Operation>Start`, then
 * `<Operation>Complete` (Normal) or `<Operation>Error` (Warning), with the Query as its
 * involvedObject and the operation's data as JSON in the `ark.mckinsey.com/event-data`
 * annotation; the team's Complete carries the tokens its members and selector used. Events are
 * written before the operation goes on, so a finished Query has all of its own. A write that
 * fails is logged and never fails the Query: the record is not the work.
 */
import { Effect } from "effect"
import type { Usage } from "../../../domain/chat.ts"
import type { ResourceWriter } from "../../../services/ResourceWriter.ts"

export type Operation = "TeamExecution" | "TeamTurn" | "TeamMember"

/** The Query the Events are about. */
export interface QueryIdentity {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  /** `spec.sessionId`, else the Query's uid (upstream's default). */
  readonly sessionId: string
}

export interface Tracked<A> {
  readonly operation: Operation
  readonly data: Readonly<Record<string, string>>
  readonly start: string
  readonly complete: (a: A) => { readonly message: string; readonly data?: Readonly<Record<string, string>> }
  /** The Error event's message before the failure's own. */
  readonly fail: string
}

/** Runs `effect` as the operation `t`, recording its start and how it ended. */
export type Track = <A, E extends { readonly message: string }, R>(t: Tracked<A>, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** Outside a Query (an engine asked over A2A with no QueryRef): nothing to record on. */
export const untracked: Track = (_t, effect) => effect

export const eventDataAnnotation = "ark.mckinsey.com/event-data"

const eventType = { group: "", version: "v1", plural: "events", singular: "event" }

export const usageData = (u: Usage) => ({
  promptTokens: String(u.promptTokens),
  completionTokens: String(u.completionTokens),
  totalTokens: String(u.totalTokens)
})

/** Across the process: two Events on one Query in one millisecond get different names. */
let sequence = 0

export const tracker = (writer: ResourceWriter["Service"], query: QueryIdentity): Track => {
  const emit = (type: "Normal" | "Warning", reason: string, message: string, data: Record<string, string>) => {
    const now = new Date()
    const timestamp = now.toISOString()
    const full = { queryId: query.uid, queryName: query.name, queryNamespace: query.namespace, sessionId: query.sessionId, ...data, message, timestamp }
    // kube's recorder names an Event after its object and the time.
    const name = `${query.name}.${now.getTime().toString(16)}${(sequence++ % 4096).toString(16).padStart(3, "0")}`
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: query.namespace, annotations: { [eventDataAnnotation]: JSON.stringify(full) } },
      involvedObject: { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Query", namespace: query.namespace, name: query.name, uid: query.uid },
      reason,
      message: `${message} (timestamp: ${timestamp})`,
      type,
      source: { component: "ark-controller" },
      reportingComponent: "ark-controller",
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1
    }
    return writer.create(eventType, query.namespace, event).pipe(
      Effect.catch((e) => Effect.logWarning(`event ${reason} on query ${query.namespace}/${query.name} not recorded: ${e.message}`)),
      Effect.asVoid
    )
  }
  return (t, effect) =>
    Effect.gen(function*() {
      yield* emit("Normal", `${t.operation}Start`, t.start, { ...t.data })
      const started = Date.now()
      const duration = () => ({ durationMs: (Date.now() - started).toFixed(2) })
      return yield* effect.pipe(
        Effect.tapError((e) => emit("Warning", `${t.operation}Error`, `${t.fail}: ${e.message}`, { ...t.data, error: e.message, ...duration() })),
        Effect.tap((a) => {
          const done = t.complete(a)
          return emit("Normal", `${t.operation}Complete`, done.message, { ...t.data, ...done.data, ...duration() })
        })
      )
    })
}
