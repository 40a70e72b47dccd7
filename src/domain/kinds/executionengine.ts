/** ExecutionEngine (v1prealpha1): an external agent runtime (LangChain, AutoGen, ...) reached over A2A; the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { optionalString, ServiceAddress } from "./common.ts"
import type { Admission } from "./admissionRules.ts"
import { addressSources, checkAddress, required } from "./admissionRules.ts"

/** Where a dedicated engine's image or template comes from. */
const EngineSource = Schema.Struct({
  git: Schema.optionalKey(Schema.Struct({
    path: Schema.optionalKey(Schema.String),
    ref: Schema.optionalKey(Schema.String),
    url: Schema.String
  })),
  image: Schema.optionalKey(Schema.String)
}).annotate({ description: "Source specifies the template to deploy (for dedicated instances)" })

export const ExecutionEngineSpec = Schema.Struct({
  address: Schema.optionalKey(
    ServiceAddress.annotate({ description: "Address specifies how to reach the execution engine (for shared executors)" })
  ),
  configSchema: optionalString("ConfigSchema is the JSON schema for configuration values (populated from image label)"),
  description: optionalString("Description provides human-readable information about this execution engine"),
  isAgentic: Schema.optionalKey(
    Schema.Boolean.annotate({ description: "IsAgentic indicates the template produces an agent that gets A2A exposure" })
  ),
  source: Schema.optionalKey(EngineSource),
  // Upstream's release requires the address; a newer upstream line names a type (and a source) instead.
  // Either is accepted: admission needs one of them.
  type: optionalString("Type specifies which execution engine implementation to use")
}).annotate({
  description: "ExecutionEngineSpec defines the configuration for an execution engine that can run agent workloads.\n" +
    "This allows agents to be executed by different frameworks such as LangChain, AutoGen, or other\n" +
    "agent execution systems, rather than the built-in OpenAI-compatible engine.\n" +
    "Execution engines work as operators that watch Query CRDs and process queries for agents\n" +
    "that reference them."
})
export type ExecutionEngineSpec = typeof ExecutionEngineSpec.Type

export const ExecutionEngineStatus = Schema.Struct({
  imageRef: Schema.optionalKey(Schema.String),
  lastResolvedAddress: optionalString("LastResolvedAddress contains the actual resolved address value"),
  message: Schema.optionalKey(Schema.String),
  phase: Schema.optionalKey(Schema.String)
})
export type ExecutionEngineStatus = typeof ExecutionEngineStatus.Type

/** Upstream's ValidateExecutionEngine; an engine of upstream's newer line may name a type instead of an address. */
export const ExecutionEngineAdmission: Admission = {
  validate: (spec, { causes }) => {
    if (spec["address"] === undefined && spec["type"] === undefined) {
      causes.push(required("spec.address", "an execution engine needs an address (or, on upstream's newer line, a type)"))
    }
    checkAddress(causes, "spec.address", spec["address"], addressSources)
  }
}
