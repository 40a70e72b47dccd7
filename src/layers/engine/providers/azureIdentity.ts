/**
 * Azure OpenAI's Entra ID tokens for a Model's `auth.managedIdentity` or `auth.workloadIdentity`,
 * as upstream gets them through azidentity, over the same wire protocols: managed identity asks
 * the instance metadata service (IMDS: GET /metadata/identity/oauth2/token, `Metadata: true`);
 * workload identity exchanges the pod's projected service-account token (AZURE_FEDERATED_TOKEN_FILE)
 * at the Entra token endpoint as a client assertion. The scope is Cognitive Services'. Tokens
 * are kept until five minutes before they expire; a failure to get one is the model call's.
 */
import { readFile } from "node:fs/promises"

export type AzureIdentity =
  | { readonly kind: "managed"; readonly clientId?: string }
  | { readonly kind: "workload"; readonly clientId: string; readonly tenantId: string }

/** Where tokens come from; the defaults are Azure's, the variables azidentity's own. */
export interface AzureIdentityEndpoints {
  /** IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST; http://169.254.169.254). */
  readonly imds: string
  /** Entra ID (AZURE_AUTHORITY_HOST; https://login.microsoftonline.com). */
  readonly authorityHost: string
  /** The projected service-account token (AZURE_FEDERATED_TOKEN_FILE), for workload identity. */
  readonly federatedTokenFile?: string
}

const resource = "https://cognitiveservices.azure.com"
const refreshBeforeMs = 5 * 60_000

interface Token {
  readonly value: string
  readonly expiresAt: number
}

const expect200 = async (what: string, response: Response) => {
  const text = await response.text()
  if (!response.ok) throw new Error(`${what} answered HTTP ${response.status}: ${text.slice(0, 300)}`)
  const body = JSON.parse(text) as { access_token?: string; expires_in?: string | number; expires_on?: string | number }
  if (typeof body.access_token !== "string") throw new Error(`${what} answered without an access_token`)
  // IMDS gives expires_on (epoch seconds) and expires_in, both as strings; Entra, expires_in (seconds).
  const expiresAt = body.expires_on !== undefined ? Number(body.expires_on) * 1000 : Date.now() + Number(body.expires_in ?? 0) * 1000
  return { value: body.access_token, expiresAt } satisfies Token
}

const fetchToken = async (identity: AzureIdentity, endpoints: AzureIdentityEndpoints): Promise<Token> => {
  if (identity.kind === "managed") {
    const url = new URL("/metadata/identity/oauth2/token", endpoints.imds)
    url.searchParams.set("api-version", "2018-02-01")
    url.searchParams.set("resource", resource)
    if (identity.clientId !== undefined && identity.clientId !== "") url.searchParams.set("client_id", identity.clientId)
    return expect200("Azure managed identity (IMDS)", await fetch(url, { headers: { Metadata: "true" }, signal: AbortSignal.timeout(30_000) }))
  }
  if (endpoints.federatedTokenFile === undefined || endpoints.federatedTokenFile === "") {
    throw new Error("Azure workload identity needs the pod's federated token (AZURE_FEDERATED_TOKEN_FILE is not set)")
  }
  const assertion = (await readFile(endpoints.federatedTokenFile, "utf8")).trim()
  const url = new URL(`/${encodeURIComponent(identity.tenantId)}/oauth2/v2.0/token`, endpoints.authorityHost)
  const body = new URLSearchParams({
    client_id: identity.clientId,
    scope: `${resource}/.default`,
    grant_type: "client_credentials",
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: assertion
  })
  return expect200("Azure workload identity (Entra ID)", await fetch(url, { method: "POST", body, signal: AbortSignal.timeout(30_000) }))
}

/** A token provider for the OpenAI SDK's AzureOpenAI (`azureADTokenProvider`). */
export const tokenProvider = (identity: AzureIdentity, endpoints: AzureIdentityEndpoints): (() => Promise<string>) => {
  let current: Promise<Token> | undefined
  return async () => {
    const held = current === undefined ? undefined : await current.catch(() => undefined)
    if (held !== undefined && held.expiresAt - refreshBeforeMs > Date.now()) return held.value
    current = fetchToken(identity, endpoints)
    return (await current).value
  }
}
