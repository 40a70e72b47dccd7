/**
 * A Team's turn-taking, as upstream's engine runs it: `sequential` (each member once, in order),
 * `sequential` with `loops` or the deprecated `round-robin` (members in turn until `maxTurns`),
 * `selector` (a selector agent picks each next member, within the graph's edges when the team
 * has them), and the deprecated `graph` (from the first member along the edges). Each member
 * sees the team's conversation so far and the user's input; what it says is added under its
 * name. A member calling `terminate` ends the team; so do `maxTurns` (noted by a system message),
 * a selector that terminates, and a selection that names no member (noted by a system message).
 */
import { Effect } from "effect"
import type { ChatMessage } from "../../../domain/chat.ts"
import { ExecutionFailed } from "../../../services/QueryExecutor.ts"
import type { Candidate } from "./selection.ts"

export interface TeamSpec {
  readonly strategy?: string
  readonly description?: string
  readonly members?: ReadonlyArray<{ readonly name: string; readonly type: string }>
  readonly loops?: boolean
  readonly maxTurns?: number
  readonly selector?: {
    readonly agent?: string
    readonly selectorPrompt?: string
    readonly enableTerminateTool?: boolean
    readonly terminatePrompt?: string
  }
  readonly graph?: { readonly edges?: ReadonlyArray<{ readonly from: string; readonly to: string }> }
}

export interface MemberResult {
  /** What the member added: assistant (and tool) messages. */
  readonly messages: ReadonlyArray<ChatMessage>
  /** The member called `terminate` with this response: the team ends after this turn, and it is the answer. */
  readonly terminated?: string
}

export interface Member extends Candidate {
  readonly type: string
  readonly run: (userInput: ChatMessage, history: ReadonlyArray<ChatMessage>) => Effect.Effect<MemberResult, ExecutionFailed>
}

export type Selection =
  | { readonly _tag: "Selected"; readonly name: string }
  /** The selector ended the team, with its closing response (the answer) and messages (none without a response). */
  | { readonly _tag: "Terminated"; readonly response: string; readonly messages: ReadonlyArray<ChatMessage> }
  /** No usable choice: the warning ends the team as a system message. */
  | { readonly _tag: "Unusable"; readonly warning: string }

/** Wraps a member's turn (numbered from 0 in the team): where the team records it. */
export type Around = (turn: number, member: Member) => <A>(run: Effect.Effect<A, ExecutionFailed>) => Effect.Effect<A, ExecutionFailed>

/** Picks the next member among `candidates` from the conversation so far. */
export type Choose = (conversation: ReadonlyArray<ChatMessage>, candidates: ReadonlyArray<Member>) => Effect.Effect<Selection, ExecutionFailed>

const system = (content: string): ChatMessage => ({ role: "system", content })
const maxTurnsReached = (n: number) => system(`Team conversation reached maximum turns limit (${n})`)

/** Assistant messages carry the member's name (a nested team's messages, the team's). */
const attributed = (messages: ReadonlyArray<ChatMessage>, name: string): ReadonlyArray<ChatMessage> =>
  messages.map((m) => m.role === "assistant" ? { ...m, name } : m)

export interface TeamResult {
  /** What the team said, in order (system messages note why it ended). */
  readonly messages: ReadonlyArray<ChatMessage>
  /** A terminate's response, when one ended the team: the answer. */
  readonly answer?: string
}

/** The team's running conversation: what members see, and what the team said. */
const conversation = (initial: ReadonlyArray<ChatMessage>) => {
  const all = [...initial]
  const added: Array<ChatMessage> = []
  let answer: string | undefined
  return {
    all: () => all as ReadonlyArray<ChatMessage>,
    added: (): TeamResult => ({ messages: added, ...(answer !== undefined && answer !== "" ? { answer } : {}) }),
    answer: (text: string) => {
      answer = text
    },
    push: (...messages: ReadonlyArray<ChatMessage>) => {
      all.push(...messages)
      added.push(...messages)
    },
    note: (message: ChatMessage) => added.push(message)
  }
}

const turn = (team: string, around: Around, n: number, member: Member, userInput: ChatMessage, c: ReturnType<typeof conversation>) =>
  around(n, member)(member.run(userInput, c.all())).pipe(
    Effect.tap((r) =>
      Effect.sync(() => {
        c.push(...attributed(r.messages, member.name))
        if (r.terminated !== undefined) c.answer(r.terminated)
      })
    ),
    Effect.map((r) => r.terminated !== undefined),
    Effect.mapError((e) =>
      new ExecutionFailed({
        code: e.code,
        message: `${member.type} ${member.name} failed in team ${team}: ${e.message}`,
        ...(e.unconfigured !== undefined ? { unconfigured: e.unconfigured } : {})
      })
    )
  )

