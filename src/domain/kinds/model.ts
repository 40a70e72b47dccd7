/** Model: an LLM endpoint and the credentials to reach it, per provider; the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { conditions, Header, optionalString, PollInterval, ValueSource } from "./common.ts"
import type { KubeObject, StatusCause } from "../object.ts"
import type { Admission, Json } from "./admissionRules.ts"
import { annotate, checkHeaders, invalid, migrationWarningPrefix, record, required, text } from "./admissionRules.ts"

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

const checkModel = (spec: Json, causes: Array<StatusCause>) => {
  const provider = text(spec["provider"])
  const config = record(spec["config"]) ?? {}
  if (provider !== undefined && config[provider] === undefined) {
    causes.push(required(`spec.config.${provider}`, `${provider} configuration is required for ${provider} model type`))
  }
  for (const p of ["openai", "azure"]) checkHeaders(causes, `spec.config.${p}.headers`, record(config[p])?.["headers"])
  const azure = record(config["azure"])
  if (provider === "azure" && azure !== undefined) {
    const auth = record(azure["auth"])
    if (auth === undefined && azure["apiKey"] === undefined) causes.push(required("spec.config.azure.auth", "spec.config.azure.apiKey or spec.config.azure.auth is required"))
    if (auth !== undefined && ["apiKey", "managedIdentity", "workloadIdentity"].filter((k) => auth[k] !== undefined).length !== 1) {
      causes.push(invalid("spec.config.azure.auth", Object.keys(auth), "must have exactly one of apiKey, managedIdentity or workloadIdentity"))
    }
  }
}

const deprecatedProviderTypes = ["openai", "azure", "bedrock"]

/** Upstream's DefaultModel: a provider named in the deprecated spec.type moves to spec.provider. */
const defaultModel = (obj: KubeObject, spec: Json): KubeObject => {
  const type = text(spec["type"])
  if ((spec["provider"] ?? "") !== "" || type === undefined || !deprecatedProviderTypes.includes(type)) return obj
  return annotate(
    { ...obj, spec: { ...spec, provider: type, type: "completions" } },
    `${migrationWarningPrefix}provider`,
    `spec.type is deprecated for provider values - migrated '${type}' to spec.provider`
  )
}

/** Upstream's Model webhooks (DefaultModel, ValidateModel without its Secret and URL lookups). */
export const ModelAdmission: Admission = { defaults: defaultModel, validate: (spec, { causes }) => checkModel(spec, causes) }
