/**
 * Human approval of tool calls. A call of a tool with an approval policy stops the agent's turn
 * loop before it runs; the engine records the conversation so far, with the calls waiting, in a
 * ToolApprovalRequest (upstream's kind, answered by `kubectl patch --subresource=status` as
 * upstream's CLI and dashboard do), and the Query waits. Run again once it is decided, the
 * engine resumes from that record: approved calls run, rejected ones give the model an error.
 * The record is the whole state: any engine process, restarted or not, resumes it.
 */
import { Effect } from "effect"
import type { ChatMessage, ToolCall, Usage } from "../../domain/chat.ts"
import type { KubeObject } from "../../domain/object.ts"
import { ExecutionFailed } from "../../services/QueryExecutor.ts"
import { ResourceReader } from "../../services/ResourceReader.ts"
import { ResourceWriter } from "../../services/ResourceWriter.ts"
import { readFailed, types } from "./resolve.ts"
import type { ApprovalPolicy, RunnableTool } from "./tools/runnableTool.ts"

/** Labels tying a request to its Query (by uid: a recreated Query starts afresh) and ordering a Query's requests. */
export const QUERY_UID_LABEL = "ark.mckinsey.com/query-uid"
const SEQUENCE_LABEL = "ark.mckinsey.com/approval-sequence"
/** What the resumed run needs besides the conversation: token usage so far, where its input ends, its memory's conversation. */
const RESUME_ANNOTATION = "ark.mckinsey.com/resume"

interface ResumeState {
  readonly usage: Usage
  /** Messages of the conversation before the agent's first answer (prompt, memory, input). */
  readonly inputLength: number
  readonly conversationId?: string
}

export interface Decision {
  readonly approved: boolean
  readonly reason?: string
  readonly by?: string
  /** Nobody decided within this timeout: the request's onTimeout decided. */
  readonly expiredAfter?: string
}

/** Whether this call of `tool` waits for a human: its policy, narrowed by argument patterns when it has any. */
export const requiresApproval = (tool: RunnableTool, args: Record<string, unknown>): tool is RunnableTool & { approval: ApprovalPolicy } => {
  if (tool.approval === undefined) return false
  const matches = tool.approval.argumentMatches ?? []
  if (matches.length === 0) return true
  return matches.some((m) => {
    const value = args[m.argument]
    if (value === undefined) return false
    try {
      return new RegExp(m.pattern).test(typeof value === "string" ? value : JSON.stringify(value))
    } catch {
      // A pattern that does not compile cannot clear a call: it waits for a human.
      return true
    }
  })
}

/** The rejected call as the model reads it: a tool error. */
export const rejection = (d: Decision) =>
  d.expiredAfter !== undefined
    ? `Error: nobody approved this tool call within ${d.expiredAfter}`
    : `Error: a human rejected this tool call${d.by !== undefined ? ` (${d.by})` : ""}${d.reason !== undefined && d.reason !== "" ? `: ${d.reason}` : ""}`

/** A request as the engine resumes from it. */
export interface Pending {
  readonly name: string
  readonly conversation: ReadonlyArray<ChatMessage>
  /** Undefined while nobody has answered. */
  readonly decision?: Decision
  readonly state: ResumeState
}

const encode = (messages: ReadonlyArray<ChatMessage>) => Buffer.from(JSON.stringify(messages)).toString("base64")

/** A human's decision, or an expired request's (its spec.onTimeout: "reject" unless "proceed"). */
const decisionOf = (o: KubeObject): Decision | undefined => {
  const status = o.status as Record<string, unknown> | undefined
  const decision = status?.["decision"] as { action?: string; reason?: string; decidedBy?: string } | undefined
  const action = decision?.action ?? status?.["phase"]
  if (action === "expired") {
    const spec = o.spec as { onTimeout?: string; timeout?: string }
    return { approved: spec.onTimeout === "proceed", expiredAfter: spec.timeout ?? "5m" }
  }
  if (action !== "approved" && action !== "rejected") return undefined
  return {
    approved: action === "approved",
    ...(decision?.reason !== undefined ? { reason: decision.reason } : {}),
    ...(decision?.decidedBy !== undefined ? { by: decision.decidedBy } : {})
  }
}

