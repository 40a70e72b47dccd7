/**
 * Reading what a Query runs, as upstream's engine resolves it: values from literals, Secrets,
 * ConfigMaps, Services and Query parameters; a Model with its credentials; template parameters.
 * Whatever cannot be resolved ends the Query with `invalid-config` naming what is missing.
 */
import { Effect } from "effect"
import type { ModelSpec } from "../../domain/kinds/model.ts"
import type { KubeObject } from "../../domain/object.ts"
import { findKind } from "../../domain/registry.ts"
import type { ResourceType } from "../../services/ResourceReader.ts"
import { ResourceReader } from "../../services/ResourceReader.ts"
import { ExecutionFailed } from "../../services/QueryExecutor.ts"
import type { Provider, ResolvedModel } from "./model.ts"
import type { AzureIdentity } from "./providers/azureIdentity.ts"

const arkType = (kind: string): ResourceType => {
  const info = findKind(kind)!
  return { group: info.group, version: info.version, plural: info.plural, singular: info.singular }
}

export const types = {
  query: arkType("Query"),
  agent: arkType("Agent"),
  model: arkType("Model"),
  tool: arkType("Tool"),
  team: arkType("Team"),
  mcpServer: arkType("MCPServer"),
  approval: arkType("ToolApprovalRequest"),
  memory: arkType("Memory"),
  executionEngine: arkType("ExecutionEngine"),
  secret: { group: "", version: "v1", plural: "secrets", singular: "secret" },
  configMap: { group: "", version: "v1", plural: "configmaps", singular: "configmap" }
} as const

interface KeyRef {
  readonly name?: string
  readonly key: string
  readonly optional?: boolean
}

/** A v1alpha1 ValueSource: `value`, or `valueFrom` one of the references. */
export interface ValueSource {
  readonly value?: string
  readonly valueFrom?: {
    readonly secretKeyRef?: KeyRef
    readonly configMapKeyRef?: KeyRef
    readonly queryParameterRef?: { readonly name: string }
    readonly serviceRef?: { readonly name: string; readonly namespace?: string; readonly port?: string; readonly path?: string }
  }
}

export interface Scope {
  readonly namespace: string
  /** The Query's parameters, for `queryParameterRef`. */
  readonly queryParameters: ReadonlyMap<string, string>
  /** The Query being run, for team members on other engines (they are sent its QueryRef) and for what is recorded on it. */
  readonly query?: {
    readonly name: string
    readonly uid: string
    /** `spec.sessionId`, else the uid. */
    readonly sessionId: string
    readonly target?: { readonly type: string; readonly name: string }
    readonly conversationId?: string
  }
}

const invalid = (message: string, unconfigured = false) =>
  new ExecutionFailed({ code: "invalid-config", message, ...(unconfigured ? { unconfigured } : {}) })

export const readFailed = (e: { readonly message: string }) => new ExecutionFailed({ code: "read-failed", message: e.message })

/** An object, or `not-found` naming it (and what referred to it). */
export const getObject = (type: ResourceType, namespace: string, name: string, code: "not-found" | "invalid-config" = "not-found", referrer = "") =>
  ResourceReader.use((reader) => reader.get(type, namespace, name)).pipe(
    Effect.catchTags({
      ResourceNotFound: (e) => Effect.fail(new ExecutionFailed({ code, message: `${e.message}${referrer === "" ? "" : ` (${referrer})`}` })),
      ResourceReadFailed: (e) => Effect.fail(readFailed(e))
    })
  )

/** A key of a Secret (base64 `data`) or ConfigMap (`data`); undefined for a missing optional one. */
const keyOf = (kind: "secret" | "configmap", ref: KeyRef, scope: Scope, field: string, unconfigured: boolean) =>
  Effect.gen(function*() {
    const name = ref.name ?? ""
    const object = yield* ResourceReader.use((reader) => reader.get(kind === "secret" ? types.secret : types.configMap, scope.namespace, name)).pipe(
      Effect.map((o) => o as KubeObject & { data?: Record<string, string> }),
      Effect.catchTags({
        ResourceNotFound: (e) => ref.optional === true ? Effect.succeed(undefined) : Effect.fail(invalid(`${e.message}: ${field} reads key ${ref.key} of it`, unconfigured)),
        ResourceReadFailed: (e) => Effect.fail(readFailed(e))
      })
    )
    if (object === undefined) return undefined
    const raw = object.data?.[ref.key]
    if (raw === undefined) {
      return ref.optional === true ? undefined : yield* invalid(`${kind} ${scope.namespace}/${name} has no key ${ref.key} (read by ${field})`, unconfigured)
    }
    return kind === "secret" ? Buffer.from(raw, "base64").toString("utf8") : raw
  })