const sequential = (team: string, spec: TeamSpec, members: ReadonlyArray<Member>, around: Around, userInput: ChatMessage, history: ReadonlyArray<ChatMessage>) =>
  Effect.gen(function*() {
    const c = conversation(history)
    if (spec.loops !== true && spec.strategy !== "round-robin") {
      for (const [n, member] of members.entries()) if (yield* turn(team, around, n, member, userInput, c)) break
      return c.added()
    }
    // Looping with no maxTurns ends only by terminate (or the Query's timeout), as upstream.
    for (let n = 0; ; n++) {
      if (spec.maxTurns !== undefined && n >= spec.maxTurns) {
        c.note(maxTurnsReached(spec.maxTurns))
        return c.added()
      }
      if (yield* turn(team, around, n, members[n % members.length]!, userInput, c)) return c.added()
    }
  })

/** `from` -> its successors, in the order of the edges, among the members. */
const successors = (spec: TeamSpec, members: ReadonlyArray<Member>) => {
  const byName = new Map(members.map((m) => [m.name, m]))
  const out = new Map<string, Array<Member>>()
  for (const e of spec.graph?.edges ?? []) {
    const to = byName.get(e.to)
    if (to === undefined) continue
    out.set(e.from, [...(out.get(e.from) ?? []), to])
  }
  return out
}

const selector = (team: string, spec: TeamSpec, members: ReadonlyArray<Member>, around: Around, choose: Choose, userInput: ChatMessage, history: ReadonlyArray<ChatMessage>) =>
  Effect.gen(function*() {
    const c = conversation([...history, userInput])
    const edges = successors(spec, members)
    let previous: string | undefined
    for (let n = 0; ; n++) {
      // With edges, the previous member's successors are the candidates: none ends the team, one is taken without asking.
      const legal = edges.size === 0 || previous === undefined ? members : edges.get(previous) ?? []
      if (legal.length === 0) return c.added()
      const selection: Selection = legal.length === 1 && edges.size > 0 && previous !== undefined
        ? { _tag: "Selected", name: legal[0]!.name }
        : yield* choose(c.all(), legal)
      if (selection._tag === "Terminated") {
        for (const m of selection.messages) c.note(m)
        c.answer(selection.response)
        return c.added()
      }
      if (selection._tag === "Unusable") {
        c.note(system(selection.warning))
        return c.added()
      }
      const member = legal.find((m) => m.name === selection.name)
      if (member === undefined) {
        c.note(system(`Selector returned invalid agent name: ${selection.name}`))
        return c.added()
      }
      if (yield* turn(team, around, n, member, userInput, c)) return c.added()
      previous = member.name
      if (spec.maxTurns !== undefined && n + 1 >= spec.maxTurns) {
        c.note(maxTurnsReached(spec.maxTurns))
        return c.added()
      }
    }
  })

/** The deprecated graph strategy: from the first member along each member's (last) edge, until none leads on. */
const graph = (team: string, spec: TeamSpec, members: ReadonlyArray<Member>, around: Around, userInput: ChatMessage, history: ReadonlyArray<ChatMessage>) =>
  Effect.gen(function*() {
    const c = conversation(history)
    const next = new Map((spec.graph?.edges ?? []).map((e) => [e.from, e.to]))
    const byName = new Map(members.map((m) => [m.name, m]))
    let current = members[0]!
    for (let n = 0; ; n++) {
      if (yield* turn(team, around, n, current, userInput, c)) return c.added()
      const to = next.get(current.name)
      if (to === undefined) return c.added()
      const member = byName.get(to)
      if (member === undefined) return yield* new ExecutionFailed({ code: "invalid-config", message: `member ${to} not found in team ${team}` })
      current = member
      if (spec.maxTurns !== undefined && n + 1 >= spec.maxTurns) {
        c.note(maxTurnsReached(spec.maxTurns))
        return c.added()
      }
    }
  })

/** Runs a team (`team`: namespace/name) over the user's input and the conversation before it; its messages, in order. */
export const runStrategy = (
  team: string,
  spec: TeamSpec,
  members: ReadonlyArray<Member>,
  choose: Choose,
  around: Around,
  userInput: ChatMessage,
  history: ReadonlyArray<ChatMessage>
): Effect.Effect<TeamResult, ExecutionFailed> => {
  if (members.length === 0) return Effect.fail(new ExecutionFailed({ code: "invalid-config", message: `team ${team} has no members configured` }))
  switch (spec.strategy) {
    case "sequential":
    case "round-robin":
      return sequential(team, spec, members, around, userInput, history)
    case "selector":
      return selector(team, spec, members, around, choose, userInput, history)
    case "graph":
      return graph(team, spec, members, around, userInput, history)
    default:
      return Effect.fail(new ExecutionFailed({ code: "invalid-config", message: `unsupported strategy ${String(spec.strategy)} for team ${team}` }))
  }
}
