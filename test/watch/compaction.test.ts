/**
 * History is kept for one compaction interval: after it, replaced versions and tombstones are
 * gone from the store, older watch starts get 410, and current objects are untouched.
 */
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { openWatch } from "../support/watch.ts"

let server: RunningServer
beforeAll(async () => {
  server = await startServer({ insecureHttp: true, env: { ARK_COMPACTION_INTERVAL: "500 millis" } })
})
afterAll(() => server?.stop())

const path = "/apis/ark.mckinsey.com/v1alpha1/namespaces/compact/agents"

const send = async (method: string, p: string, body?: unknown, type = "application/json") => {
  const res = await fetch(`${server.url}${p}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": type } }) })
  return await res.json() as any
}

describe("history compaction", () => {
  it("purges replaced versions and tombstones after an interval; old watch starts get 410", async () => {
    const created = await send("POST", path, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "kept" }, spec: { prompt: "v1" } })
    await send("PATCH", `${path}/kept`, { spec: { prompt: "v2" } }, "application/merge-patch+json")
    await send("POST", path, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "gone" }, spec: { prompt: "x" } })
    await send("DELETE", `${path}/gone`)
    const db = new pg.Client({ connectionString: server.databaseUrl! })
    await db.connect()
    const history = async () =>
      Number((await db.query(`SELECT count(*)::int AS n FROM ark_objects WHERE resource = 'ark.mckinsey.com/agents' AND superseded_rv IS NOT NULL`)).rows[0].n)
    expect(await history()).toBeGreaterThanOrEqual(3)
    const deadline = Date.now() + 10_000
    while ((await history()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(await history()).toBe(0)
    await db.end()
    expect((await send("GET", `${path}/kept`)).spec.prompt).toBe("v2")
    const old = await openWatch(server.url, `${path}?watch=true&resourceVersion=${created.metadata.resourceVersion}`)
    await old.ended
    expect(old.frames).toEqual([expect.objectContaining({ type: "ERROR", object: expect.objectContaining({ code: 410 }) })])
    const list = await send("GET", path)
    const fresh = await openWatch(server.url, `${path}?watch=true&resourceVersion=${list.metadata.resourceVersion}`)
    await send("PATCH", `${path}/kept`, { spec: { prompt: "v3" } }, "application/merge-patch+json")
    await fresh.waitFor((f) => f.length >= 1)
    expect(fresh.frames[0]).toMatchObject({ type: "MODIFIED", object: { spec: { prompt: "v3" } } })
    fresh.close()
  })
})
