/**
 * The completions engine's settings (ARK_ENGINE_*), shared by `ark serve`'s embedded engine and
 * `ark engine`, and `ark engine` itself: the engine as an A2A service reading the Kubernetes API.
 */
import { Config, Console, Duration, Effect, Layer } from "effect"
import * as CompletionsExecutor from "../layers/engine/CompletionsExecutor.ts"
import type { CompletionsEngine } from "../services/CompletionsEngine.ts"
import type { QueryExecutor } from "../services/QueryExecutor.ts"
import type { ResourceReader } from "../services/ResourceReader.ts"

/**
 * ARK_ENGINE_MAX_TURNS (20), ARK_ENGINE_MODEL_RETRIES (3), ARK_ENGINE_RETRY_BASE (1s), ARK_ENGINE_MODEL_TIMEOUT (2m),
 * ARK_ENGINE_MCP_LIST_TTL (60s), ARK_ENGINE_NAME (the ExecutionEngine this engine serves); for Azure identities, azidentity's own variables
 * (AZURE_POD_IDENTITY_AUTHORITY_HOST, AZURE_AUTHORITY_HOST, AZURE_FEDERATED_TOKEN_FILE).
 */
export const executorOptions = Effect.gen(function*() {
  const maxTurns = yield* Config.Int("ARK_ENGINE_MAX_TURNS").pipe(Config.withDefault(20))
  const retries = yield* Config.Int("ARK_ENGINE_MODEL_RETRIES").pipe(Config.withDefault(3))
  const base = yield* Config.Duration("ARK_ENGINE_RETRY_BASE").pipe(Config.withDefault(Duration.seconds(1)))
  const mcpListTtl = yield* Config.Duration("ARK_ENGINE_MCP_LIST_TTL").pipe(Config.withDefault(Duration.seconds(60)))
  const modelTimeout = yield* Config.Duration("ARK_ENGINE_MODEL_TIMEOUT").pipe(Config.withDefault(Duration.minutes(2)))
  const engineName = yield* Config.String("ARK_ENGINE_NAME").pipe(Config.withDefault(""))
  const imds = yield* Config.String("AZURE_POD_IDENTITY_AUTHORITY_HOST").pipe(Config.withDefault("http://169.254.169.254"))
  const authorityHost = yield* Config.String("AZURE_AUTHORITY_HOST").pipe(Config.withDefault("https://login.microsoftonline.com"))
  const federatedTokenFile = yield* Config.String("AZURE_FEDERATED_TOKEN_FILE").pipe(Config.withDefault(""))
  return {
    maxTurns,
    retry: { retries, base },
    modelTimeout,
    mcpListTtl,
    ...(engineName !== "" ? { engineName } : {}),
    azureIdentity: { imds, authorityHost, ...(federatedTokenFile !== "" ? { federatedTokenFile } : {}) }
  } satisfies CompletionsExecutor.ExecutorOptions
})

/** The executor with the ARK_ENGINE_* settings. */
export const executorLayer: Layer.Layer<QueryExecutor, Config.ConfigError, ResourceReader | CompletionsEngine> = Layer.unwrap(
  Effect.map(executorOptions, CompletionsExecutor.layer)
)

export interface EngineOptions {
  readonly host: string
  readonly port: number
  readonly kubeconfig: string
}

/** The A2A server, client and client-node are loaded when the engine starts, not by every `ark` command. */
export const engine = (o: EngineOptions) =>
  Layer.launch(Layer.unwrap(Effect.promise(async () => {
    const [A2AEngine, EngineServer, KubeResourceReader] = await Promise.all([
      import("../layers/A2AEngine.ts"),
      import("../layers/engine/EngineServer.ts"),
      import("../layers/engine/KubeResourceReader.ts")
    ])
    return Layer.effectDiscard(Effect.gen(function*() {
      const { url } = yield* EngineServer.serve({ host: o.host, port: o.port })
      yield* Console.log(`ark: completions engine serving ${url}`)
    })).pipe(Layer.provide(executorLayer), Layer.provide([KubeResourceReader.layer(o.kubeconfig), A2AEngine.layer]))
  })))
