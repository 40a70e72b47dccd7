/** MCPServer: a Model Context Protocol server whose tools are discovered into Tool objects; the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { conditions, Header, optionalString, PollInterval, ValueSource } from "./common.ts"
import type { Admission } from "./admissionRules.ts"
import { checkAddress, checkHeaders, sourceKeys } from "./admissionRules.ts"

/** A key inside the OAuth token Secret, with upstream's default key name. */
const secretKey = (name: string) => optionalString(undefined, { default: name })

/**
 * Machine-to-machine OAuth: the controller mints the token itself with client_credentials,
 * authenticating with a private-key JWT (RFC 7523) signed by a key from a Secret.
 */
const ClientCredentials = Schema.Struct({
  clientAuthentication: Schema.Struct({
    privateKeyJWT: Schema.optionalKey(Schema.Struct({
      algorithm: Schema.optionalKey(
        Schema.Literals(["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]).annotate({
          description: "JWS algorithm of the client assertion; must be one the authorization server supports",
          default: "ES256"
        })
      ),
      keyID: optionalString("The `kid` header, when the authorization server holds several keys for this client"),
      secretKeyRef: Schema.Struct({
        key: optionalString("Key of the PEM private key in the Secret", { default: "private.pem" }),
        name: Schema.String.annotate({ description: "Secret in the MCPServer's namespace" })
      }).annotate({ description: "The private signing key" })
    }))
  }).annotate({ description: "How the client authenticates to the token endpoint" }),
  clientID: Schema.String.annotate({ description: "The client registered for Ark at the authorization server" }),
  resource: optionalString("Override of the resource discovered through RFC 9728"),
  scopes: Schema.optionalKey(Schema.Array(Schema.String)),
  tokenEndpoint: optionalString("Override of the token endpoint discovered through RFC 8414")
}).annotate({ description: "How the token is obtained without a user: OAuth client credentials" })

export const MCPServerSpec = Schema.Struct({
  address: ValueSource,
  authorization: Schema.optionalKey(
    Schema.Struct({
      clientCredentials: Schema.optionalKey(ClientCredentials),
      tokenSecretRef: Schema.Struct({
        accessTokenKey: secretKey("access_token"),
        clientIDKey: secretKey("client_id"),
        clientSecretKey: secretKey("client_secret"),
        expiresAtKey: secretKey("expires_at"),
        name: Schema.String,
        refreshTokenKey: secretKey("refresh_token")
      }).annotate({
        description: "TokenSecretRef references the Kubernetes Secret holding OAuth\n" +
          "tokens and client credentials. The Secret MUST exist in the same\n" +
          "namespace as the MCPServer."
      })
    }).annotate({
      description: "Authorization configures how the controller obtains and injects\n" +
        "credentials for OAuth-protected MCP servers. When unset, the\n" +
        "controller does not attempt to inject Authorization headers."
    })
  ),
  description: Schema.optionalKey(Schema.String),
  headers: Schema.optionalKey(Schema.Array(Header)),
  pollInterval: PollInterval,
  timeout: optionalString(
    "Timeout bounds establishing the connection to this server, including the\n" +
      "connection retry window. It does not bound individual tool calls once the\n" +
      "connection is established - use toolCallTimeout for that.\n" +
      "Defaults to \"30s\" if not specified.",
    { default: "30s" }
  ),
  toolCallTimeout: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/)).annotate({
    description: "ToolCallTimeout bounds each individual tool call to this server\n" +
      "(e.g., \"30s\", \"5m\", \"10m\"). Use this to support long-running operations.\n" +
      "When unset, a tool call is bounded only by the execution budget of the\n" +
      "query that triggered it."
  })),
  // Required upstream but defaulted first, so omitting it is fine.
  transport: Schema.Literals(["http", "sse"]).annotate({ default: "http" })
})
export type MCPServerSpec = typeof MCPServerSpec.Type

const stringList = (description: string) =>
  Schema.optionalKey(Schema.Array(Schema.String).annotate({ description }))

