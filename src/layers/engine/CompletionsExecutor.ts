/**
 * The completions engine: QueryExecutor over the Kubernetes API (ResourceReader), as upstream's
 * engine (ark/executors/completions) runs a Query. It reads the Query and its target (or the
 * first Agent, Team, Model or Tool matching `spec.selector`), resolves the input (Go template
 * over the parameters, or chat messages), and runs an Agent's turn loop with its Model and
 * Tools, a Model with the input alone, or a Tool with the input as its arguments.
 */
import { Duration, Effect, Layer, Result } from "effect"
import type { ChatMessage } from "../../domain/chat.ts"
import { answerOf, noUsage, parseInputMessages } from "../../domain/chat.ts"
import { parseGoDuration } from "../../domain/duration.ts"
import type { KubeObject } from "../../domain/object.ts"
import { executeTemplate } from "../../domain/queryInput.ts"
import { formatLabelSelector, labelSelectorRequirements } from "../../domain/selectors.ts"
import type { ExecuteOptions, Execution, QueryRef } from "../../services/QueryExecutor.ts"
import { ExecutionFailed, QueryExecutor } from "../../services/QueryExecutor.ts"
import { ResourceReader } from "../../services/ResourceReader.ts"
import { ResourceWriter } from "../../services/ResourceWriter.ts"
import type { ChatCall, ChatRequest, ResolvedModel } from "./model.ts"
import * as Anthropic from "./providers/anthropic.ts"
import * as Bedrock from "./providers/bedrock.ts"
import * as OpenAI from "./providers/openai.ts"
import type { RetryPolicy } from "./providerCall.ts"
import { withRetries } from "./providerCall.ts"
import type { Parameter, Scope } from "./resolve.ts"
import { getObject, parameterValues, readFailed, resolveModel, types } from "./resolve.ts"
import { agentTools, fromTool } from "./tools/agentTools.ts"
import * as Mcp from "./tools/mcp.ts"
import * as Approval from "./approval.ts"
import * as Memory from "./memory/memory.ts"
import type { Turns } from "./turnLoop.ts"
import { runTurns, usageCounter } from "./turnLoop.ts"

export interface ExecutorOptions {
  /** Model calls one agent may make for one Query before it ends with `max-turns`. */
  readonly maxTurns: number
  readonly retry: RetryPolicy
  /** How long an MCP server's tool list is used before it is listed again. */
  readonly mcpListTtl: Duration.Duration
}

interface QuerySpec {
  readonly type?: string
  readonly input?: unknown
  readonly parameters?: ReadonlyArray<Parameter>
  readonly target?: { readonly type: string; readonly name: string }
  readonly selector?: unknown
  readonly timeout?: string
  readonly conversationId?: string
}

interface AgentSpec {
  readonly prompt?: string
  readonly parameters?: QuerySpec["parameters"]
  readonly modelRef?: { readonly name: string; readonly namespace?: string }
  readonly outputSchema?: Record<string, unknown>
  readonly executionEngine?: { readonly name: string }
}

const invalid = (message: string) => new ExecutionFailed({ code: "invalid-config", message })

/** What an agent's run gives: its messages and answer, or (the Query's own agent) a pause for approval. */
interface AgentRun {
  readonly messages: ReadonlyArray<ChatMessage>
  readonly answer: string
  readonly paused?: NonNullable<Turns["paused"]> & { readonly inputLength: number }
}

const chatCall = (m: ResolvedModel): ChatCall => {
  switch (m.provider) {
    case "openai":
    case "azure":
      return OpenAI.make(m)
    case "anthropic":
      return Anthropic.make(m)
    case "bedrock":
      return Bedrock.make(m)
  }
}

/** The first Agent, Team, Model or Tool matching the selector, in upstream's order. */
const selectTarget = (namespace: string, selector: unknown) =>
  Effect.gen(function*() {
    const requirements = labelSelectorRequirements(selector)
    if (Result.isFailure(requirements)) return yield* invalid(`spec.selector is not usable: ${requirements.failure}`)
    const query = formatLabelSelector(requirements.success)
    const reader = yield* ResourceReader
    for (const [type, resource] of [["agent", types.agent], ["team", types.team], ["model", types.model], ["tool", types.tool]] as const) {
      const items = yield* reader.list(resource, namespace, query).pipe(Effect.mapError(readFailed))
      const first = items[0]
      if (first !== undefined) return { type, name: first.metadata.name! }
    }
    return yield* new ExecutionFailed({ code: "not-found", message: `no agent, team, model or tool in namespace ${namespace} matches spec.selector` })
  })

