/**
 * The `openai` and `azure` providers through OpenAI's SDK (`openai`): Chat Completions at the
 * Model's baseUrl (OpenAI, or anything OpenAI-compatible: Ollama, vLLM, llama.cpp server,
 * LiteLLM), or an Azure OpenAI deployment (`<baseUrl>/openai/deployments/<model>`, api-version,
 * `api-key` header, or a managed or workload identity's Entra ID token).
 */
import OpenAI, { APIError, AzureOpenAI } from "openai"
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from "openai/resources/chat/completions"
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

export const make = (m: ResolvedModel, identity: AzureIdentityEndpoints): ChatCall => {
  const sdk = client(m, identity)
  return (request) =>
    Effect.tryPromise({
      try: (signal) =>
        sdk.chat.completions.create({
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
        } as ChatCompletionCreateParamsNonStreaming, { signal }),
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
