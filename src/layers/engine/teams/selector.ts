/**
 * The selector agent's choice of the next member: the team's selector prompt filled in, then
 * the selector agent run with only `select-next-speaker` (and `terminate`, when the team enables
 * it) as its tools and a tool call required; a selector agent on another engine, which cannot
 * be given tools, answers with a name (or the terminate word) that is matched instead.
 */
import { Effect } from "effect"
import type { ChatMessage } from "../../../domain/chat.ts"
import { answerOf } from "../../../domain/chat.ts"
import { executeTemplate } from "../../../domain/queryInput.ts"
import { ExecutionFailed } from "../../../services/QueryExecutor.ts"
import { builtins } from "../tools/builtin.ts"
import type { RunnableTool } from "../tools/runnableTool.ts"
import { ToolFailed } from "../tools/runnableTool.ts"
import * as Selection from "./selection.ts"
import type { Choose, Selection as Chosen, TeamSpec } from "./strategies.ts"

export interface SelectorAgent {
  /** The selector agent runs on another engine: no tools can be given to it. */
  readonly engineBacked: boolean
  /** Runs it (its own prompt first) on `messages` with `tools` only, a call of one of them required when there are any; what it added. */
  readonly run: (messages: ReadonlyArray<ChatMessage>, tools: ReadonlyArray<RunnableTool>) => Effect.Effect<ReadonlyArray<ChatMessage>, ExecutionFailed>
}

export const chooser = (team: string, spec: TeamSpec, agent: SelectorAgent): Choose => (conversation, candidates) =>
  Effect.gen(function*() {
    const filled = executeTemplate(
      spec.selector?.selectorPrompt !== undefined && spec.selector.selectorPrompt !== "" ? spec.selector.selectorPrompt : Selection.defaultSelectorPrompt,
      new Map([
        ["Roles", Selection.rolesText(candidates)],
        ["Participants", Selection.participantsText(candidates)],
        ["History", Selection.historyText(conversation)]
      ])
    )
    if (filled._tag === "Unresolvable") return yield* new ExecutionFailed({ code: "invalid-config", message: `spec.selector.selectorPrompt of team ${team}: ${filled.message}` })
    const terminate = spec.selector?.enableTerminateTool === true
    const told = Selection.selectorMessages(filled.text, candidates, {
      engineBacked: agent.engineBacked,
      terminate,
      ...(spec.selector?.terminatePrompt !== undefined ? { terminatePrompt: spec.selector.terminatePrompt } : {})
    })
    const messages: ReadonlyArray<ChatMessage> = [{ role: "system", content: told.system }, { role: "user", content: told.user }]
    const names = candidates.map((c) => c.name)

    if (agent.engineBacked) {
      const reply = answerOf(yield* agent.run(messages, []))
      if (terminate) {
        const closing = Selection.parseTerminate(reply, Selection.terminateToken(names))
        if (closing !== undefined) return { _tag: "Terminated", response: closing, messages: closing === "" ? [] : [{ role: "assistant", content: closing }] } satisfies Chosen
      }
      return { _tag: "Selected", name: Selection.matchSelectedName(reply, names) ?? reply.trim() } satisfies Chosen
    }

    // The first of the two tools to be called decides; the loop ends with it (both terminate it).
    let decided: { readonly name: string } | { readonly response: string } | undefined
    const select: RunnableTool = {
      definition: Selection.selectNextSpeakerTool(names),
      run: (args) =>
        typeof args["name"] === "string"
          ? Effect.sync(() => {
            decided ??= { name: args["name"] as string }
            return args["name"] as string
          })
          : Effect.fail(new ToolFailed({ message: "name parameter must be a string" })),
      terminates: true
    }
    const end = builtins.get("terminate")!
    const tools = terminate
      ? [select, { ...end, run: (args: Record<string, unknown>) => end.run(args).pipe(Effect.tap((response) => Effect.sync(() => void (decided ??= { response })))) }]
      : [select]
    const added = yield* agent.run(messages, tools)
    if (decided === undefined) return { _tag: "Unusable", warning: "Selector agent did not use the select-next-speaker tool" } satisfies Chosen
    if ("name" in decided) return { _tag: "Selected", name: decided.name } satisfies Chosen
    return { _tag: "Terminated", response: decided.response, messages: decided.response === "" ? [] : added } satisfies Chosen
  })
