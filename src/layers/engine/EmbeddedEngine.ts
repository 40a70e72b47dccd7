/**
 * The completions engine inside `ark serve`: the query workers' CompletionsEngine, answering
 * calls addressed to EMBEDDED_ENGINE_URL in process (QueryExecutor: no engine process, no A2A
 * hop) and every other address over A2A. With a demo fallback, Queries the engine cannot answer
 * as configured (no Model, or no Secret for its key, for the target or a team member) are answered by the demo engine
 * instead, so a first run works offline until a model is configured.
 */
import { Effect, Layer } from "effect"
import { approvalRequiredPhase } from "../../domain/kinds/query.ts"
import type { CompletionRequest, CompletionResult } from "../../services/CompletionsEngine.ts"
import { CompletionsEngine, EngineFailed, EngineUnavailable } from "../../services/CompletionsEngine.ts"
import { QueryExecutor } from "../../services/QueryExecutor.ts"
import * as A2AEngine from "../A2AEngine.ts"

/** The default engine address that means "this process". */
export const EMBEDDED_ENGINE_URL = "ark:completions-engine"

export interface EmbeddedOptions {
  /** The demo engine's URL, for targets without a usable model; none: they end in error. */
  readonly demoFallbackUrl?: string
}

export const layer = (options: EmbeddedOptions): Layer.Layer<CompletionsEngine, never, QueryExecutor> =>
  Layer.effect(
    CompletionsEngine,
    Effect.gen(function*() {
      const remote = yield* CompletionsEngine
      const executor = yield* QueryExecutor
      const embedded = (request: CompletionRequest): Effect.Effect<CompletionResult, EngineFailed | EngineUnavailable> =>
        executor.execute({ name: request.query.name, namespace: request.query.namespace }, request.onPiece !== undefined ? { onPiece: request.onPiece } : {}).pipe(
          Effect.map((e): CompletionResult => ({
            state: e.approval !== undefined ? approvalRequiredPhase : "completed",
            ...(e.approval !== undefined ? { approvalRef: e.approval.name } : {}),
            ...(e.conversationId !== undefined ? { conversationId: e.conversationId } : {}),
            content: e.content,
            raw: JSON.stringify(e.messages),
            tokenUsage: e.tokenUsage,
            ...(request.contextId !== undefined ? { contextId: request.contextId } : {})
          })),
          Effect.catchTag("ExecutionFailed", (e) =>
            e.unconfigured === true && options.demoFallbackUrl !== undefined
              ? remote.complete({ ...request, url: options.demoFallbackUrl })
              // The Kubernetes API being unreachable may pass: the workers retry those.
              : Effect.fail(e.code === "read-failed" ? new EngineUnavailable({ message: `${e.code}: ${e.message}` }) : new EngineFailed({ message: `${e.code}: ${e.message}` })))
        )
      return CompletionsEngine.of({
        complete: (request) => request.url === EMBEDDED_ENGINE_URL ? embedded(request) : remote.complete(request)
      })
    })
  ).pipe(Layer.provide(A2AEngine.layer))
