/**
 * The `bedrock` provider through the AWS SDK's own client (@aws-sdk/client-bedrock-runtime):
 * the Converse API, for the Model's modelArn or model id, in its region. Credentials are the
 * Model's access key (and session token), or its Bedrock API key (a bearer token), or else the
 * SDK's default chain (environment, profile, instance or pod role); `baseUrl` overrides the
 * endpoint (over HTTP/1.1). The conversation is translated from OpenAI's shapes to Converse's content blocks.
 * A request with `onDelta` streams (ConverseStream, its answer event-stream framed): each text
 * `contentBlockDelta` is handed on as it arrives, and the events are assembled into the content
 * blocks Converse answers (text, `toolUse` with the input from its deltas, usage from `metadata`).
 */
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from "@aws-sdk/client-bedrock-runtime"
import type { ContentBlock, ConverseCommandInput, ConverseStreamOutput, Message, TokenUsage } from "@aws-sdk/client-bedrock-runtime"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import { Effect } from "effect"
import type { AssistantMessage, ChatMessage, ToolCall } from "../../../domain/chat.ts"
import type { ChatCall, ResolvedModel } from "../model.ts"
import { propertyValue, secretsOf } from "../model.ts"
import { providerFailure } from "../providerCall.ts"

const parsedInput = (args: string): Record<string, unknown> => {
  try {
    const v: unknown = args.trim() === "" ? {} : JSON.parse(args)
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

/** OpenAI-shaped messages as Converse's `system` and messages (a turn's tool results in one user message). */
const toConverse = (messages: ReadonlyArray<ChatMessage>): { readonly system: Array<{ text: string }>; readonly messages: Array<Message> } => {
  const system: Array<{ text: string }> = []
  const out: Array<Message> = []
  for (const m of messages) {
    switch (m.role) {
      case "system":
        system.push({ text: m.content })
        break
      case "user":
        out.push({ role: "user", content: [{ text: m.content }] })
        break
      case "assistant": {
        const blocks: Array<ContentBlock> = []
        if (m.content !== null && m.content !== "") blocks.push({ text: m.content })
        for (const c of m.tool_calls ?? []) blocks.push({ toolUse: { toolUseId: c.id, name: c.function.name, input: parsedInput(c.function.arguments) as never } })
        out.push({ role: "assistant", content: blocks })
        break
      }
      case "tool": {
        const block: ContentBlock = { toolResult: { toolUseId: m.tool_call_id, content: [{ text: m.content }] } }
        const last = out[out.length - 1]
        if (last !== undefined && last.role === "user" && (last.content ?? []).every((b) => b.toolResult !== undefined)) last.content!.push(block)
        else out.push({ role: "user", content: [block] })
        break
      }
    }
  }
  return { system, messages: out }
}

/** What both Converse and ConverseStream come to: the answer's content blocks and its usage. */
interface Answer {
  readonly content: ReadonlyArray<ContentBlock>
  readonly usage: TokenUsage | undefined
}

/**
 * ConverseStream's events as Converse's answer: text deltas concatenated per content block (and
 * handed to `onDelta`), a `toolUse` block's input from the JSON pieces of its deltas, usage from
 * `metadata`. An exception event in the stream is thrown by the SDK as the service error it names.
 */
const assemble = async (events: AsyncIterable<ConverseStreamOutput> | undefined, onDelta: (text: string) => void): Promise<Answer> => {
  const blocks: Array<{ text?: string; toolUse?: { toolUseId: string; name: string; input: string } }> = []
  let usage: TokenUsage | undefined
  const block = (index: number | undefined) => blocks[index ?? 0] ?? (blocks[index ?? 0] = {})
  for await (const event of events ?? []) {
    if (event.contentBlockStart?.start?.toolUse !== undefined) {
      const start = event.contentBlockStart.start.toolUse
      block(event.contentBlockStart.contentBlockIndex).toolUse = { toolUseId: start.toolUseId ?? "", name: start.name ?? "", input: "" }
    } else if (event.contentBlockDelta !== undefined) {
      const b = block(event.contentBlockDelta.contentBlockIndex)
      const delta = event.contentBlockDelta.delta
      if (typeof delta?.text === "string" && delta.text !== "") {
        b.text = (b.text ?? "") + delta.text
        onDelta(delta.text)
      } else if (delta?.toolUse?.input !== undefined) {
        if (b.toolUse === undefined) b.toolUse = { toolUseId: "", name: "", input: "" }
        b.toolUse.input += delta.toolUse.input
      }
    } else if (event.metadata !== undefined) {
      usage = event.metadata.usage
    }
  }
  const content = blocks.flatMap((b): Array<ContentBlock> => [
    ...(b.text !== undefined ? [{ text: b.text }] : []),
    ...(b.toolUse !== undefined ? [{ toolUse: { toolUseId: b.toolUse.toolUseId, name: b.toolUse.name, input: parsedInput(b.toolUse.input) as never } }] : [])
  ])
  return { content, usage }
}

/** A smithy service error's status, headers and name, for the retry decision and the message. */
const providerError = (m: ResolvedModel, e: unknown) => {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } }
  const status = err.$metadata?.httpStatusCode
  const headers = err.$response?.headers
  return providerFailure(`model ${m.id} (bedrock)`, secretsOf(m), e, {
    status,
    headers: headers === undefined ? undefined : { get: (n: string) => headers[n] ?? headers[n.toLowerCase()] ?? null },
    text: `${status !== undefined ? `HTTP ${status} ` : ""}${err.name ?? "Error"}: ${err.message ?? String(e)}`
  })
}

