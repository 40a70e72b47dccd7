/**
 * The `anthropic` provider through Anthropic's SDK (@anthropic-ai/sdk): the Messages API at the
 * Model's baseUrl, with `anthropic-version` from spec.config.anthropic.version. The conversation
 * is translated from OpenAI's shapes: system messages become `system`, tool calls `tool_use`
 * blocks, and tool results `tool_result` blocks of one user message per turn. A request with
 * `onDelta` streams (`stream: true`, through the SDK's MessageStream): each `text_delta` is handed
 * on as it arrives, and the SDK assembles the same Message the plain call answers (text blocks,
 * `tool_use` blocks with the input from their `input_json_delta`s, usage from `message_start`
 * and `message_delta`).
 */
import AnthropicSdk, { APIError } from "@anthropic-ai/sdk"
import type { ContentBlockParam, Message, MessageCreateParamsNonStreaming, MessageParam } from "@anthropic-ai/sdk/resources/messages"
import { Effect } from "effect"
import type { AssistantMessage, ChatMessage, ToolCall } from "../../../domain/chat.ts"
import type { ChatCall, ResolvedModel } from "../model.ts"
import { propertyValues, secretsOf } from "../model.ts"
import { providerFailure } from "../providerCall.ts"

/** Messages API requires max_tokens; a Model that sets none gets this. */
const defaultMaxTokens = 4096

const parsedInput = (args: string): unknown => {
  try {
    return args.trim() === "" ? {} : JSON.parse(args)
  } catch {
    return {}
  }
}

/** OpenAI-shaped messages as Anthropic's `system` and alternating user/assistant messages. */
const toAnthropic = (messages: ReadonlyArray<ChatMessage>): { readonly system: string; readonly messages: Array<MessageParam> } => {
  const system: Array<string> = []
  const out: Array<MessageParam> = []
  for (const m of messages) {
    switch (m.role) {
      case "system":
        system.push(m.content)
        break
      case "user":
        out.push({ role: "user", content: m.content })
        break
      case "assistant": {
        const blocks: Array<ContentBlockParam> = []
        if (m.content !== null && m.content !== "") blocks.push({ type: "text", text: m.content })
        for (const c of m.tool_calls ?? []) blocks.push({ type: "tool_use", id: c.id, name: c.function.name, input: parsedInput(c.function.arguments) })
        out.push({ role: "assistant", content: blocks })
        break
      }
      case "tool": {
        const block: ContentBlockParam = { type: "tool_result", tool_use_id: m.tool_call_id, content: m.content }
        const last = out[out.length - 1]
        // All results of one turn go back in one user message.
        if (last !== undefined && last.role === "user" && Array.isArray(last.content) && last.content.every((b) => b.type === "tool_result")) {
          last.content.push(block)
        } else {
          out.push({ role: "user", content: [block] })
        }
        break
      }
    }
  }
  return { system: system.join("\n\n"), messages: out }
}

export const make = (m: ResolvedModel): ChatCall => {
  const sdk = new AnthropicSdk({
    // The key goes in `x-api-key`, the Messages API's own header (the SDK would send a bearer token);
    // null keeps the SDK from reading ANTHROPIC_* variables of this process.
    apiKey: null,
    authToken: null,
    // The SDK adds /v1/messages itself; upstream's baseUrls often end in /v1.
    baseURL: m.baseUrl!.replace(/\/v1$/, ""),
    defaultHeaders: {
      "x-api-key": m.apiKey ?? "",
      ...(m.apiVersion !== undefined ? { "anthropic-version": m.apiVersion } : {}),
      ...m.headers
    },
    maxRetries: 0
  })
  const { max_tokens, ...properties } = propertyValues(m.properties)
  return (request) =>
    Effect.tryPromise({
      try: (signal) => {
        const { system, messages } = toAnthropic(request.messages)
        const body = {
          ...properties,
          model: m.model,
          max_tokens: typeof max_tokens === "number" ? max_tokens : defaultMaxTokens,
          messages,
          ...(system !== "" ? { system } : {}),
          ...(request.tools.length > 0
            ? {
              tools: request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: { type: "object" as const, ...t.parameters } })),
              ...(request.toolChoice === "required" ? { tool_choice: { type: "any" as const } } : {})
            }
            : {})
        } as MessageCreateParamsNonStreaming
        const onDelta = request.onDelta
        if (onDelta === undefined) return sdk.messages.create(body, { signal })
        const stream = sdk.messages.stream(body, { signal })
        stream.on("text", (text) => {
          if (text !== "") onDelta(text)
        })
        return stream.finalMessage() as Promise<Message>
      },
      catch: (e) => providerFailure(`model ${m.id} (anthropic)`, secretsOf(m), e, e instanceof APIError ? e : undefined)
    }).pipe(Effect.map((answer) => {
      const text = answer.content.flatMap((b) => b.type === "text" ? [b.text] : []).join("")
      const calls: ReadonlyArray<ToolCall> = answer.content.flatMap((b) =>
        b.type === "tool_use" ? [{ id: b.id, type: "function" as const, function: { name: b.name, arguments: JSON.stringify(b.input) } }] : []
      )
      const message: AssistantMessage = { role: "assistant", content: text === "" && calls.length > 0 ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}) }
      const input = answer.usage.input_tokens
      const output = answer.usage.output_tokens
      return { message, usage: { promptTokens: input, completionTokens: output, totalTokens: input + output } }
    }))
}
