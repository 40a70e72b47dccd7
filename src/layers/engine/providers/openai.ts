/**
 * The `openai` and `azure` providers through OpenAI's SDK (`openai`): Chat Completions at the
 * Model's baseUrl (OpenAI, or anything OpenAI-compatible: Ollama, vLLM, llama.cpp server,
 * LiteLLM), or an Azure OpenAI deployment (`<baseUrl>/openai/deployments/<model>`, api-version,
 * `api-key` header, or a managed or workload identity's Entra ID token). A request with
 * `onDelta` streams (`stream: true`, usage in the last chunk): the answer's text is handed on as
 * it arrives, and the message is assembled from the chunks.
 */
import OpenAI, { APIError, AzureOpenAI } from "openai"
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam
} from "openai/resources/chat/completions"
import { Effect } from "effect"
import type { AssistantMessage, ToolCall } from "../../../domain/chat.ts"
import type { ChatCall, ResolvedModel } from "../model.ts"
import { propertyValues, secretsOf } from "../model.ts"
import { ProviderError, providerFailure } from "../providerCall.ts"
import type { AzureIdentityEndpoints } from "./azureIdentity.ts"
import { tokenProvider } from "./azureIdentity.ts"

const client = (m: ResolvedModel, identity: AzureIdentityEndpoints): OpenAI =>
  m.provider === "azure"
    ? new AzureOpenAI({
      endpoint: m.baseUrl!,
      // With an identity, its Entra ID token goes as a bearer token; else the key in `api-key`.
      ...(m.azureIdentity !== undefined ? { azureADTokenProvider: tokenProvider(m.azureIdentity, identity) } : { apiKey: m.apiKey ?? "" }),
      apiVersion: m.apiVersion ?? "2024-10-21",
      deployment: m.model,
      defaultHeaders: m.headers,
      maxRetries: 0
    })
    : new OpenAI({ apiKey: m.apiKey ?? "", baseURL: m.baseUrl!, defaultHeaders: m.headers, maxRetries: 0 })

/** The streamed chunks as one completion: text and tool-call arguments concatenated per index. */
const assemble = async (chunks: AsyncIterable<ChatCompletionChunk>, onDelta: (text: string) => void): Promise<ChatCompletion> => {
  let content: string | null = null
  const calls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }> = []
  let usage: ChatCompletion["usage"]
  let id = ""
  let finish: ChatCompletion.Choice["finish_reason"] = "stop"
  let seen = false
  for await (const chunk of chunks) {
    id = chunk.id
    if (chunk.usage != null) usage = chunk.usage
    const choice = chunk.choices?.[0]
    if (choice === undefined) continue
    seen = true
    if (choice.finish_reason != null) finish = choice.finish_reason
    const text = choice.delta?.content
    if (typeof text === "string" && text !== "") {
      content = (content ?? "") + text
      onDelta(text)
    }
    for (const d of choice.delta?.tool_calls ?? []) {
      const call = calls[d.index] ?? (calls[d.index] = { id: "", type: "function", function: { name: "", arguments: "" } })
      if (d.id !== undefined) call.id = d.id
      if (d.function?.name !== undefined) call.function.name += d.function.name
      if (d.function?.arguments !== undefined) call.function.arguments += d.function.arguments
    }
  }
  return {
    id,
    object: "chat.completion",
    created: 0,
    model: "",
    choices: seen
      ? [{ index: 0, finish_reason: finish, logprobs: null, message: { role: "assistant", content, refusal: null, ...(calls.length > 0 ? { tool_calls: calls } : {}) } }]
      : [],
    ...(usage !== undefined ? { usage } : {})
  }
}

export const make = (m: ResolvedModel, identity: AzureIdentityEndpoints): ChatCall => {
  const sdk = client(m, identity)
  return (request) =>
    Effect.tryPromise({
      try: (signal) => {
        const body = {
          ...propertyValues(m.properties),
          model: m.model,
          messages: request.messages as Array<ChatCompletionMessageParam>,
          ...(request.tools.length > 0
            ? {
              tools: request.tools.map((t) => ({ type: "function" as const, function: { name: t.name, description: t.description, parameters: t.parameters } })),
              ...(request.toolChoice === "required" ? { tool_choice: "required" as const } : {})
            }
            : {}),
          ...(request.outputSchema !== undefined
            ? { response_format: { type: "json_schema" as const, json_schema: { name: request.outputSchema.name, schema: request.outputSchema.schema } } }
            : {})
        }
        const onDelta = request.onDelta
        return onDelta === undefined
          ? sdk.chat.completions.create(body as ChatCompletionCreateParamsNonStreaming, { signal })
          : sdk.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as ChatCompletionCreateParamsStreaming, { signal })
            .then((chunks) => assemble(chunks, onDelta))
      },
      catch: (e) => providerFailure(`model ${m.id} (${m.provider})`, secretsOf(m), e, e instanceof APIError ? e : undefined)
    }).pipe(Effect.flatMap((completion) => {
      const choice = completion.choices?.[0]
      if (choice === undefined) {
        return Effect.fail(new ProviderError({ status: 200, retryable: false, message: `model ${m.id} (${m.provider}) answered with no choices` }))
      }
      const calls: ReadonlyArray<ToolCall> = (choice.message.tool_calls ?? []).flatMap((c) =>
        c.type === "function" ? [{ id: c.id, type: "function" as const, function: { name: c.function.name, arguments: c.function.arguments } }] : []
      )
      const message: AssistantMessage = {
        role: "assistant",
        content: choice.message.content ?? null,
        ...(calls.length > 0 ? { tool_calls: calls } : {})
      }
      const u = completion.usage
      return Effect.succeed({
        message,
        usage: { promptTokens: u?.prompt_tokens ?? 0, completionTokens: u?.completion_tokens ?? 0, totalTokens: u?.total_tokens ?? 0 }
      })
    }))
}