const sequenceOf = (o: KubeObject) => Number(o.metadata.labels?.[SEQUENCE_LABEL] ?? 0)

const fromObject = (o: KubeObject): Pending => {
  const spec = o.spec as { executionContext?: { conversationHistory?: string } }
  const state = o.metadata.annotations?.[RESUME_ANNOTATION]
  const decision = decisionOf(o)
  return {
    name: o.metadata.name!,
    conversation: JSON.parse(Buffer.from(spec.executionContext?.conversationHistory ?? "", "base64").toString("utf8") || "[]") as ReadonlyArray<ChatMessage>,
    ...(decision !== undefined ? { decision } : {}),
    state: state !== undefined ? JSON.parse(state) as ResumeState : { usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, inputLength: 0 }
  }
}

export interface QueryIdentity {
  readonly namespace: string
  readonly name: string
  readonly uid: string
}

/** The Query's newest request (the point it stopped at last), if it ever stopped. */
export const latest = (query: QueryIdentity) =>
  Effect.gen(function*() {
    const reader = yield* ResourceReader
    const items = yield* reader.list(types.approval, query.namespace, `${QUERY_UID_LABEL}=${query.uid}`).pipe(Effect.mapError(readFailed))
    const newest = items.reduce<KubeObject | undefined>((a, b) => a === undefined || sequenceOf(b) > sequenceOf(a) ? b : a, undefined)
    return newest === undefined ? undefined : { sequence: sequenceOf(newest), pending: fromObject(newest) }
  })

export interface Pause {
  readonly query: QueryIdentity
  readonly agent: string
  /** The conversation up to and including the assistant message whose calls wait. */
  readonly conversation: ReadonlyArray<ChatMessage>
  readonly waiting: ReadonlyArray<{ readonly call: ToolCall; readonly tool: RunnableTool & { approval: ApprovalPolicy } }>
  /** The sequence of the request before this one (0: none). */
  readonly after: number
  readonly state: ResumeState
}

const writeFailed = (e: { readonly message: string }) => new ExecutionFailed({ code: "read-failed", message: e.message })

/**
 * Records a pause as a pending ToolApprovalRequest and answers its name. Its name follows from
 * the Query and the sequence, so an engine run again for the same pause (the workers call
 * at least once) finds the request it made instead of making a second.
 */
export const request = (p: Pause) =>
  Effect.gen(function*() {
    const writer = yield* ResourceWriter
    const sequence = p.after + 1
    const name = `${p.query.name}-approval-${sequence}`.slice(0, 253)
    const first = p.waiting[0]!
    const object: KubeObject = {
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "ToolApprovalRequest",
      metadata: {
        name,
        namespace: p.query.namespace,
        labels: { [QUERY_UID_LABEL]: p.query.uid, [SEQUENCE_LABEL]: String(sequence) },
        annotations: { [RESUME_ANNOTATION]: JSON.stringify(p.state) },
        ownerReferences: [{ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Query", name: p.query.name, uid: p.query.uid }]
      },
      spec: {
        queryRef: { name: p.query.name, namespace: p.query.namespace },
        executionContext: {
          agentName: p.agent,
          agentNamespace: p.query.namespace,
          conversationHistory: encode(p.conversation),
          pendingToolCallIndex: (p.conversation.at(-1) as { tool_calls?: ReadonlyArray<ToolCall> }).tool_calls!.findIndex((c) => c.id === first.call.id)
        },
        toolCalls: p.waiting.map(({ call, tool }) => ({
          id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
          type: "function",
          ...(tool.definition.description !== "" ? { description: tool.definition.description } : {})
        })),
        ...(first.tool.approval.timeout !== undefined ? { timeout: first.tool.approval.timeout } : {}),
        ...(first.tool.approval.onTimeout !== undefined ? { onTimeout: first.tool.approval.onTimeout } : {})
      }
    }
    const created = yield* writer.create(types.approval, p.query.namespace, object).pipe(
      Effect.map(() => true),
      Effect.catchIf((e) => e.exists === true, () => Effect.succeed(false)),
      Effect.mapError(writeFailed)
    )
    if (created) {
      yield* writer.patchStatus(types.approval, p.query.namespace, name, { phase: "pending", requestedAt: new Date().toISOString() }).pipe(Effect.mapError(writeFailed))
    }
    return name
  })
