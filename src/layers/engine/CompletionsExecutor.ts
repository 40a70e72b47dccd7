/**
 * The completions engine: QueryExecutor over the Kubernetes API (ResourceReader), as upstream's
 * engine (ark/executors/completions) runs a Query. It reads the Query and its target (or the
 * first Agent, Team, Model or Tool matching `spec.selector`), resolves the input (Go template
 * over the parameters, or chat messages), and runs an Agent's turn loop with its Model and
 * Tools, a Team's members under its strategy (teams/), a Model with the input alone, or a Tool
 * with the input as its arguments.
 */
import { Duration, Effect, Layer, Result } from "effect"
import type { ChatMessage, OnPiece, Usage } from "../../domain/chat.ts"
import { answerOf, noUsage, parseInputMessages } from "../../domain/chat.ts"
import { parseGoDuration } from "../../domain/duration.ts"
import type { KubeObject } from "../../domain/object.ts"
import { executeTemplate } from "../../domain/queryInput.ts"
import { formatLabelSelector, labelSelectorRequirements } from "../../domain/selectors.ts"
import type { ExecuteOptions, Execution, QueryRef } from "../../services/QueryExecutor.ts"
import { ExecutionFailed, QueryExecutor } from "../../services/QueryExecutor.ts"
import { ResourceReader } from "../../services/ResourceReader.ts"
import { ResourceWriter } from "../../services/ResourceWriter.ts"
import { CompletionsEngine } from "../../services/CompletionsEngine.ts"
import type { ChatCall, ChatRequest, ResolvedModel } from "./model.ts"
import { speaking } from "./model.ts"
import type { RetryPolicy } from "./providerCall.ts"
import type { AzureIdentityEndpoints } from "./providers/azureIdentity.ts"
import { ProviderError, retriedStream, withRetries } from "./providerCall.ts"
import type { Parameter, Scope } from "./resolve.ts"
import type { ValueSource } from "./resolve.ts"
import { getObject, parameterValues, readFailed, resolveModel, types, valueOf } from "./resolve.ts"
import type { AgentRun, AgentRunOptions, TeamDeps } from "./teams/team.ts"
import * as TeamEvents from "./teams/events.ts"
import { runTeam } from "./teams/team.ts"
import type { ToolDeps } from "./tools/agentTools.ts"
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
  /** How long one model call may take before it is abandoned (and tried again, as a 5xx would be). */
  readonly modelTimeout: Duration.Duration
  /** How long an MCP server's tool list is used before it is listed again. */
  readonly mcpListTtl: Duration.Duration
  /** This engine's ExecutionEngine name: agents naming it run here (ARK_ENGINE_NAME; none when embedded). */
  readonly engineName?: string
  /** Where Azure managed and workload identities get their tokens. */
  readonly azureIdentity: AzureIdentityEndpoints
}

interface QuerySpec {
  readonly type?: string
  readonly input?: unknown
  readonly parameters?: ReadonlyArray<Parameter>
  readonly target?: { readonly type: string; readonly name: string }
  readonly selector?: unknown
  readonly timeout?: string
  readonly conversationId?: string
  readonly sessionId?: string
}

interface AgentSpec {
  readonly prompt?: string
  readonly parameters?: QuerySpec["parameters"]
  readonly modelRef?: { readonly name: string; readonly namespace?: string }
  readonly outputSchema?: Record<string, unknown>
  readonly executionEngine?: { readonly name: string; readonly namespace?: string }
}

const invalid = (message: string) => new ExecutionFailed({ code: "invalid-config", message })

/**
 * A provider's client. Its SDK is imported with the first Model that uses it: `ark` commands,
 * and engines that never call a provider, do not pay for loading four SDKs.
 */