export const MCPServerStatus = Schema.Struct({
  authorization: Schema.optionalKey(
    Schema.Struct({
      authorizationEndpoint: optionalString(
        "AuthorizationEndpoint is the OAuth 2.1 authorization endpoint\n(RFC 8414 `authorization_endpoint`)."
      ),
      authorizationServers: stringList(
        "AuthorizationServers is the list of authorization server issuers\n" +
          "the MCP resource trusts (RFC 9728 `authorization_servers`)."
      ),
      expiresAt: optionalString(
        "ExpiresAt is the absolute time at which the current access_token\n" +
          "expires, published for dashboard / observability consumers that\n" +
          "may have `get` on mcpservers but not on secrets.",
        { format: "date-time" }
      ),
      grantTypesSupported: stringList(
        "GrantTypesSupported is the set of OAuth grant types the\n" +
          "authorization server supports (RFC 8414 `grant_types_supported`)."
      ),
      lastDiscovered: optionalString(
        "LastDiscovered is the timestamp of the most recent successful\ndiscovery probe against the server.",
        { format: "date-time" }
      ),
      registrationEndpoint: optionalString(
        "RegistrationEndpoint is the RFC 7591 dynamic client registration\n" +
          "endpoint, when the authorization server supports it."
      ),
      resource: optionalString(
        "Resource is the canonical URI of the protected MCP resource, taken\n" +
          "from the `resource` field of the RFC 9728 Protected Resource\nMetadata document."
      ),
      resourceMetadataURL: optionalString(
        "ResourceMetadataURL is the `resource_metadata` URL parsed from the\n" +
          "server's WWW-Authenticate header (RFC 9728 §5.1)."
      ),
      resourceName: optionalString(
        "ResourceName is the human-readable name of the protected resource\n" +
          "(RFC 9728 `resource_name`), e.g. \"Notion MCP (Beta)\"."
      ),
      scopesSupported: stringList(
        "ScopesSupported is the list of OAuth scopes advertised by the\n" +
          "authorization server (RFC 8414 `scopes_supported`)."
      ),
      state: Schema.optionalKey(Schema.Literals(["Required", "DiscoveryFailed", "Authorized"]).annotate({
        description: "State names the current authorization state. Exposed on the\n" +
          "MCPServer printcolumn as AUTH. Empty (absent) means the server\n" +
          "does not require authorization."
      })),
      tokenEndpoint: optionalString("TokenEndpoint is the OAuth 2.1 token endpoint\n(RFC 8414 `token_endpoint`)."),
      tokenEndpointAuthMethodsSupported: stringList(
        "TokenEndpointAuthMethodsSupported is the set of client authentication methods the token endpoint\n" +
          "accepts (RFC 8414 `token_endpoint_auth_methods_supported`). The client-credentials path requires\n" +
          "`private_key_jwt` to appear here."
      ),
      tokenEndpointAuthSigningAlgValuesSupported: stringList(
        "TokenEndpointAuthSigningAlgValuesSupported is the set of JWS algorithms the token endpoint accepts\n" +
          "for signed client assertions (RFC 8414 `token_endpoint_auth_signing_alg_values_supported`)."
      )
    }).annotate({
      description: "Authorization holds OAuth 2.1 / RFC 9728 discovery metadata when the\n" +
        "MCP server requires authorization. Populated by the controller when\n" +
        "a 401 response is received; not set otherwise."
    })
  ),
  conditions: conditions("Conditions represent the latest available observations of the MCP server's state"),
  resolvedAddress: optionalString("ResolvedAddress contains the actual resolved address value"),
  toolCount: Schema.optionalKey(Schema.Int.annotate({
    description: "ToolCount represents the number of tools discovered from this MCP server"
  }))
}).annotate({ description: "MCPServerStatus defines the observed state of MCPServer" })
export type MCPServerStatus = typeof MCPServerStatus.Type

/** Upstream's ValidateMCPServer, without resolving the address (a status condition here). */
export const MCPServerAdmission: Admission = {
  validate: (spec, { causes }) => {
    checkAddress(causes, "spec.address", spec["address"], sourceKeys)
    checkHeaders(causes, "spec.headers", spec["headers"])
  }
}
