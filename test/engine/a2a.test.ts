/** The A2A completions engine against real A2A servers: the scripted test engine and the demo engine. */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { createServer as createHttpServer } from "node:http"
import type { ServerResponse } from "node:http"
import { createServer } from "node:net"
import * as A2AEngine from "../../src/layers/A2AEngine.ts"
import * as DemoEngine from "../../src/layers/DemoEngine.ts"
import type { CompletionRequest } from "../../src/services/CompletionsEngine.ts"
import { CompletionsEngine } from "../../src/services/CompletionsEngine.ts"
import type { Script } from "../support/engine.ts"
import { startScriptedEngine } from "../support/engine.ts"

const engine = (script: Script, options?: { readonly protocol?: "1.0" | "0.3" }) =>
  Effect.acquireRelease(
    Effect.promise(() => startScriptedEngine(script, options)),
    (e) => Effect.promise(() => e.stop())
  )

const request = (url: string, input: string, extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
  url,
  input,
  target: { type: "agent", name: "weather", namespace: "team-a" },
  query: { name: "forecast", namespace: "team-a" },
  ...extra
})

const complete = (r: CompletionRequest) => CompletionsEngine.use((e) => e.complete(r))

/** A port nothing listens on: bound once, then released. */
const closedPort = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }

layer(A2AEngine.layer, { excludeTestServices: true })("A2AEngine", (it) => {
  for (const protocol of ["1.0", "0.3"] as const) {
    it.effect(`answers with the engine's message over A2A ${protocol}, carrying the query extension and context`, () =>
      Effect.gen(function*() {
        const e = yield* engine((input) => ({
          answer: `sunny, you asked: ${input}`,
          metadata: { [A2AEngine.QUERY_REF_METADATA_KEY]: { tokenUsage: usage } }
        }), { protocol })
        const result = yield* complete(request(e.url, "weather in Paris?", { contextId: "conv-1" }))

        assert.strictEqual(result.state, "completed")
        assert.strictEqual(result.content, "sunny, you asked: weather in Paris?")
        assert.strictEqual(result.contextId, "conv-1")
        assert.deepStrictEqual(result.tokenUsage, { promptTokens: 12, completionTokens: 3, totalTokens: 15 })
        const raw = JSON.parse(result.raw)
        assert.strictEqual(raw.role, "ROLE_AGENT")
        assert.deepStrictEqual(raw.parts.map((p: { text: string }) => p.text), ["sunny, you asked: weather in Paris?"])

        assert.strictEqual(e.calls.length, 1)
        const call = e.calls[0]!
        assert.strictEqual(call.method, protocol === "1.0" ? "SendMessage" : "message/send")
        assert.strictEqual(call.input, "weather in Paris?")
        assert.strictEqual(call.contextId, "conv-1")
        assert.deepStrictEqual(call.extensions, [A2AEngine.QUERY_EXTENSION_URI])
        // A target the Query does not name itself (a selector's pick) goes in the QueryRef as an override;
        // the resolved target always travels in ark-effect's own key too.
        assert.deepStrictEqual(call.metadata, {
          [A2AEngine.QUERY_REF_METADATA_KEY]: { name: "forecast", namespace: "team-a", target: { type: "agent", name: "weather" } },
          [A2AEngine.TARGET_METADATA_KEY]: { type: "agent", name: "weather" }
        })
        // The Query's own target is not sent as an override (ark-sdk engines refuse that for agents).
        yield* complete(request(e.url, "again", { queryTarget: { type: "agent", name: "weather" } }))
        assert.deepStrictEqual(e.calls[1]!.metadata, {
          [A2AEngine.QUERY_REF_METADATA_KEY]: { name: "forecast", namespace: "team-a" },
          [A2AEngine.TARGET_METADATA_KEY]: { type: "agent", name: "weather" }
        })
      }))
  }

  it.effect("sends no contextId when the query has none, and reports the one the engine chose", () =>
    Effect.gen(function*() {
      const e = yield* engine(() => "hello")
      const result = yield* complete(request(e.url, "hi"))
      assert.strictEqual(e.calls[0]!.contextId, undefined)
      assert.isString(result.contextId)
      assert.notStrictEqual(result.contextId, "")
      assert.strictEqual(result.tokenUsage, undefined)
    }))

  it.effect("keeps the chat messages an engine reports under the extension as status.response.raw, as upstream's engine reports them", () =>
    Effect.gen(function*() {
      const messages = [
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "noop", arguments: "{}" } }] },
        { role: "tool", content: "{}", tool_call_id: "c1" },
        { role: "assistant", content: "done", name: "helper" }
      ]
      const e = yield* engine(() => ({ answer: "done", metadata: { [A2AEngine.QUERY_REF_METADATA_KEY]: { tokenUsage: usage, messages } } }))
      const result = yield* complete(request(e.url, "go"))
      assert.deepStrictEqual(JSON.parse(result.raw), messages)
    }))

  for (const protocol of ["1.0", "0.3"] as const) {
    it.effect(`takes a completed task's answer from its artifact (A2A ${protocol})`, () =>
      Effect.gen(function*() {
        const e = yield* engine(() => ({ answer: "42", as: "task" }), { protocol })
        const result = yield* complete(request(e.url, "the answer?"))
        assert.strictEqual(result.state, "completed")
        assert.strictEqual(result.content, "42")
        assert.isString(result.taskId)
        assert.strictEqual(JSON.parse(result.raw).status.state, "TASK_STATE_COMPLETED")
      }))

    it.effect(`reports a task waiting for input (A2A input-required) as approval-required, with the engine's question (A2A ${protocol})`, () =>
      Effect.gen(function*() {
        const e = yield* engine(() => ({ inputRequired: "Which city?" }), { protocol })
        const result = yield* complete(request(e.url, "weather?", { contextId: "conv-2" }))
        assert.strictEqual(result.state, "approval-required")
        assert.strictEqual(result.content, "Which city?")
        assert.strictEqual(result.contextId, "conv-2")
        assert.isString(result.taskId)
      }))

    it.effect(`fails with EngineFailed when the task failed (A2A ${protocol})`, () =>
      Effect.gen(function*() {
        const e = yield* engine(() => ({ failed: "model quota exhausted" }), { protocol })
        const error = yield* Effect.flip(complete(request(e.url, "weather?")))
        assert.strictEqual(error._tag, "EngineFailed")
        assert.include(error.message, "TASK_STATE_FAILED")
        assert.include(error.message, "model quota exhausted")
      }))
  }

  it.effect("fails with EngineUnavailable on HTTP 503, and a retry reaches the recovered engine", () =>
    Effect.gen(function*() {
      const e = yield* engine((_input, { attempt }) => attempt === 1 ? { httpStatus: 503 } : "back again")
      const error = yield* Effect.flip(complete(request(e.url, "ping")))
      assert.strictEqual(error._tag, "EngineUnavailable")
      assert.include(error.message, "503")
      const retried = yield* complete(request(e.url, "ping"))
      assert.strictEqual(retried.content, "back again")
      assert.strictEqual(e.calls.length, 2)
    }))

  it.effect("fails with EngineFailed on an HTTP 4xx: the request itself is refused", () =>
    Effect.gen(function*() {
      const e = yield* engine(() => ({ httpStatus: 400 }))
      const error = yield* Effect.flip(complete(request(e.url, "ping")))
      assert.strictEqual(error._tag, "EngineFailed")
      assert.include(error.message, "400")
    }))

  it.effect("fails with EngineFailed when there is no agent card at the URL", () =>
    Effect.gen(function*() {
      const e = yield* engine(() => "unreached")
      const error = yield* Effect.flip(complete(request(`${e.url}/nowhere/`, "ping")))
      assert.strictEqual(error._tag, "EngineFailed")
      assert.include(error.message, "404")
      assert.strictEqual(e.calls.length, 0)
    }))

  it.effect("follows redirects to the engine, and fails the call (not the process) on a status no Response can hold", () =>
    Effect.gen(function*() {
      const e = yield* engine((input) => `heard ${input}`)
      /** A server that answers every request with `reply`. */
      const serving = (reply: (res: ServerResponse, path: string) => void) =>
        Effect.acquireRelease(
          Effect.callback<{ url: string; close: () => void }>((resume) => {
            const server = createHttpServer((req, res) => reply(res, req.url ?? "/"))
            server.listen(0, "127.0.0.1", () => {
              const address = server.address()
              const port = typeof address === "object" && address !== null ? address.port : 0
              resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, close: () => server.close() }))
            })
          }),
          (s) => Effect.sync(s.close)
        )
      const moved = yield* serving((res, path) => res.writeHead(308, { location: `${e.url}${path}` }).end())
      const result = yield* complete(request(moved.url, "through a redirect"))
      assert.strictEqual(result.content, "heard through a redirect")
      const odd = yield* serving((res) => res.writeHead(999).end())
      const error = yield* Effect.flip(complete(request(odd.url, "ping")))
      assert.strictEqual(error._tag, "EngineFailed")
    }))

  it.effect("fails with EngineUnavailable when nothing listens at the URL", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const error = yield* Effect.flip(complete(request(`http://127.0.0.1:${port}`, "ping")))
      assert.strictEqual(error._tag, "EngineUnavailable")
    }))

  it.effect("interrupting a slow call aborts the HTTP request at once", () =>
    Effect.gen(function*() {
      const e = yield* engine(() => ({ delayMs: 30_000, then: "too late" }))
      const fiber = yield* Effect.forkChild(complete(request(e.url, "take your time")))
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => e.calls.length === 1 }))
      const started = Date.now()
      yield* Fiber.interrupt(fiber)
      assert.isBelow(Date.now() - started, 1_000)
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => e.calls[0]!.aborted, times: 50 }))
      assert.isTrue(e.calls[0]!.aborted, "the engine saw the client hang up")
    }))

  it.effect("the demo engine answers deterministically, naming the target", () =>
    Effect.gen(function*() {
      const { url } = yield* DemoEngine.start
      const r = request(url, "what is Ark?", { contextId: "conv-3", target: { type: "agent", name: "helper", namespace: "team-a" } })
      const first = yield* complete(r)
      const second = yield* complete(r)
      assert.strictEqual(first.state, "completed")
      assert.strictEqual(first.content, "helper (demo engine) received: what is Ark?")
      assert.strictEqual(second.content, first.content)
      assert.strictEqual(first.contextId, "conv-3")
      assert.deepStrictEqual(first.tokenUsage, { promptTokens: 3, completionTokens: 7, totalTokens: 10 })
    }))

  it.effect("the demo engine layer provides its URL", () =>
    Effect.gen(function*() {
      const { url } = yield* DemoEngine.DemoEngineUrl
      const result = yield* complete(request(url, "hello"))
      assert.strictEqual(result.content, "weather (demo engine) received: hello")
    }).pipe(Effect.provide(DemoEngine.layer)))
})
