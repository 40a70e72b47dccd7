/**
 * Azure OpenAI Models with a managed identity or a workload identity instead of a key, on the
 * engine embedded in ark serve: the token comes from a scripted Azure identity endpoint speaking
 * IMDS's and Entra ID's token wire formats (the one double besides the model), and reaches the
 * scripted Azure OpenAI deployment as a bearer token through the OpenAI SDK.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agent, arkClient, query, v1alpha1 } from "../support/arkClient.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ScriptedModel } from "../support/models.ts"
import { startScriptedModel } from "../support/models.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

interface IdentityCall {
  readonly method: string
  readonly url: URL
  readonly headers: IncomingHttpHeaders
  readonly form: URLSearchParams
}

/** IMDS (GET /metadata/identity/oauth2/token) and Entra ID (POST /<tenant>/oauth2/v2.0/token); an unknown client id is refused as IMDS refuses it. */
const startIdentityEndpoint = async () => {
  const calls: Array<IdentityCall> = []
  const server = createServer((req, res) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString()))
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const call = { method: req.method ?? "", url, headers: req.headers, form: new URLSearchParams(body) }
      calls.push(call)
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(JSON.stringify(value))
      }
      if (req.method === "GET" && url.pathname === "/metadata/identity/oauth2/token") {
        if (req.headers["metadata"] !== "true") return json(400, { error: "invalid_request", error_description: "Required metadata header not specified" })
        if (url.searchParams.get("client_id") === "unknown-client") return json(400, { error: "invalid_request", error_description: "Identity not found" })
        const expiresOn = Math.floor(Date.now() / 1000) + 3600
        return json(200, {
          access_token: `imds-token-for-${url.searchParams.get("client_id") ?? "system"}`,
          client_id: url.searchParams.get("client_id") ?? "system",
          expires_in: "3599",
          expires_on: String(expiresOn),
          ext_expires_in: "3599",
          not_before: String(expiresOn - 3600),
          resource: url.searchParams.get("resource"),
          token_type: "Bearer"
        })
      }
      if (req.method === "POST" && /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(url.pathname)) {
        return json(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: `entra-token-for-${call.form.get("client_id")}` })
      }
      json(404, { error: "not_found" })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

let server: RunningServer
let client: ReturnType<typeof arkClient>
let identity: Awaited<ReturnType<typeof startIdentityEndpoint>>
let model: ScriptedModel

beforeAll(async () => {
  identity = await startIdentityEndpoint()
  cleanups.push(() => identity.stop())
  model = await startScriptedModel("openai", (call) => ({ text: `authorized as ${String(call.headers.authorization)}` }))
  cleanups.push(() => model.stop())
  const dir = mkdtempSync(join(tmpdir(), "wt20-azure-identity-"))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const tokenFile = join(dir, "azure-identity-token")
  writeFileSync(tokenFile, "projected-service-account-token\n")
  server = await startServer({
    modules: "apiserver,query-workers",
    env: { ARK_ENGINE_MODEL_RETRIES: "0", AZURE_POD_IDENTITY_AUTHORITY_HOST: identity.url, AZURE_AUTHORITY_HOST: identity.url, AZURE_FEDERATED_TOKEN_FILE: tokenFile }
  })
  cleanups.push(() => server.stop())
  client = arkClient((await kubectlBinaries()).kubectl, server.kubeconfig)
})

const azureModel = (name: string, auth: Record<string, unknown>) => ({
  apiVersion: v1alpha1,
  kind: "Model",
  metadata: { name },
  spec: { provider: "azure", model: { value: "gpt-4o-deployment" }, config: { azure: { baseUrl: { value: model.url }, apiVersion: { value: "2024-10-21" }, auth } } }
})

const ask = async (namespace: string, modelName: string, name: string) => {
  await client.apply(namespace, [
    agent(`uses-${modelName}`, { prompt: "Answer.", modelRef: { name: modelName } }),
    query(name, { input: "Who am I?", target: { type: "agent", name: `uses-${modelName}` } })
  ])
  return client.finished(namespace, name)
}

describe("Azure OpenAI with an Entra ID identity", () => {
  it("managed identity: the token from IMDS (its client id from a ConfigMap) is the deployment's bearer token, and is reused while valid", async () => {
    const r = await client.k(["create", "configmap", "-n", "az1", "identity", "--from-literal=clientId=mi-client"])
    expect(r.code, r.stderr).toBe(0)
    await client.apply("az1", [azureModel("managed", { managedIdentity: { clientId: { valueFrom: { configMapKeyRef: { name: "identity", key: "clientId" } } } } })])
    for (const name of ["first", "second"]) {
      const q = await ask("az1", "managed", name)
      expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
      expect(q.status.response.content).toBe("authorized as Bearer imds-token-for-mi-client")
    }
    const imds = identity.calls.filter((c) => c.url.pathname === "/metadata/identity/oauth2/token")
    expect(imds).toHaveLength(1)
    expect(imds[0]!.headers["metadata"]).toBe("true")
    expect(Object.fromEntries(imds[0]!.url.searchParams)).toEqual({ "api-version": "2018-02-01", resource: "https://cognitiveservices.azure.com", client_id: "mi-client" })
    const call = model.calls.at(-1)!
    expect(call.path).toBe("/openai/deployments/gpt-4o-deployment/chat/completions")
    expect(call.headers["api-key"]).toBeUndefined()
  })

  it("workload identity: the pod's projected token is exchanged at Entra ID for the tenant and client", async () => {
    await client.apply("az2", [azureModel("workload", { workloadIdentity: { clientId: { value: "wi-client" }, tenantId: { value: "tenant-a" } } })])
    const q = await ask("az2", "workload", "first")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    expect(q.status.response.content).toBe("authorized as Bearer entra-token-for-wi-client")
    const exchange = identity.calls.find((c) => c.method === "POST")!
    expect(exchange.url.pathname).toBe("/tenant-a/oauth2/v2.0/token")
    expect(Object.fromEntries(exchange.form)).toEqual({
      client_id: "wi-client",
      scope: "https://cognitiveservices.azure.com/.default",
      grant_type: "client_credentials",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: "projected-service-account-token"
    })
  })

  it("an identity IMDS does not know ends the Query provider-error with IMDS's own text", async () => {
    const before = model.calls.length
    await client.apply("az3", [azureModel("unknown", { managedIdentity: { clientId: { value: "unknown-client" } } })])
    const q = await ask("az3", "unknown", "first")
    expect(q.status.phase).toBe("error")
    expect(q.status.error).toMatch(/^provider-error: model az3\/unknown \(azure\): .*Azure managed identity \(IMDS\) answered HTTP 400: .*Identity not found/)
    expect(model.calls.length).toBe(before)
  })
})