/**
 * The value of a ValueSource. `unconfigured` marks a missing Secret or ConfigMap as "no usable
 * model configured" (a Model's credentials) rather than a plain configuration error.
 */
export const valueOf = (source: ValueSource | undefined, scope: Scope, field: string, unconfigured = false) =>
  Effect.gen(function*() {
    if (source === undefined) return undefined
    if (source.value !== undefined && source.value !== "") return source.value
    const from = source.valueFrom
    if (from?.secretKeyRef !== undefined) return yield* keyOf("secret", from.secretKeyRef, scope, field, unconfigured)
    if (from?.configMapKeyRef !== undefined) return yield* keyOf("configmap", from.configMapKeyRef, scope, field, unconfigured)
    if (from?.queryParameterRef !== undefined) {
      const value = scope.queryParameters.get(from.queryParameterRef.name)
      if (value === undefined) return yield* invalid(`${field} names query parameter ${from.queryParameterRef.name}, which the query does not set`)
      return value
    }
    if (from?.serviceRef !== undefined) {
      const s = from.serviceRef
      const port = s.port !== undefined && s.port !== "" ? `:${s.port}` : ""
      const path = s.path !== undefined && s.path !== "" ? `/${s.path.replace(/^\/+/, "")}` : ""
      return `http://${s.name}.${s.namespace ?? scope.namespace}.svc.cluster.local${port}${path}`
    }
    return source.value
  })

/** A template parameter as the kinds declare it (its `valueFrom` as stored, checked here). */
export interface Parameter {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: unknown
}

/**
 * Template parameters (a Query's, an Agent's, an HTTP tool body's, a partial tool's) with their
 * values resolved; `owner` names whose they are in messages ("query team-a/ask").
 */
export const parameterValues = (parameters: ReadonlyArray<Parameter> | undefined, scope: Scope, owner: string) =>
  Effect.gen(function*() {
    const values = new Map<string, string>()
    for (const p of parameters ?? []) {
      if ((p.value === undefined || p.value === "") && p.valueFrom === undefined) {
        return yield* invalid(`parameter ${p.name} of ${owner} must specify either value or valueFrom`)
      }
      values.set(p.name, (yield* valueOf(p as ValueSource, scope, `parameter ${p.name} of ${owner}`)) ?? "")
    }
    return values
  })

const providers: ReadonlyArray<Provider> = ["openai", "azure", "anthropic", "bedrock"]