export const make = (m: ResolvedModel): ChatCall => {
  const b = m.bedrock ?? {}
  const client = new BedrockRuntimeClient({
    ...(b.region !== undefined ? { region: b.region } : {}),
    ...(m.baseUrl !== undefined ? { endpoint: m.baseUrl } : {}),
    ...(b.accessKeyId !== undefined && b.secretAccessKey !== undefined
      ? { credentials: { accessKeyId: b.accessKeyId, secretAccessKey: b.secretAccessKey, ...(b.sessionToken !== undefined ? { sessionToken: b.sessionToken } : {}) } }
      : m.apiKey !== undefined
      ? { token: { token: m.apiKey }, authSchemePreference: ["httpBearerAuth"] }
      : {}),
    // Retries are the engine's (providerCall.ts), with Retry-After.
    maxAttempts: 1,
    // Converse and ConverseStream are one request and one answer (streamed in one response):
    // HTTP/1.1, which gateways and proxies in front of Bedrock speak too (the client's default
    // handler is HTTP/2, for the bidirectional streaming operation, which ark does not use).
    requestHandler: new NodeHttpHandler()
  })
  const maxTokens = b.maxTokens ?? (m.properties["max_tokens"] !== undefined ? Number(m.properties["max_tokens"]) : undefined)
  const temperature = b.temperature ?? m.properties["temperature"]
  const topP = m.properties["top_p"]
  return (request) =>
    Effect.tryPromise({
      try: (signal) => {
        const { system, messages } = toConverse(request.messages)
        const input: ConverseCommandInput = {
          modelId: b.modelArn ?? m.model,
          messages,
          ...(system.length > 0 ? { system } : {}),
          inferenceConfig: {
            ...(maxTokens !== undefined ? { maxTokens } : {}),
            ...(temperature !== undefined ? { temperature: propertyValue(temperature) as number } : {}),
            ...(topP !== undefined ? { topP: propertyValue(topP) as number } : {})
          },
          ...(request.tools.length > 0
            ? {
              toolConfig: {
                tools: request.tools.map((t) => ({ toolSpec: { name: t.name, description: t.description, inputSchema: { json: t.parameters as never } } })),
                ...(request.toolChoice === "required" ? { toolChoice: { any: {} } } : {})
              }
            }
            : {})
        }
        const onDelta = request.onDelta
        return onDelta === undefined
          ? client.send(new ConverseCommand(input), { abortSignal: signal }).then((r): Answer => ({ content: r.output?.message?.content ?? [], usage: r.usage }))
          : client.send(new ConverseStreamCommand(input), { abortSignal: signal }).then((r) => assemble(r.stream, onDelta))
      },
      catch: (e) => providerError(m, e)
    }).pipe(Effect.map((answer) => {
      const blocks = answer.content
      const text = blocks.flatMap((c) => c.text !== undefined ? [c.text] : []).join("")
      const calls: ReadonlyArray<ToolCall> = blocks.flatMap((c) =>
        c.toolUse !== undefined
          ? [{ id: c.toolUse.toolUseId ?? "", type: "function" as const, function: { name: c.toolUse.name ?? "", arguments: JSON.stringify(c.toolUse.input ?? {}) } }]
          : []
      )
      const message: AssistantMessage = { role: "assistant", content: text === "" && calls.length > 0 ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}) }
      const u = answer.usage
      return { message, usage: { promptTokens: u?.inputTokens ?? 0, completionTokens: u?.outputTokens ?? 0, totalTokens: u?.totalTokens ?? 0 } }
    }))
}
