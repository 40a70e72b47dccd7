/**
 * The `bedrock` provider through the AWS SDK's own client (@aws-sdk/client-bedrock-runtime):
 * the Converse API, for the Model's modelArn or model id, in its region. Credentials are the
 * Model's access key (and session token), or its Bedrock API key (a bearer token), or else the
 * SDK's default chain (environment, profile, instance or pod role); `baseUrl` overrides the
 * endpoint (over HTTP/1.1). The conversation is translated from OpenAI's shapes to Converse's content blocks.
 */
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime"
import type { ContentBlock, ConverseCommandInput, Message } from "@aws-sdk/client-bedrock-runtime"
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
    // Converse is one request and one answer: HTTP/1.1, which gateways and proxies in front of
    // Bedrock speak too (the client's default handler is HTTP/2, for the streaming operations).
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
        return client.send(new ConverseCommand(input), { abortSignal: signal })
      },
      catch: (e) => providerError(m, e)
    }).pipe(Effect.map((answer) => {
      const blocks = answer.output?.message?.content ?? []
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
