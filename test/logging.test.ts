/**
 * `ark serve`'s log lines: JSON objects on stderr with level, module and the request id that the
 * answer carries as Audit-Id; the human-readable form on request (as on a terminal).
 */
import { afterAll, describe, expect, it } from "vitest"
import type { RunningServer } from "./support/server.ts"
import { startServer } from "./support/server.ts"

const servers: Array<RunningServer> = []
afterAll(async () => {
  for (const s of servers) await s.stop()
})

const eventually = async <A>(find: () => A | undefined, what: string): Promise<A> => {
  const deadline = Date.now() + 30_000
  for (;;) {
    const found = find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`no log line: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const jsonLines = (s: RunningServer) =>
  s.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>)

describe("log lines", () => {
  it("are JSON with level, module and the request id the answer carries", async () => {
    const server = await startServer({ insecureHttp: true, modules: "apiserver,controller", args: ["--log-format", "json", "--log-level", "debug"] })
    servers.push(server)
    const path = "/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents/missing"
    const res = await fetch(`${server.url}${path}`)
    expect(res.status).toBe(404)
    const requestId = res.headers.get("audit-id")!
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    const line = await eventually(() => jsonLines(server).find((l) => l["requestId"] === requestId), "the request's")
    expect(line).toMatchObject({ level: "debug", module: "apiserver", verb: "GET", resource: "agents", msg: `GET ${path} 404` })
    expect(Date.parse(line["time"] as string)).not.toBeNaN()

    // A front proxy's Audit-ID is kept.
    const proxied = await fetch(`${server.url}${path}`, { headers: { "audit-id": "proxy-1234" } })
    expect(proxied.headers.get("audit-id")).toBe("proxy-1234")
    await eventually(() => jsonLines(server).find((l) => l["requestId"] === "proxy-1234"), "the proxied request's")

    // The controller's leader election logs as the controller module.
    const leading = await eventually(() => jsonLines(server).find((l) => String(l["msg"]).startsWith("leading ")), "leadership")
    expect(leading).toMatchObject({ level: "info", module: "controller" })
  })

  it("are human-readable text with --log-format text, and debug lines stay out at the default level", async () => {
    const server = await startServer({ insecureHttp: true, modules: "apiserver,controller", args: ["--log-format", "text"] })
    servers.push(server)
    await fetch(`${server.url}/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents/missing`)
    const leading = await eventually(() => server.output().split("\n").find((l) => l.includes("leading ")), "leadership")
    expect(leading.startsWith("{")).toBe(false)
    expect(leading).toContain("INFO")
    expect(server.output()).not.toContain("agents/missing 404")
  })
})
