/**
 * The agent turn loop: call the model with the conversation and the agent's tools; while it asks
 * for tool calls, run them (the calls of one turn at once, 16 at most) and call it again with
 * their results, until it answers, `terminate` is called, or `maxTurns` model calls have not
 * sufficed. A tool that fails gives the model its error as the result; it does not end the Query.
 * A call that needs a human's approval stops the loop before any call of its turn runs
 * (`paused`); the loop resumes from a conversation that ends with that turn, with the decisions.
 */
import { Effect } from "effect"
import type { AssistantMessage, ChatMessage, ToolCall, Usage } from "../../domain/chat.ts"
import { addUsage } from "../../domain/chat.ts"
import { ExecutionFailed } from "../../services/QueryExecutor.ts"
import type { ChatRequest, ChatResponse, Delta } from "./model.ts"
import type { Decision } from "./approval.ts"
import { rejection, requiresApproval } from "./approval.ts"
import type { ApprovalPolicy, RunnableTool } from "./tools/runnableTool.ts"

export interface Turns {
  /** The messages the agent added: assistant and tool messages, in order. */
  readonly messages: ReadonlyArray<ChatMessage>
  /** Set when `terminate` ended the loop: its response is the answer. */
  readonly answer?: string
  /** Set when calls wait for approval: the conversation so far (ending with their turn) and those calls. */
  readonly paused?: {
    readonly conversation: ReadonlyArray<ChatMessage>
    readonly waiting: ReadonlyArray<{ readonly call: ToolCall; readonly tool: RunnableTool & { approval: ApprovalPolicy } }>
  }
}

export interface LoopInput {
  /** For messages: "agent team-a/weather". */
  readonly who: string
  /** Set as the `name` of every assistant message (upstream names them after the agent). */
  readonly speaker: string
  readonly conversation: ReadonlyArray<ChatMessage>
  readonly tools: ReadonlyArray<RunnableTool>
  readonly outputSchema?: ChatRequest["outputSchema"]
  readonly toolChoice?: ChatRequest["toolChoice"]
  readonly maxTurns: number
  readonly complete: (request: ChatRequest) => Effect.Effect<ChatResponse, ExecutionFailed>
  /** Called with each model call's usage (summed by the caller over the whole Query). */
  readonly onUsage: (usage: Usage) => void
  /**
   * Whether calls needing approval may pause the loop (the Query's own agent); otherwise (an
   * agent called as a tool) they fail with a tool error. `decisions` answer a resumed turn's calls.
   */
  readonly approvals?: { readonly decisions: ReadonlyMap<string, Decision> }
  /** The answer's text as the model writes it, every turn's (the Query's own agent, when its answer streams). */
  readonly onDelta?: Delta
}

const parseArguments = (call: ToolCall): Record<string, unknown> | string => {
  if (call.function.arguments.trim() === "") return {}
  try {
    const parsed: unknown = JSON.parse(call.function.arguments)
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : "the arguments are not a JSON object"
  } catch (e) {
    return `the arguments are not valid JSON: ${e instanceof Error ? e.message : String(e)}`
  }
}

interface CallOutcome {
  readonly message: ChatMessage
  readonly terminated?: string
}

/** The calls of a turn that wait for a human: those needing approval that have no decision yet. */
const waitingCalls = (tools: ReadonlyMap<string, RunnableTool>, calls: ReadonlyArray<ToolCall>, decisions: ReadonlyMap<string, Decision>) =>
  calls.flatMap((call) => {
    const tool = tools.get(call.function.name)
    const args = parseArguments(call)
    return tool !== undefined && typeof args !== "string" && requiresApproval(tool, args) && !decisions.has(call.id) ? [{ call, tool }] : []
  })