const chatCall = async (m: ResolvedModel, azure: AzureIdentityEndpoints): Promise<ChatCall> => {
  switch (m.provider) {
    case "openai":
    case "azure":
      return (await import("./providers/openai.ts")).make(m, azure)
    case "anthropic":
      return (await import("./providers/anthropic.ts")).make(m)
    case "bedrock":
      return (await import("./providers/bedrock.ts")).make(m)
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

/** An agent's run: its messages and answer, or (the Query's own agent) a pause for approval. */
interface AgentAnswer {
  readonly messages: ReadonlyArray<ChatMessage>
  readonly answer: string
  readonly terminated: boolean
  readonly paused?: NonNullable<Turns["paused"]> & { readonly inputLength: number }
}

/** The Query's own agent: it may pause for a human and resume. */
interface OwnRun extends AgentRunOptions {
  readonly own?: { readonly resume?: Approval.Pending }
}

export const make = (options: ExecutorOptions) =>
  Effect.gen(function*() {
    const reader = yield* ResourceReader
    const remote = yield* CompletionsEngine
    const writer = yield* ResourceWriter
    const mcp = yield* Mcp.make(Duration.toMillis(options.mcpListTtl))

    /**
     * Provider clients by the resolved Model (credentials included, so a rotated key makes a new
     * one), reused across Queries for their connection pools; the oldest goes beyond 64.
     */
    const clients = new Map<string, Promise<ChatCall>>()
    const clientFor = (model: ResolvedModel) => {
      const key = JSON.stringify(model)
      let call = clients.get(key)
      if (call === undefined) {
        call = chatCall(model, options.azureIdentity)
        clients.set(key, call)
        if (clients.size > 64) clients.delete(clients.keys().next().value!)
      }
      return Effect.promise(() => call)
    }

    /**
     * One model call with retries; a failure that remains is `provider-error` with the
     * provider's text. Every provider streams the answer's text to `onDelta` as the model writes it,
     * a retry after part of it without repeating that part.
     */
    const complete = (model: ResolvedModel) => (request: ChatRequest) =>
      clientFor(model).pipe(
        Effect.flatMap((call) => {
          const stream = request.onDelta !== undefined ? retriedStream(request.onDelta) : undefined
          const attempt = Effect.suspend(() => {
            stream?.restart()
            return call(stream !== undefined ? { ...request, onDelta: stream.onDelta } : request)
          })
          return withRetries(
            attempt.pipe(Effect.timeoutOrElse({
              duration: options.modelTimeout,
              orElse: () => Effect.fail(new ProviderError({ retryable: true, message: `model ${model.id} (${model.provider}) did not answer within ${Duration.format(options.modelTimeout)}` }))
            })),
            options.retry
          )
        }),
        Effect.mapError((e) => new ExecutionFailed({ code: "provider-error", message: e.message }))
      )

    /** What `agent` and `team` tools run: another Agent or a Team on one user message, its answer. */
    const toolDeps = (scope: Scope, onUsage: (u: Usage) => void, depth: number): ToolDeps => ({
      mcp,
      runAgent: (other, text) =>
        runAgent(other, scope, [{ role: "user", content: text }], onUsage, depth + 1).pipe(
          Effect.map((r) => r.answer),
          Effect.provideService(ResourceReader, reader)
        ),
      runTeam: (team, text) =>
        runTeam(scope.namespace, team, { role: "user", content: text }, [], teamDeps(scope, undefined), depth + 1, onUsage).pipe(
          Effect.map((r) => r.answer ?? answerOf(r.messages)),
          Effect.provideService(ResourceReader, reader)
        )
    })

    /**
     * Team members and selector agents are agents' turn loops; what the team does is recorded on
     * the Query, and its members' messages stream to `stream` (a team the Query targets, followed).
     */
    const teamDeps = (scope: Scope, stream: OnPiece | undefined): TeamDeps => ({
      runAgent: (name, conversation, run, depth, onUsage) =>
        runAgent(name, scope, conversation, onUsage, depth, run).pipe(
          Effect.map((r) => ({ messages: r.messages, ...(r.terminated ? { terminated: r.answer } : {}) }))
        ),
      isRemote,
      runRemote: (agent, userInput, onUsage, onPiece) => runRemote(agent, scope, userInput, onUsage, onPiece),
      track: scope.query !== undefined ? TeamEvents.tracker(writer, { namespace: scope.namespace, ...scope.query }) : TeamEvents.untracked,
      ...(stream !== undefined ? { stream } : {})
    })

    /** An agent naming an execution engine other than this one (by its name, ARK_ENGINE_NAME). */
    const isRemote = (agent: KubeObject) => {
      const engine = (agent.spec as AgentSpec | undefined)?.executionEngine?.name
      return engine !== undefined && engine !== "" && engine !== options.engineName
    }

    /**
     * A team member on another execution engine, as upstream's team sends it: one A2A message
     * with the user's input and the Query's QueryRef naming the member as the target (and the
     * Query's conversationId as the context); its answer is the member's message, its usage the Query's.
     */
    const runRemote = (agent: KubeObject, scope: Scope, userInput: ChatMessage, onUsage: (u: Usage) => void, onPiece: OnPiece | undefined) =>
      Effect.gen(function*() {
        const name = agent.metadata.name!
        const ref = (agent.spec as AgentSpec).executionEngine!
        const id = `execution engine ${ref.namespace ?? scope.namespace}/${ref.name}`
        if (scope.query === undefined) return yield* invalid(`agent ${scope.namespace}/${name} runs on ${id}: only a Query's team members are sent there`)
        const engine = yield* getObject(types.executionEngine, ref.namespace ?? scope.namespace, ref.name, "invalid-config", `the engine of agent ${scope.namespace}/${name}`)
        const address = (engine.status as { lastResolvedAddress?: string } | undefined)?.lastResolvedAddress ??
          (yield* valueOf((engine.spec as { address?: ValueSource } | undefined)?.address, { ...scope, namespace: ref.namespace ?? scope.namespace }, `spec.address of ${id}`))
        if (address === undefined || address === "") return yield* invalid(`${id} has no address`)
        const result = yield* remote.complete({
          url: address,
          input: typeof userInput.content === "string" ? userInput.content : "",
          ...(scope.query.conversationId !== undefined ? { contextId: scope.query.conversationId } : {}),
          target: { type: "agent", name, namespace: scope.namespace },
          ...(scope.query.target !== undefined ? { queryTarget: scope.query.target } : {}),
          query: { name: scope.query.name, namespace: scope.namespace },
          ...(onPiece !== undefined ? { onPiece } : {})
        }).pipe(Effect.mapError((e) => new ExecutionFailed({ code: "provider-error", message: `agent ${scope.namespace}/${name} on ${id}: ${e.message}` })))
        if (result.tokenUsage !== undefined) onUsage(result.tokenUsage)
        return { messages: [{ role: "assistant", content: result.content, name }] } satisfies AgentRun
      })

    /**
     * An Agent's turn loop over `input`; usage goes to `onUsage`. The Query's own agent
     * (`run.own`) may pause for a human and resumes from the conversation it paused with; the
     * answer streams to `run.onDelta`.
     */
    const runAgent = (name: string, scope: Scope, input: ReadonlyArray<ChatMessage>, onUsage: (u: Usage) => void, depth: number, run: OwnRun = {}) =>
      Effect.gen(function*(): Effect.fn.Return<AgentAnswer, ExecutionFailed, ResourceReader> {
        const agent = yield* getObject(types.agent, scope.namespace, name)
        const id = `agent ${scope.namespace}/${name}`
        const spec = (agent.spec ?? {}) as AgentSpec
        if (isRemote(agent)) {
          return yield* new ExecutionFailed({ code: "unsupported-target", message: `${id} runs on execution engine ${spec.executionEngine!.name}, not on this engine` })
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
        const tools = run.tools ?? (yield* agentTools(agent, scope, toolDeps(scope, onUsage, depth)))
        const start: ReadonlyArray<ChatMessage> = prompt === "" ? input : [{ role: "system", content: prompt }, ...input]
        const own = run.own
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
          ...(run.onDelta !== undefined ? { onDelta: run.onDelta } : {}),
          tools,
          ...(spec.outputSchema !== undefined ? { outputSchema: { name: `namespace-${scope.namespace}-agent-${name}`.slice(0, 64), schema: spec.outputSchema } } : {}),
          ...(run.toolChoice !== undefined ? { toolChoice: run.toolChoice } : {}),
          maxTurns: options.maxTurns,
          complete: complete(model),
          onUsage
        })
        // A resumed run's messages include those from before its pause.
        const messages = resume === undefined ? turns.messages : [...resume.conversation.slice(resume.state.inputLength), ...turns.messages]
        const inputLength = resume?.state.inputLength ?? start.length
        return {
          messages,
          answer: turns.answer ?? answerOf(messages),
          terminated: turns.answer !== undefined,
          ...(turns.paused !== undefined ? { paused: { ...turns.paused, inputLength } } : {})
        }
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
        const conversationId = spec.conversationId ?? ref.conversationId
        const scope: Scope = {
          namespace: ref.namespace,
          queryParameters,
          query: {
            name: ref.name,
            uid: query.metadata.uid ?? "",
            sessionId: spec.sessionId ?? query.metadata.uid ?? "",
            ...(declared !== undefined ? { target: declared } : {}),
            ...(conversationId !== undefined ? { conversationId } : {})
          }
        }
        const input = ref.input !== undefined ? [{ role: "user" as const, content: ref.input }] : yield* inputMessages(spec, queryParameters)
        const usage = usageCounter(noUsage)
        const onPiece = executeOptions.onPiece
        /** Once answered, the Query's input and what it added join its memory's conversation. */
        const remember = <A extends { readonly messages: ReadonlyArray<ChatMessage> }>(memory: Memory.ConversationMemory | undefined, result: A) =>
          memory === undefined
            ? Effect.succeed(result)
            : Effect.as(memory.append(ref.name, [...input, ...result.messages]), { ...result, conversationId: memory.conversationId })
        type Ran = { readonly messages: ReadonlyArray<ChatMessage>; readonly answer: string; readonly approval?: { readonly name: string }; readonly conversationId?: string }
        const run = Effect.gen(function*(): Effect.fn.Return<Ran, ExecutionFailed, ResourceReader | ResourceWriter> {
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
                own: stopped !== undefined ? { resume: stopped.pending } : {},
                ...(onPiece !== undefined ? { onDelta: speaking(onPiece, { agent: target.name }) } : {})
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
              const response = yield* complete(model)({ messages: [...history, ...input], tools: [], ...(onPiece !== undefined ? { onDelta: speaking(onPiece, {}) } : {}) })
              usage.add(response.usage)
              return yield* remember(memory, { messages: [response.message], answer: answerOf([response.message]) })
            }
            case "tool":
              return yield* runTool(target.name, scope, input, usage.add)
            case "team": {
              // The last input message is the user's; those before it, the conversation so far.
              const last = input[input.length - 1] ?? { role: "user" as const, content: "" }
              const memory = yield* Memory.forQuery(query, conversationId, scope)
              const history = memory !== undefined ? yield* memory.history : []
              const team = yield* runTeam(ref.namespace, target.name, last, [...history, ...input.slice(0, -1)], teamDeps(scope, onPiece), 0, usage.add)
              return yield* remember(memory, { messages: team.messages, answer: team.answer ?? answerOf(team.messages) })
            }
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
    const runTool = (name: string, scope: Scope, input: ReadonlyArray<ChatMessage>, onUsage: (u: Usage) => void) =>
      Effect.gen(function*() {
        const object: KubeObject = yield* getObject(types.tool, scope.namespace, name)
        const tool = yield* fromTool(object, name, scope, toolDeps(scope, onUsage, 0))
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

/** Needs a CompletionsEngine (A2A) for team members on other execution engines, a ResourceWriter for approval requests. */
export const layer = (options: ExecutorOptions): Layer.Layer<QueryExecutor, never, ResourceReader | ResourceWriter | CompletionsEngine> => Layer.effect(QueryExecutor, make(options))
