/** A2AServer (v1prealpha1): a remote Agent-to-Agent server whose agents are discovered into Agents; the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { conditions, Header, optionalString, PollInterval, ServiceAddress } from "./common.ts"
import type { Admission } from "./admissionRules.ts"
import { addressSources, checkAddress, checkHeaders } from "./admissionRules.ts"

export const A2AServerSpec = Schema.Struct({
  address: ServiceAddress.annotate({ description: "Address specifies how to reach the A2A server" }),
  allowedEndpointHosts: Schema.optionalKey(
    Schema.Array(
      Schema.String.check(
        Schema.isMaxLength(253),
        Schema.isPattern(/^(\*\.)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/)
      )
    ).annotate({
      description: "AllowedEndpointHosts lists hosts the agent card may redirect requests to\n" +
        "when endpointResolution is \"cardUrl\". The host of spec.address is always\n" +
        "allowed. Entries are hostnames, optionally prefixed with \"*.\" to match\n" +
        "one level of subdomain."
    })
  ),
  description: optionalString("Description of the A2A server"),
  endpointResolution: Schema.optionalKey(Schema.Literals(["address", "cardPath", "cardUrl"]).annotate({
    description: "EndpointResolution controls which URL Ark calls for A2A requests.\n" +
      "\"address\" uses spec.address unchanged. \"cardPath\" keeps the scheme, host\n" +
      "and port from spec.address and takes only the path from the agent card.\n" +
      "\"cardUrl\" uses the agent card URL as written, which requires the card\n" +
      "host to match spec.address or be listed in allowedEndpointHosts.",
    default: "address"
  })),
  headers: Schema.optionalKey(
    Schema.Array(Header).annotate({ description: "Headers for authentication and other metadata" })
  ),
  pollInterval: PollInterval,
  timeout: optionalString("Timeout for A2A agent execution (e.g., \"30s\", \"5m\", \"1h\")", { default: "5m" })
})
export type A2AServerSpec = typeof A2AServerSpec.Type

export const A2AServerStatus = Schema.Struct({
  conditions: conditions("Conditions represent the latest available observations of the A2A server's state"),
  lastResolvedAddress: optionalString("LastResolvedAddress contains the last resolved address value"),
  lastResolvedEndpoint: optionalString(
    "LastResolvedEndpoint is the URL Ark sends A2A requests to. It equals\n" +
      "LastResolvedAddress unless spec.endpointResolution selects the agent\n" +
      "card URL and that URL is accepted."
  ),
  rejectedEndpoint: optionalString(
    "RejectedEndpoint records an agent card URL that was not accepted, so the\n" +
      "requests continue to go to LastResolvedAddress."
  )
})
export type A2AServerStatus = typeof A2AServerStatus.Type

/** Upstream's ValidateA2AServer: the address, and headers with distinct names. */
export const A2AServerAdmission: Admission = {
  validate: (spec, { causes }) => {
    checkAddress(causes, "spec.address", spec["address"], addressSources)
    checkHeaders(causes, "spec.headers", spec["headers"], true)
  }
}