const runCall = (tools: ReadonlyMap<string, RunnableTool>, call: ToolCall, decisions: ReadonlyMap<string, Decision> | undefined): Effect.Effect<CallOutcome> => {
  const result = (content: string): ChatMessage => ({ role: "tool", content, tool_call_id: call.id })
  const tool = tools.get(call.function.name)
  if (tool === undefined) return Effect.succeed({ message: result(`Error: there is no tool named ${call.function.name}`) })
  const args = parseArguments(call)
  if (typeof args === "string") return Effect.succeed({ message: result(`Error: ${args}`) })
  if (requiresApproval(tool, args)) {
    const decision = decisions?.get(call.id)
    if (decision === undefined) return Effect.succeed({ message: result("Error: this tool needs a human's approval, which is asked only for the Query's own agent") })
    if (!decision.approved) return Effect.succeed({ message: result(rejection(decision)) })
  }
  return tool.run(args).pipe(
    Effect.map((content): CallOutcome => ({ message: result(content), ...(tool.terminates === true ? { terminated: content } : {}) })),
    Effect.catchTag("ToolFailed", (e) => Effect.succeed<CallOutcome>({ message: result(`Error: ${e.message}`) }))
  )
}

export const runTurns = (input: LoopInput): Effect.Effect<Turns, ExecutionFailed> =>
  Effect.gen(function*() {
    const byName = new Map(input.tools.map((t) => [t.definition.name, t]))
    const definitions = input.tools.map((t) => t.definition)
    const conversation = [...input.conversation]
    const added: Array<ChatMessage> = []
    const decisions = input.approvals?.decisions ?? new Map<string, Decision>()
    /** Runs a turn's calls, or pauses before them; a result ends the loop. */
    const runTurnCalls = (calls: ReadonlyArray<ToolCall>) =>
      Effect.gen(function*(): Effect.fn.Return<Turns | undefined> {
        const waiting = input.approvals !== undefined ? waitingCalls(byName, calls, decisions) : []
        if (waiting.length > 0) return { messages: added, paused: { conversation: [...conversation], waiting } }
        // The calls of one turn run at once, bounded: a model asking for hundreds gets them 16 at a time.
        const outcomes = yield* Effect.forEach(calls, (call) => runCall(byName, call, input.approvals?.decisions), { concurrency: 16 })
        for (const o of outcomes) {
          conversation.push(o.message)
          added.push(o.message)
        }
        const terminated = outcomes.find((o) => o.terminated !== undefined)
        return terminated !== undefined ? { messages: added, answer: terminated.terminated! } : undefined
      })
    // A resumed conversation ends with the turn whose calls waited: they run first.
    const last = conversation.at(-1)
    if (last?.role === "assistant" && (last.tool_calls ?? []).length > 0) {
      const ended = yield* runTurnCalls(last.tool_calls!)
      if (ended !== undefined) return ended
    }
    for (let turn = 1; turn <= input.maxTurns; turn++) {
      const response = yield* input.complete({
        messages: conversation,
        tools: definitions,
        ...(input.outputSchema !== undefined ? { outputSchema: input.outputSchema } : {}),
        ...(input.onDelta !== undefined ? { onDelta: input.onDelta } : {}),
        ...(input.toolChoice !== undefined ? { toolChoice: input.toolChoice } : {})
      })
      input.onUsage(response.usage)
      const assistant: AssistantMessage = { ...response.message, name: input.speaker }
      conversation.push(assistant)
      added.push(assistant)
      const calls = assistant.tool_calls ?? []
      if (calls.length === 0) return { messages: added }
      const ended = yield* runTurnCalls(calls)
      if (ended !== undefined) return ended
    }
    return yield* new ExecutionFailed({
      code: "max-turns",
      message: `${input.who} was still calling tools after ${input.maxTurns} model calls (the engine's maxTurns, ARK_ENGINE_MAX_TURNS)`
    })
  })

/** Usage summed into a running total. */
export const usageCounter = (initial: Usage) => {
  let total = initial
  return { add: (u: Usage) => { total = addUsage(total, u) }, total: () => total }
}
