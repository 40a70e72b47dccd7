/**
 * A Team as the engine runs it: its members read from the Kubernetes API (a missing one ends the
 * Query `invalid-config`, as upstream refuses to build the team), each an agent's turn loop or a
 * nested team, its selector agent for the selector strategy, then the strategy (strategies.ts).
 * The team, each turn and each member's run are recorded on the Query (events.ts), the team's
 * with the tokens used within it (a nested team's too).
 */
import { Effect } from "effect"
import type { AnswerPiece, ChatMessage, OnPiece, Usage } from "../../../domain/chat.ts"
import { noUsage } from "../../../domain/chat.ts"
import type { KubeObject } from "../../../domain/object.ts"
import { ExecutionFailed } from "../../../services/QueryExecutor.ts"
import { ResourceReader } from "../../../services/ResourceReader.ts"
import type { Delta } from "../model.ts"
import { speaking } from "../model.ts"
import { getObject, types } from "../resolve.ts"
import type { RunnableTool } from "../tools/runnableTool.ts"
import { usageCounter } from "../turnLoop.ts"
import type { Track } from "./events.ts"
import { usageData } from "./events.ts"
import { chooser } from "./selector.ts"
import type { Around, Choose, Member, TeamResult, TeamSpec } from "./strategies.ts"
import { runStrategy } from "./strategies.ts"

export interface AgentRun {
  readonly messages: ReadonlyArray<ChatMessage>
  /** The agent called `terminate` with this response. */
  readonly terminated?: string
}

export interface AgentRunOptions {
  /** Instead of the agent's own tools (a selector agent gets only the selection tools). */
  readonly tools?: ReadonlyArray<RunnableTool>
  readonly toolChoice?: "required"
  /** The answer's text as the model writes it, every turn's (a streamed Query's own agent, a team's members). */
  readonly onDelta?: Delta
}

type OnUsage = (u: Usage) => void

export interface TeamDeps {
  /** An agent's turn loop: its prompt, then `conversation`. */
  readonly runAgent: (name: string, conversation: ReadonlyArray<ChatMessage>, options: AgentRunOptions, depth: number, onUsage: OnUsage) => Effect.Effect<AgentRun, ExecutionFailed, ResourceReader>
  /** The agent runs on another execution engine than this one. */
  readonly isRemote: (agent: KubeObject) => boolean
  /** An agent on another execution engine: sent the user's input alone, as upstream sends it. */
  readonly runRemote: (agent: KubeObject, userInput: ChatMessage, onUsage: OnUsage, onPiece?: OnPiece) => Effect.Effect<AgentRun, ExecutionFailed, ResourceReader>
  /** Records the team's operations on the Query. */
  readonly track: Track
  /** Where the members' messages stream as they are written, when the Query's answer is followed. */
  readonly stream?: OnPiece
}

/** Teams within teams (and agents they call): a cycle would otherwise never end. */
const maxDepth = 8