/** The Query's input as chat messages: `type: messages` as given, else one user message (a template when there are parameters). */
const inputMessages = (spec: QuerySpec, parameters: ReadonlyMap<string, string>) =>
  Effect.gen(function*() {
    if (spec.type === "messages") {
      const messages = parseInputMessages(spec.input)
      return typeof messages === "string" ? yield* invalid(messages) : messages
    }
    const text = typeof spec.input === "string" ? spec.input : JSON.stringify(spec.input ?? "")
    if (parameters.size === 0) return [{ role: "user", content: text }] satisfies ReadonlyArray<ChatMessage>
    const filled = executeTemplate(text, parameters)
    if (filled._tag === "Unresolvable") return yield* invalid(`spec.input: ${filled.message}`)
    return [{ role: "user", content: filled.text }] satisfies ReadonlyArray<ChatMessage>
  })

/**
 * A target override (`ref.target`) is a calling engine running one member of the Query's team:
 * allowed, as upstream's engine allows it, only for an agent that the Query's team reaches
 * (a member, its selector agent, or one of a member team's, transitively).
 */
const authorizeOverride = (namespace: string, queryName: string, declared: { readonly type: string; readonly name: string } | undefined, agent: { readonly type: string; readonly name: string }) =>
  Effect.gen(function*() {
    const refuse = (why: string) => new ExecutionFailed({ code: "invalid-config", message: `query ${namespace}/${queryName}: ${why}` })
    if (agent.type !== "agent") return yield* refuse(`a target override must be an agent, not a ${agent.type}`)
    if (declared?.type !== "team") return yield* refuse(`agent ${agent.name} cannot run as a sub-target: only team targets may delegate`)
    const seen = new Set<string>()
    const pending = [declared.name]
    // Bounded by the team names in the namespace: each is read once.
    while (pending.length > 0) {
      const name = pending.shift()!
      if (seen.has(name)) continue
      seen.add(name)
      const team = yield* getObject(types.team, namespace, name, "invalid-config", `team of query ${namespace}/${queryName}`)
      const spec = (team.spec ?? {}) as { members?: ReadonlyArray<{ name: string; type: string }>; selector?: { agent?: string } }
      if (spec.selector?.agent === agent.name) return
      for (const m of spec.members ?? []) {
        if (m.type === "agent" && m.name === agent.name) return
        if (m.type === "team") pending.push(m.name)
      }
    }
    return yield* refuse(`agent ${agent.name} is not a member of team ${declared.name}`)
  })

