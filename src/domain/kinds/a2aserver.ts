/** A2AServer (v1prealpha1): a remote Agent-to-Agent server whose agents are discovered into Agents. */
import { Schema } from "effect"
import { conditions, Header, optionalString, PollInterval, ServiceAddress } from "./common.ts"

export const A2AServerSpec = Schema.Struct({
  address: ServiceAddress.annotate({ description: "Address specifies how to reach the A2A server" }),
  description: optionalString("Description of the A2A server"),
  headers: Schema.optionalKey(
    Schema.Array(Header).annotate({ description: "Headers for authentication and other metadata" })
  ),
  pollInterval: PollInterval,
  timeout: optionalString("Timeout for A2A agent execution (e.g., \"30s\", \"5m\", \"1h\")", { default: "5m" })
})
export type A2AServerSpec = typeof A2AServerSpec.Type

export const A2AServerStatus = Schema.Struct({
  conditions: conditions("Conditions represent the latest available observations of the A2A server's state"),
  lastResolvedAddress: optionalString("LastResolvedAddress contains the last resolved address value")
})
export type A2AServerStatus = typeof A2AServerStatus.Type
