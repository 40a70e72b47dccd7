/** Model: an LLM endpoint and the credentials to reach it, per provider. */
import { Schema } from "effect"
import { conditions, Header, optionalString, PollInterval, ValueSource } from "./common.ts"

/** Fields every HTTP-based provider config has; `baseUrl` is required unless noted. */
const httpProvider = {
  baseUrl: ValueSource,
  headers: Schema.optionalKey(Schema.Array(Header)),
  properties: Schema.optionalKey(Schema.Record(Schema.String, ValueSource))
}

const OpenAIModelConfig = Schema.Struct({
  apiKey: ValueSource,
  ...httpProvider
}).annotate({ description: "OpenAIModelConfig contains OpenAI specific parameters" })

const AnthropicModelConfig = Schema.Struct({
  apiKey: ValueSource,
  ...httpProvider,
  version: Schema.optionalKey(ValueSource)
}).annotate({ description: "AnthropicModelConfig contains Anthropic API specific parameters" })

const AzureModelConfig = Schema.Struct({
  apiKey: Schema.optionalKey(ValueSource.annotate({ description: "Deprecated: Use auth.apiKey instead" })),
  apiVersion: Schema.optionalKey(ValueSource),
  auth: Schema.optionalKey(
    Schema.Struct({
      apiKey: Schema.optionalKey(ValueSource),
      managedIdentity: Schema.optionalKey(
        Schema.Struct({ clientId: Schema.optionalKey(ValueSource) }).annotate({
          description: "AzureManagedIdentity configures Azure Managed Identity authentication"
        })
      ),
      workloadIdentity: Schema.optionalKey(
        Schema.Struct({ clientId: ValueSource, tenantId: ValueSource }).annotate({
          description: "AzureWorkloadIdentity configures Azure Workload Identity authentication"
        })
      )
    }).annotate({ description: "AzureAuth represents authentication configuration for Azure OpenAI" })
  ),
  ...httpProvider
}).annotate({ description: "AzureModelConfig contains Azure OpenAI specific parameters" })

/** Bedrock authenticates with AWS credentials, so `baseUrl` is optional here. */
const BedrockModelConfig = Schema.Struct({
  accessKeyId: Schema.optionalKey(ValueSource),
  apiKey: Schema.optionalKey(ValueSource),
  baseUrl: Schema.optionalKey(ValueSource),
  maxTokens: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(100000))),
  modelArn: Schema.optionalKey(ValueSource),
  properties: httpProvider.properties,
  region: Schema.optionalKey(ValueSource),
  secretAccessKey: Schema.optionalKey(ValueSource),
  sessionToken: Schema.optionalKey(ValueSource),
  // A decimal in [0, 1] kept as a string, as upstream does.
  temperature: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^(0(\.\d+)?|1(\.0+)?)$/)))
}).annotate({ description: "BedrockModelConfig contains AWS Bedrock specific parameters" })

export const ModelSpec = Schema.Struct({
  config: Schema.Struct({
    anthropic: Schema.optionalKey(AnthropicModelConfig),
    azure: Schema.optionalKey(AzureModelConfig),
    bedrock: Schema.optionalKey(BedrockModelConfig),
    openai: Schema.optionalKey(OpenAIModelConfig)
  }).annotate({ description: "ModelConfig holds type-specific configuration parameters" }),
  model: ValueSource,
  pollInterval: PollInterval,
  provider: Schema.Literals(["openai", "azure", "bedrock", "anthropic"]).annotate({
    description: "Provider specifies the AI provider client to use (openai, azure, bedrock, anthropic)."
  }),
  type: Schema.optionalKey(Schema.Literals(["completions", "openai", "azure", "bedrock", "anthropic"]).annotate({
    description: "Type specifies the API capability of the model (e.g., completions, embeddings).\n" +
      "Deprecated: The values \"openai\", \"azure\", \"bedrock\" are accepted for backward\n" +
      "compatibility but will be removed in release 1.0. Use spec.provider instead.",
    default: "completions"
  }))
})
export type ModelSpec = typeof ModelSpec.Type

export const ModelStatus = Schema.Struct({
  conditions: conditions("Conditions represent the latest available observations of a model's state"),
  resolvedAddress: optionalString("ResolvedAddress contains the actual resolved base URL value")
})
export type ModelStatus = typeof ModelStatus.Type
