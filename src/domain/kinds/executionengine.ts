/** ExecutionEngine (v1prealpha1): an external agent runtime (LangChain, AutoGen, ...) reached over A2A. */
import { Schema } from "effect"
import { optionalString, ServiceAddress } from "./common.ts"

export const ExecutionEngineSpec = Schema.Struct({
  address: ServiceAddress.annotate({ description: "Address specifies how to reach the execution engine" }),
  description: optionalString("Description provides human-readable information about this execution engine")
}).annotate({
  description: "ExecutionEngineSpec defines the configuration for an execution engine that can run agent workloads.\n" +
    "This allows agents to be executed by different frameworks such as LangChain, AutoGen, or other\n" +
    "agent execution systems, rather than the built-in OpenAI-compatible engine.\n" +
    "Execution engines communicate via the A2A (Agent-to-Agent) protocol."
})
export type ExecutionEngineSpec = typeof ExecutionEngineSpec.Type

export const ExecutionEngineStatus = Schema.Struct({
  lastResolvedAddress: optionalString("LastResolvedAddress contains the actual resolved address value"),
  message: Schema.optionalKey(Schema.String),
  phase: Schema.optionalKey(Schema.String)
})
export type ExecutionEngineStatus = typeof ExecutionEngineStatus.Type