export const runTeam = (
  namespace: string,
  name: string,
  userInput: ChatMessage,
  history: ReadonlyArray<ChatMessage>,
  deps: TeamDeps,
  depth: number,
  onUsage: OnUsage
): Effect.Effect<TeamResult, ExecutionFailed, ResourceReader> =>
  Effect.gen(function*() {
    const id = `${namespace}/${name}`
    if (depth > maxDepth) return yield* new ExecutionFailed({ code: "invalid-config", message: `team ${id}: teams and agents call each other more than ${maxDepth} deep` })
    const team = yield* getObject(types.team, namespace, name)
    const reader = yield* ResourceReader
    const provided = <A>(e: Effect.Effect<A, ExecutionFailed, ResourceReader>) => Effect.provideService(e, ResourceReader, reader)
    const spec = (team.spec ?? {}) as TeamSpec
    // The team's own tokens, for its record; the Query's are counted by `onUsage`.
    const usage = usageCounter(noUsage)
    const used: OnUsage = (u) => {
      usage.add(u)
      onUsage(u)
    }
    // Members' messages stream attributed to them in this team (a nested team's members speak for
    // themselves), each ended when the member's turn is; a selector's deliberation does not stream.
    const stream = deps.stream
    const speaks = (member: string) => stream === undefined ? {} : { onDelta: speaking(stream, { agent: member, team: name }) }
    const relayed = (member: string) =>
      stream === undefined ? undefined : (piece: AnswerPiece) => stream({ ...piece, agent: piece.agent ?? member, team: piece.team ?? name })
    const ended = (member: string) => Effect.sync(() => stream?.({ text: "", agent: member, team: name, end: true }))
    const members: Array<Member> = []
    for (const m of spec.members ?? []) {
      if (m.type !== "agent" && m.type !== "team") {
        return yield* new ExecutionFailed({ code: "invalid-config", message: `unsupported member type ${m.type} for member ${m.name} in team ${id}` })
      }
      const object = yield* getObject(m.type === "agent" ? types.agent : types.team, namespace, m.name, "invalid-config", `member of team ${id}`)
      const description = (object.spec as { description?: string } | undefined)?.description
      members.push({
        name: m.name,
        type: m.type,
        ...(description !== undefined ? { description } : {}),
        run: m.type === "agent"
          ? (input, before) =>
            provided(deps.isRemote(object) ? deps.runRemote(object, input, used, relayed(m.name)) : deps.runAgent(m.name, [...before, input], speaks(m.name), depth + 1, used)).pipe(
              Effect.tap(() => ended(m.name))
            )
          : (input, before) => provided(runTeam(namespace, m.name, input, before, deps, depth + 1, used)).pipe(Effect.map((r) => ({ messages: r.messages })))
      })
    }
    const selectorName = spec.selector?.agent
    const selector = spec.strategy === "selector" && selectorName !== undefined && selectorName !== ""
      ? yield* getObject(types.agent, namespace, selectorName, "invalid-config", `selector agent of team ${id}`)
      : undefined
    const choose: Choose = selector !== undefined
      ? chooser(id, spec, {
        engineBacked: deps.isRemote(selector),
        // An engine-backed selector gets the selection request as its one message: the prompt and the ask, as text.
        run: (messages, tools) =>
          provided(
            deps.isRemote(selector)
              ? deps.runRemote(selector, { role: "user", content: messages.map((m) => String(m.content)).join("\n\n") }, used)
              : deps.runAgent(selector.metadata.name!, messages, { tools, ...(tools.length > 0 ? { toolChoice: "required" as const } : {}) }, depth + 1, used)
          ).pipe(Effect.map((r) => r.messages))
      })
      : () => Effect.fail(new ExecutionFailed({ code: "invalid-config", message: `team ${id}: selector agent must be specified` }))
    const strategy = spec.strategy ?? ""
    const turnData = (n: number) => ({ teamName: name, strategy, turn: String(n) })
    const around: Around = (n, member) => (run) =>
      deps.track({
        operation: "TeamTurn",
        data: turnData(n),
        start: `Executing turn ${n} for team ${name}`,
        complete: () => ({ message: `Team turn ${n} completed successfully` }),
        fail: "Team turn failed"
      }, deps.track({
        operation: "TeamMember",
        data: { memberType: member.type, memberName: member.name, ...turnData(n) },
        start: `Executing member ${member.name} in team ${name}`,
        complete: () => ({ message: "Team member execution completed successfully" }),
        fail: "Team member execution failed"
      }, run))
    return yield* deps.track({
      operation: "TeamExecution",
      data: { teamName: name, strategy, memberCount: String(members.length) },
      start: `Executing team ${id}`,
      complete: () => ({ message: "Team execution completed successfully", data: usageData(usage.total()) }),
      fail: "Team execution failed"
    }, runStrategy(id, spec, members, choose, around, userInput, history))
  })