export const make = (options: ExecutorOptions) =>
  Effect.gen(function*() {
    const reader = yield* ResourceReader
    const writer = yield* ResourceWriter
    const mcp = yield* Mcp.make(Duration.toMillis(options.mcpListTtl))

    /** One model call with retries; a failure that remains is `provider-error` with the provider's text. */
    /**
     * Provider clients by the resolved Model (credentials included, so a rotated key makes a new
     * one), reused across Queries for their connection pools; the oldest goes beyond 64.
     */
    const clients = new Map<string, ChatCall>()
    const clientFor = (model: ResolvedModel) => {
      const key = JSON.stringify(model)
      let call = clients.get(key)
      if (call === undefined) {
        call = chatCall(model)
        clients.set(key, call)
        if (clients.size > 64) clients.delete(clients.keys().next().value!)
      }
      return call
    }

    const complete = (model: ResolvedModel) => {
      const call = clientFor(model)
      // Providers without a streaming client here hand on the whole text at once.
      const streams = model.provider === "openai" || model.provider === "azure"
      return (request: ChatRequest) =>
        withRetries(call(request), options.retry).pipe(
          Effect.tap((r) => {
            const text = r.message.content
            return !streams && request.onDelta !== undefined && typeof text === "string" && text !== "" ? Effect.sync(() => request.onDelta!(text)) : Effect.void
          }),
          Effect.mapError((e) => new ExecutionFailed({ code: "provider-error", message: e.message }))
        )
    }

    /**
     * An Agent's turn loop over `input`; usage goes to `onUsage`. The Query's own agent (with
     * `own`) may pause for a human and resumes from the conversation it paused with, and its
     * answer streams to `onDelta`.
     */
    const runAgent = (
      name: string,
      scope: Scope,
      input: ReadonlyArray<ChatMessage>,
      onUsage: (u: typeof noUsage) => void,
      depth: number,
      own?: { readonly resume?: Approval.Pending; readonly onDelta?: (text: string) => void }
    ) =>
      Effect.gen(function*(): Effect.fn.Return<AgentRun, ExecutionFailed, ResourceReader> {
        const agent = yield* getObject(types.agent, scope.namespace, name)
        const id = `agent ${scope.namespace}/${name}`
        const spec = (agent.spec ?? {}) as AgentSpec
        if (spec.executionEngine !== undefined) {
          return yield* new ExecutionFailed({ code: "unsupported-target", message: `${id} runs on execution engine ${spec.executionEngine.name}, not on this engine` })
        }
        // Agents calling agents: a cycle (a -> b -> a) would otherwise never end.
        if (depth > 8) return yield* invalid(`${id}: agents call each other more than 8 deep`)
        const modelRef = spec.modelRef ?? { name: "default" }
        const model = yield* resolveModel(modelRef.name, { ...scope, namespace: modelRef.namespace ?? scope.namespace }, `the model of ${id}`)
        const parameters = yield* parameterValues(spec.parameters, scope, id)
        let prompt = spec.prompt ?? ""
        if (parameters.size > 0) {
          const filled = executeTemplate(prompt, parameters)
          if (filled._tag === "Unresolvable") return yield* invalid(`spec.prompt of ${id}: ${filled.message}`)
          prompt = filled.text
        }
        const tools = yield* agentTools(agent, scope, {
          mcp,
          runAgent: (other, text) =>
            runAgent(other, scope, [{ role: "user", content: text }], onUsage, depth + 1).pipe(
              Effect.map((r) => r.answer),
              Effect.provideService(ResourceReader, reader)
            )
        })
        const start: ReadonlyArray<ChatMessage> = prompt === "" ? input : [{ role: "system", content: prompt }, ...input]
        const resume = own?.resume
        const decision = resume?.decision
        const last = resume?.conversation.at(-1)
        const turns = yield* runTurns({
          who: id,
          speaker: name,
          conversation: resume?.conversation ?? start,
          ...(own !== undefined
            ? { approvals: { decisions: new Map(decision === undefined || last?.role !== "assistant" ? [] : (last.tool_calls ?? []).map((c) => [c.id, decision])) } }
            : {}),
          tools,
          ...(spec.outputSchema !== undefined ? { outputSchema: { name: `namespace-${scope.namespace}-agent-${name}`.slice(0, 64), schema: spec.outputSchema } } : {}),
          maxTurns: options.maxTurns,
          ...(own?.onDelta !== undefined ? { onDelta: own.onDelta } : {}),
          complete: complete(model),
          onUsage
        })
        // A resumed run's messages include those from before its pause.
        const messages = resume === undefined ? turns.messages : [...resume.conversation.slice(resume.state.inputLength), ...turns.messages]
        const inputLength = resume?.state.inputLength ?? start.length
        return { messages, answer: turns.answer ?? answerOf(messages), ...(turns.paused !== undefined ? { paused: { ...turns.paused, inputLength } } : {}) }
      })

    const execute = (ref: QueryRef, executeOptions: ExecuteOptions = {}) =>
      Effect.gen(function*() {
        const query = yield* getObject(types.query, ref.namespace, ref.name)
        const spec = (query.spec ?? {}) as QuerySpec
        const declared = spec.target ?? (spec.selector !== undefined ? yield* selectTarget(ref.namespace, spec.selector) : undefined)
        if (ref.target !== undefined) yield* authorizeOverride(ref.namespace, ref.name, declared, ref.target)
        const target = ref.target ?? declared
        if (target === undefined) return yield* invalid(`query ${ref.namespace}/${ref.name} has no target and no selector`)
        const queryParameters = yield* parameterValues(spec.parameters, { namespace: ref.namespace, queryParameters: new Map() }, `query ${ref.namespace}/${ref.name}`)
        const scope: Scope = { namespace: ref.namespace, queryParameters }
        const input = yield* inputMessages(spec, queryParameters)
        const usage = usageCounter(noUsage)
        const conversationId = ref.conversationId ?? spec.conversationId
        /** Once answered, the Query's input and what it added join its memory's conversation. */
        const remember = (memory: Memory.ConversationMemory | undefined, result: AgentRun) =>
          memory === undefined
            ? Effect.succeed(result)
            : Effect.as(memory.append(ref.name, [...input, ...result.messages]), { ...result, conversationId: memory.conversationId })
        const run = Effect.gen(function*(): Effect.fn.Return<AgentRun & { readonly approval?: { readonly name: string }; readonly conversationId?: string }, ExecutionFailed, ResourceReader | ResourceWriter> {
          switch (target.type) {
            case "agent": {
              const identity = { namespace: ref.namespace, name: ref.name, uid: query.metadata.uid ?? "" }
              // Only a Query that stopped for approval (its status names the request) resumes.
              const stopped = (query.status as { approvalRef?: unknown } | undefined)?.approvalRef !== undefined ? yield* Approval.latest(identity) : undefined
              // Still waiting: nothing runs until a human has answered.
              if (stopped !== undefined && stopped.pending.decision === undefined) return { messages: [], answer: "", approval: { name: stopped.pending.name } }
              const memory = yield* Memory.forQuery(query, stopped?.pending.state.conversationId ?? conversationId, scope)
              // A resumed run has its memory's messages in the conversation it stopped with.
              const history = stopped === undefined && memory !== undefined ? yield* memory.history : []
              if (stopped !== undefined) usage.add(stopped.pending.state.usage)
              const agentRun = yield* runAgent(target.name, scope, [...history, ...input], usage.add, 0, {
                ...(stopped !== undefined ? { resume: stopped.pending } : {}),
                ...(executeOptions.onDelta !== undefined ? { onDelta: executeOptions.onDelta } : {})
              })
              if (agentRun.paused === undefined) return yield* remember(memory, agentRun)
              const name = yield* Approval.request({
                query: identity,
                agent: target.name,
                conversation: agentRun.paused.conversation,
                waiting: agentRun.paused.waiting,
                after: stopped?.sequence ?? 0,
                state: { usage: usage.total(), inputLength: agentRun.paused.inputLength, ...(memory !== undefined ? { conversationId: memory.conversationId } : {}) }
              })
              return { ...agentRun, approval: { name } }
            }
            case "model": {
              const model = yield* resolveModel(target.name, scope, `the target of query ${ref.namespace}/${ref.name}`)
              const memory = yield* Memory.forQuery(query, conversationId, scope)
              const history = memory !== undefined ? yield* memory.history : []
              const response = yield* complete(model)({ messages: [...history, ...input], tools: [], ...(executeOptions.onDelta !== undefined ? { onDelta: executeOptions.onDelta } : {}) })
              usage.add(response.usage)
              return yield* remember(memory, { messages: [response.message], answer: answerOf([response.message]) })
            }
            case "tool":
              return yield* runTool(target.name, scope, input)
            default:
              return yield* new ExecutionFailed({
                code: "unsupported-target",
                message: `${target.type} targets are not run by this engine yet (query ${ref.namespace}/${ref.name})`,
                unconfigured: true
              })
          }
        })
        const timeout = parseGoDuration(spec.timeout ?? "5m") ?? 300_000
        const result = yield* run.pipe(Effect.timeoutOrElse({
          duration: Duration.millis(timeout),
          orElse: () => Effect.fail(new ExecutionFailed({ code: "timeout", message: `query ${ref.namespace}/${ref.name} did not finish within ${spec.timeout ?? "5m"}` }))
        }))
        return {
          content: result.answer,
          messages: result.messages,
          tokenUsage: usage.total(),
          ...(result.approval !== undefined ? { approval: result.approval } : {}),
          ...(result.conversationId !== undefined ? { conversationId: result.conversationId } : {})
        } satisfies Execution
      }).pipe(Effect.provideService(ResourceReader, reader), Effect.provideService(ResourceWriter, writer))

    /** A Tool as the target: the input is its JSON arguments, or `{input: <text>}`; its result is the answer. */
    const runTool = (name: string, scope: Scope, input: ReadonlyArray<ChatMessage>) =>
      Effect.gen(function*() {
        const object: KubeObject = yield* getObject(types.tool, scope.namespace, name)
        const tool = yield* fromTool(object, name, scope, {
          mcp,
          runAgent: (agent, text) =>
            runAgent(agent, scope, [{ role: "user", content: text }], () => undefined, 1).pipe(Effect.map((r) => r.answer), Effect.provideService(ResourceReader, reader))
        })
        const last = input[input.length - 1]
        const text = typeof last?.content === "string" ? last.content : ""
        let args: Record<string, unknown>
        try {
          const parsed: unknown = JSON.parse(text)
          args = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : { input: text }
        } catch {
          args = { input: text }
        }
        const content = yield* tool.run(args).pipe(
          Effect.mapError((e) => new ExecutionFailed({ code: "tool-error", message: `tool ${scope.namespace}/${name} failed: ${e.message}` }))
        )
        const message: ChatMessage = { role: "assistant", content }
        return { messages: [message], answer: content }
      })

    return QueryExecutor.of({ execute })
  })

export const layer = (options: ExecutorOptions): Layer.Layer<QueryExecutor, never, ResourceReader | ResourceWriter> => Layer.effect(QueryExecutor, make(options))
