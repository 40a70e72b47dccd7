/**
 * How a selector team's next member is chosen, with upstream's prompt semantics: the selector
 * prompt (a Go template over `.Roles`, `.Participants` and `.History`), the instructions added
 * to it, the `select-next-speaker` tool the selector agent must call (or, for a selector agent on
 * another engine, its reply matched against the members' names), and the terminate rules.
 */
import type { ChatMessage, ToolDefinition } from "../../../domain/chat.ts"

export interface Candidate {
  readonly name: string
  readonly description?: string
}

export const defaultSelectorPrompt = `You are in a role play game. The following roles are available:
{{.Roles}}.
Read the following conversation, then use the select-next-speaker tool to select the next role from {{.Participants}} to play.

{{.History}}

Read the above conversation, then use the select-next-speaker tool to select the next role from {{.Participants}} to play.`

const terminatePrompt = "If the most recent user message has been given an adequate response, do not return a role. Instead call the terminate tool."
const engineTerminatePrompt = "If the most recent user message has been given an adequate response, do not return a role."

export const selectNextSpeaker = "select-next-speaker"

/** The tool the selector agent picks with: one of the candidates' names. */
export const selectNextSpeakerTool = (candidates: ReadonlyArray<string>): ToolDefinition => ({
  name: selectNextSpeaker,
  description: "Select the next speaker of the team conversation",
  parameters: {
    type: "object",
    properties: { name: { type: "string", description: "The name of the next speaker", enum: [...candidates] } },
    required: ["name"]
  }
})

/** The conversation as the selector reads it: `# speaker:` headings over user and assistant texts. */
export const historyText = (messages: ReadonlyArray<ChatMessage>): string =>
  messages.flatMap((m) =>
    m.role === "assistant" ? [`# ${m.name ?? ""}:\n${m.content ?? ""}\n`] : m.role === "user" ? [`# user:\n${m.content}\n`] : []
  ).join("\n")

export const participantsText = (candidates: ReadonlyArray<Candidate>) => candidates.map((c) => c.name).join(", ")

export const rolesText = (candidates: ReadonlyArray<Candidate>) =>
  candidates.map((c) => c.description !== undefined && c.description !== "" ? `${c.name}: ${c.description}` : c.name).join(", ")

/** The word an engine-backed selector replies with to end the team; another when a member is named so. */
export const terminateToken = (candidates: ReadonlyArray<string>) => candidates.some((c) => c.toLowerCase() === "terminate") ? "TERMINATE_TEAM" : "TERMINATE"

export interface SelectorMessages {
  /** Given to the selector agent as a system message after its own prompt. */
  readonly system: string
  /** The user message it answers. */
  readonly user: string
}

/**
 * What the selector agent is told: the filled prompt, how to answer (the tool, or for an agent
 * on another engine, which cannot be given tools, a bare name), and when terminating is
 * enabled, when and how to end the team.
 */
export const selectorMessages = (
  filledPrompt: string,
  candidates: ReadonlyArray<Candidate>,
  options: { readonly engineBacked: boolean; readonly terminate: boolean; readonly terminatePrompt?: string }
): SelectorMessages => {
  const participants = participantsText(candidates)
  const token = terminateToken(candidates.map((c) => c.name))
  let system = filledPrompt + (options.engineBacked
    ? `\n\nIgnore any instruction above to use a tool: no tools are available to you. Reply with only the name of the next speaker, exactly as written in ${participants}, and nothing else.`
    : "\n\nUse the select-next-speaker tool to express your next speaker selection.")
  if (options.terminate) {
    const prompt = options.terminatePrompt !== undefined && options.terminatePrompt !== "" ? options.terminatePrompt : options.engineBacked ? engineTerminatePrompt : terminatePrompt
    system += `\n\n${prompt}`
    if (options.engineBacked) system += `\n\nYou have no tools available. To stop, reply with ${token} instead of a name, optionally followed by a colon and a closing response to the user.`
  }
  const user = options.engineBacked
    ? options.terminate
      ? `Reply with only the name of the next speaker to respond, or ${token} (optionally followed by a colon and a closing response) if the original question has been answered.`
      : "Reply with only the name of the next speaker to respond."
    : options.terminate
    ? "Select the next speaker to respond using the select-next-speaker tool, or use the terminate tool if you think the user's original question has been answered."
    : "Select the next speaker to respond using the select-next-speaker tool."
  return { system, user }
}

/** An engine-backed selector's reply that ends the team: its closing response ("" for none), or undefined. */
export const parseTerminate = (reply: string, token: string): string | undefined => {
  const trimmed = reply.trim()
  if (trimmed.length < token.length || trimmed.slice(0, token.length).toUpperCase() !== token) return undefined
  const rest = trimmed.slice(token.length)
  if (rest === "") return ""
  if (!/^[:\s]/.test(rest)) return undefined
  return rest.replace(/^[:\s]+/, "").trim()
}

const nameChar = /[A-Za-z0-9-]/

/** `needle` in `haystack` as a whole name: not inside a longer name (hyphens are part of names). */
const containsWholeName = (haystack: string, needle: string) => {
  if (needle === "") return false
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
    const end = at + needle.length
    if ((at === 0 || !nameChar.test(haystack[at - 1]!)) && (end === haystack.length || !nameChar.test(haystack[end]!))) return true
  }
  return false
}

/**
 * A reply matched to a candidate: exactly, then ignoring case, then the one candidate named in
 * it as a whole name (a name inside another named candidate's does not count); else undefined.
 */
export const matchSelectedName = (reply: string, candidates: ReadonlyArray<string>): string | undefined => {
  const selected = reply.trim()
  if (candidates.includes(selected)) return selected
  const folded = candidates.find((c) => c.toLowerCase() === selected.toLowerCase())
  if (folded !== undefined) return folded
  const lowered = selected.toLowerCase()
  const mentioned = candidates.filter((c) => containsWholeName(lowered, c.toLowerCase()))
  const longest = mentioned.filter((c) => !mentioned.some((o) => o !== c && o.toLowerCase().includes(c.toLowerCase())))
  return longest.length === 1 ? longest[0] : undefined
}
