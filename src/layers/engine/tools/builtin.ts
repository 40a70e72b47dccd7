/**
 * Upstream's built-in tools: `noop` (answers with its arguments, does nothing) and `terminate`
 * (its `response` becomes the final answer and ends the conversation).
 */
import { Effect } from "effect"
import type { RunnableTool } from "./runnableTool.ts"
import { ToolFailed } from "./runnableTool.ts"

const noop: RunnableTool = {
  definition: {
    name: "noop",
    description: "A no-operation tool that does nothing and returns success",
    parameters: { type: "object", properties: { message: { type: "string", description: "Optional message to include in the response" } } }
  },
  run: (args) => Effect.succeed(JSON.stringify(args))
}

const terminate: RunnableTool = {
  definition: {
    name: "terminate",
    description: "Use this function to provide a final response to the user and then end the current conversation",
    parameters: {
      type: "object",
      properties: { response: { type: "string", description: "The message to send before ending the conversation" } },
      required: ["response"]
    }
  },
  run: (args) =>
    typeof args["response"] === "string"
      ? Effect.succeed(args["response"])
      : Effect.fail(new ToolFailed({ message: "terminate needs a string argument \"response\"" })),
  terminates: true
}

export const builtins: ReadonlyMap<string, RunnableTool> = new Map([["noop", noop], ["terminate", terminate]])
