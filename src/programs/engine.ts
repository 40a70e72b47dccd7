/**
 * The completions engine's settings (ARK_ENGINE_*), shared by `ark serve`'s embedded engine and
 * `ark engine`, and `ark engine` itself: the engine as an A2A service reading the Kubernetes API.
 */
import { Config, Console, Duration, Effect, Layer } from "effect"
import * as CompletionsExecutor from "../layers/engine/CompletionsExecutor.ts"
import * as EngineServer from "../layers/engine/EngineServer.ts"
import * as KubeResourceReader from "../layers/engine/KubeResourceReader.ts"
import type { QueryExecutor } from "../services/QueryExecutor.ts"
import type { ResourceReader } from "../services/ResourceReader.ts"
import type { ResourceWriter } from "../services/ResourceWriter.ts"

/** ARK_ENGINE_MAX_TURNS (20), ARK_ENGINE_MODEL_RETRIES (3), ARK_ENGINE_RETRY_BASE (1s), ARK_ENGINE_MCP_LIST_TTL (60s). */
export const executorOptions = Effect.gen(function*() {
  const maxTurns = yield* Config.Int("ARK_ENGINE_MAX_TURNS").pipe(Config.withDefault(20))
  const retries = yield* Config.Int("ARK_ENGINE_MODEL_RETRIES").pipe(Config.withDefault(3))
  const base = yield* Config.Duration("ARK_ENGINE_RETRY_BASE").pipe(Config.withDefault(Duration.seconds(1)))
  const mcpListTtl = yield* Config.Duration("ARK_ENGINE_MCP_LIST_TTL").pipe(Config.withDefault(Duration.seconds(60)))
  return { maxTurns, retry: { retries, base }, mcpListTtl } satisfies CompletionsExecutor.ExecutorOptions
})

/** The executor with the ARK_ENGINE_* settings. */
export const executorLayer: Layer.Layer<QueryExecutor, Config.ConfigError, ResourceReader | ResourceWriter> = Layer.unwrap(Effect.map(executorOptions, CompletionsExecutor.layer))

export interface EngineOptions {
  readonly host: string
  readonly port: number
  readonly kubeconfig: string
}

export const engine = (o: EngineOptions) =>
  Layer.launch(Layer.effectDiscard(Effect.gen(function*() {
    const { url } = yield* EngineServer.serve({ host: o.host, port: o.port })
    yield* Console.log(`ark: completions engine serving ${url}`)
  })).pipe(Layer.provide(executorLayer), Layer.provide(KubeResourceReader.layer(o.kubeconfig))))
