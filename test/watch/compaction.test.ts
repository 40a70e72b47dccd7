/**
 * History is kept for one compaction interval: after it, replaced versions and tombstones are
 * gone from the store, older watch starts get 410, and current objects are untouched. The same
 * on PostgreSQL (rows purged) and on etcd (etcd's own compaction).
 */
import { Etcd3 } from "etcd3"
import pg from "pg"
import { afterAll, describe, expect, it } from "vitest"
import type { RunningEtcd } from "../support/etcd.ts"
import { startEtcd } from "../support/etcd.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { openWatch } from "../support/watch.ts"

const env = { ARK_COMPACTION_INTERVAL: "500 millis" }
const path = "/apis/ark.mckinsey.com/v1alpha1/namespaces/compact/agents"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

/** A server on one store, and whether the store still holds the history at a resourceVersion. */
interface Store {
  readonly name: string
  readonly start: () => Promise<{ server: RunningServer; retains: (rv: string) => Promise<boolean> }>
}

const postgres: Store = {
  name: "PostgreSQL",
  start: async () => {
    // The controller (the leader) compacts history.
    const server = await startServer({ insecureHttp: true, env, modules: "apiserver,controller" })
    cleanups.push(() => server.stop())
    const db = new pg.Client({ connectionString: server.databaseUrl! })
    await db.connect()
    cleanups.push(() => db.end())
    // Replaced versions and tombstones are rows until purged.
    const retains = async () =>
      Number((await db.query(`SELECT count(*)::int AS n FROM ark_objects WHERE resource = 'ark.mckinsey.com/agents' AND superseded_rv IS NOT NULL`)).rows[0].n) > 0
    return { server, retains }
  }
}

const etcd: Store = {
  name: "etcd",
  start: async () => {
    const member: RunningEtcd = await startEtcd()
    cleanups.push(() => member.stop())
    const server = await startServer({ insecureHttp: true, env, etcdEndpoint: member.endpoint, modules: "apiserver,controller" })
    cleanups.push(() => server.stop())
    const client = new Etcd3({ hosts: [member.endpoint] })
    cleanups.push(async () => client.close())
    // etcd keeps every revision until compacted; a read at a compacted one is refused.
    const retains = (rv: string) =>
      client.kv.range({ key: Buffer.from("/registry/"), limit: 1, revision: rv }).then(
        () => true,
        (e: Error) => {
          if (e.message.includes("compacted")) return false
          throw e
        }
      )
    return { server, retains }
  }
}

describe.each([postgres, etcd])("history compaction on $name", (store) => {
  it("purges replaced versions and tombstones after an interval; old watch starts get 410", async () => {
    const { server, retains } = await store.start()
    const send = async (method: string, p: string, body?: unknown, type = "application/json") => {
      const res = await fetch(`${server.url}${p}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": type } }) })
      const answer = await res.json() as any
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(answer)}`)
      return answer
    }
    const created = await send("POST", path, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "kept" }, spec: { prompt: "v1" } })
    await send("PATCH", `${path}/kept`, { spec: { prompt: "v2" } }, "application/merge-patch+json")
    await send("POST", path, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "gone" }, spec: { prompt: "x" } })
    await send("DELETE", `${path}/gone`)
    const rv = created.metadata.resourceVersion as string
    expect(await retains(rv)).toBe(true)
    const deadline = Date.now() + 10_000
    while ((await retains(rv)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(await retains(rv)).toBe(false)
    expect((await send("GET", `${path}/kept`)).spec.prompt).toBe("v2")
    const old = await openWatch(server.url, `${path}?watch=true&resourceVersion=${rv}`)
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
