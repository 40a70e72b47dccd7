/** How an engine-backed selector's reply is read: matching a member's name, and the terminate word. */
import { describe, expect, it } from "vitest"
import { historyText, matchSelectedName, parseTerminate, terminateToken } from "../../src/layers/engine/teams/selection.ts"

describe("team selection", () => {
  it("matches a reply to a member: exactly, ignoring case, or the one whole name in it", () => {
    const members = ["analyst", "ana", "agent", "agent-2"]
    expect(matchSelectedName(" analyst ", members)).toBe("analyst")
    expect(matchSelectedName("ANA", members)).toBe("ana")
    expect(matchSelectedName("The next speaker is analyst.", members)).toBe("analyst")
    // "ana" is not a whole name inside "analysis"; "agent" is not one inside "agent-2".
    expect(matchSelectedName("Needs more analysis from agent-2", members)).toBe("agent-2")
    // A name inside another named one does not count; two names do not choose.
    expect(matchSelectedName("either ana or analyst", members)).toBe("analyst")
    expect(matchSelectedName("either analyst or agent", members)).toBeUndefined()
    expect(matchSelectedName("nobody", members)).toBeUndefined()
  })

  it("reads TERMINATE with an optional closing response, and uses TERMINATE_TEAM when a member is named terminate", () => {
    expect(parseTerminate("TERMINATE", "TERMINATE")).toBe("")
    expect(parseTerminate("terminate: all answered", "TERMINATE")).toBe("all answered")
    expect(parseTerminate("TERMINATED", "TERMINATE")).toBeUndefined()
    expect(parseTerminate("analyst", "TERMINATE")).toBeUndefined()
    expect(terminateToken(["Terminate", "analyst"])).toBe("TERMINATE_TEAM")
    expect(terminateToken(["analyst"])).toBe("TERMINATE")
  })

  it("gives the selector the conversation as headed speaker turns, without system or tool messages", () => {
    expect(historyText([
      { role: "system", content: "hidden" },
      { role: "user", content: "Hi" },
      { role: "assistant", name: "analyst", content: "42" },
      { role: "tool", tool_call_id: "c1", content: "hidden too" }
    ])).toBe("# user:\nHi\n\n# analyst:\n42\n")
  })
})
