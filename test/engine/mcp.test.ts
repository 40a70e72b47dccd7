/** The engine's MCP clients against a real MCP server (@modelcontextprotocol/sdk): tool lists cached, then listed again once old. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Mcp from "../../src/layers/engine/tools/mcp.ts"
import { startMcpServer } from "../support/toolServers.ts"

const mcpServer = Effect.acquireRelease(Effect.promise(() => startMcpServer()), (s) => Effect.promise(() => s.stop()))

describe("MCP clients", () => {
  for (const transport of ["http", "sse"] as const) {
    it.effect(`cache a server's tool list for the TTL and list it again after (${transport})`, () =>
      Effect.gen(function*() {
        const server = yield* mcpServer
        const clients = yield* Mcp.make(60_000)
        const config = { id: "t/alerts", url: `${server.url}/${transport === "http" ? "mcp" : "sse"}`, transport, headers: { "x-team": "t" }, timeoutMs: 10_000 }
        const first = yield* clients.tools(config)
        assert.deepStrictEqual(first.map((t) => t.name), ["get_alerts", "fail"])
        yield* clients.tools(config)
        yield* TestClock.adjust(59_999)
        yield* clients.tools(config)
        assert.strictEqual(server.lists.count, 1)
        yield* TestClock.adjust(1)
        yield* clients.tools(config)
        assert.strictEqual(server.lists.count, 2)
        assert.strictEqual(yield* clients.call(config, "get_alerts", { region: "Braga" }), "No alerts for Braga; wind advisory lifted.")
      }).pipe(Effect.scoped))
  }

  it.effect("report an unreachable server as a tool failure naming it", () =>
    Effect.gen(function*() {
      const clients = yield* Mcp.make(60_000)
      const failure = yield* clients.tools({ id: "t/gone", url: "http://127.0.0.1:9/mcp", transport: "http", headers: {}, timeoutMs: 2_000 }).pipe(Effect.flip)
      assert.match(failure.message, /^MCP server t\/gone \(http:\/\/127\.0\.0\.1:9\/mcp\): listing tools: /)
    }).pipe(Effect.scoped))
})