/** A Model with its credentials read; a missing Model is `invalid-config` (and no usable model). */
export const resolveModel = (name: string, scope: Scope, referrer: string) =>
  Effect.gen(function*() {
    const object = yield* ResourceReader.use((reader) => reader.get(types.model, scope.namespace, name)).pipe(
      Effect.catchTags({
        ResourceNotFound: (e) => Effect.fail(invalid(`${e.message} (${referrer})`, true)),
        ResourceReadFailed: (e) => Effect.fail(readFailed(e))
      })
    )
    const id = `${scope.namespace}/${name}`
    const spec = (object.spec ?? {}) as Partial<ModelSpec>
    const provider = spec.provider as Provider | undefined
    if (provider === undefined || !providers.includes(provider)) {
      return yield* new ExecutionFailed({ code: "unsupported-model", message: `model ${id}: provider ${String(spec.provider)} is not supported (openai, azure, anthropic, bedrock)` })
    }
    const config = (spec.config ?? {}) as Record<string, Record<string, unknown> | undefined>
    const section = config[provider] ?? {}
    const field = (f: string) => `spec.config.${provider}.${f} of model ${id}`
    const value = (f: string) => valueOf(section[f] as ValueSource | undefined, scope, field(f), true)
    const model = yield* valueOf(spec.model as ValueSource | undefined, scope, `spec.model of model ${id}`, true)
    if (model === undefined || model === "") return yield* invalid(`model ${id} names no model (spec.model)`)
    const headers: Record<string, string> = {}
    for (const h of (section["headers"] ?? []) as ReadonlyArray<{ name: string; value: ValueSource }>) {
      headers[h.name] = (yield* valueOf(h.value, scope, `header ${h.name} of model ${id}`)) ?? ""
    }
    const properties: Record<string, string> = {}
    for (const [k, v] of Object.entries((section["properties"] ?? {}) as Record<string, ValueSource>)) {
      properties[k] = (yield* valueOf(v, scope, field(`properties.${k}`))) ?? ""
    }
    const auth = section["auth"] as {
      apiKey?: ValueSource
      managedIdentity?: { clientId?: ValueSource }
      workloadIdentity?: { clientId?: ValueSource; tenantId?: ValueSource }
    } | undefined
    let azureIdentity: AzureIdentity | undefined
    if (provider === "azure" && auth?.apiKey === undefined && auth?.managedIdentity !== undefined) {
      const clientId = yield* valueOf(auth.managedIdentity.clientId, scope, field("auth.managedIdentity.clientId"), true)
      azureIdentity = { kind: "managed", ...(clientId !== undefined && clientId !== "" ? { clientId } : {}) }
    } else if (provider === "azure" && auth?.apiKey === undefined && auth?.workloadIdentity !== undefined) {
      const clientId = yield* valueOf(auth.workloadIdentity.clientId, scope, field("auth.workloadIdentity.clientId"), true)
      const tenantId = yield* valueOf(auth.workloadIdentity.tenantId, scope, field("auth.workloadIdentity.tenantId"), true)
      if (clientId === undefined || clientId === "" || tenantId === undefined || tenantId === "") {
        return yield* invalid(`model ${id}: ${field("auth.workloadIdentity")} needs clientId and tenantId`)
      }
      azureIdentity = { kind: "workload", clientId, tenantId }
    }
    const apiKey = provider === "azure" && auth?.apiKey !== undefined
      ? yield* valueOf(auth.apiKey, scope, field("auth.apiKey"), true)
      : yield* value("apiKey")
    const baseUrl = yield* value("baseUrl")
    if (provider !== "bedrock" && (baseUrl === undefined || baseUrl === "")) return yield* invalid(`model ${id} has no ${field("baseUrl")}`)
    if ((provider === "openai" || provider === "anthropic") && apiKey === undefined) return yield* invalid(`model ${id} has no ${field("apiKey")}`)
    const apiVersion = yield* value(provider === "azure" ? "apiVersion" : "version")
    const resolved: ResolvedModel = {
      id,
      provider,
      model,
      headers,
      properties,
      ...(baseUrl !== undefined && baseUrl !== "" ? { baseUrl: baseUrl.replace(/\/+$/, "") } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(apiVersion !== undefined ? { apiVersion } : {}),
      ...(azureIdentity !== undefined ? { azureIdentity } : {})
    }
    if (provider !== "bedrock") return resolved
    const str = (f: string) => value(f)
    const region = yield* str("region")
    const accessKeyId = yield* str("accessKeyId")
    const secretAccessKey = yield* str("secretAccessKey")
    const sessionToken = yield* str("sessionToken")
    const modelArn = yield* str("modelArn")
    const temperature = section["temperature"] as string | undefined
    const maxTokens = section["maxTokens"] as number | undefined
    return {
      ...resolved,
      bedrock: {
        ...(region !== undefined ? { region } : {}),
        ...(accessKeyId !== undefined ? { accessKeyId } : {}),
        ...(secretAccessKey !== undefined ? { secretAccessKey } : {}),
        ...(sessionToken !== undefined ? { sessionToken } : {}),
        ...(modelArn !== undefined ? { modelArn } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
        ...(maxTokens !== undefined ? { maxTokens } : {})
      }
    } satisfies ResolvedModel
  })
