/**
 * History is kept for one compaction interval: after it, replaced versions and tombstones are
 * gone from the store, older watch starts get 410, and current objects are untouched. A LIST is
 * never refused as too old, even of a kind whose watchers were left behind by the compaction
 * (other kinds' writes moved it on): they end, to relist. The same on PostgreSQL (rows purged)
 * and on etcd (etcd's own compaction).
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
  readonly start: () => Promise<{ server: RunningServer; retains: (rv: string, plural?: string) => Promise<boolean> }>
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
    const retains = async (_rv: string, plural = "agents") =>
      Number((await db.query(`SELECT count(*)::int AS n FROM ark_objects WHERE resource = $1 AND superseded_rv IS NOT NULL`, [`ark.mckinsey.com/${plural}`])).rows[0].n) > 0
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

const sender = (server: RunningServer) => async (method: string, p: string, body?: unknown, type = "application/json") => {
  const res = await fetch(`${server.url}${p}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": type } }) })
  const answer = await res.json() as any
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(answer)}`)
  return answer
}

const purged = async (retains: (rv: string, plural?: string) => Promise<boolean>, rv: string, plural?: string) => {
  const deadline = Date.now() + 10_000
  while ((await retains(rv, plural)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  return !(await retains(rv, plural))
}

describe.each([postgres, etcd])("history compaction on $name", (store) => {
  it("purges replaced versions and tombstones after an interval; old watch starts get 410", async () => {
    const { server, retains } = await store.start()
    const send = sender(server)
    const created = await send("POST", path, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "kept" }, spec: { prompt: "v1" } })
    await send("PATCH", `${path}/kept`, { spec: { prompt: "v2" } }, "application/merge-patch+json")
    await send("POST", path, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "gone" }, spec: { prompt: "x" } })
    await send("DELETE", `${path}/gone`)
    const rv = created.metadata.resourceVersion as string
    expect(await retains(rv)).toBe(true)
    expect(await purged(retains, rv)).toBe(true)
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

  it("answers a LIST of a kind whose watchers the compaction left behind (other kinds' writes moved it past them): 200, and the watchers end", async () => {
    const { server, retains } = await store.start()
    const send = sender(server)
    const ns = "/apis/ark.mckinsey.com/v1alpha1/namespaces/behind"
    // Agents are watched from the current revision (another kind's list's) but never listed: the
    // replica follows them from there, with nothing of theirs to move it on.
    const from = (await send("GET", `${ns}/teams`)).metadata.resourceVersion as string
    const watch = await openWatch(server.url, `${ns}/agents?watch=true&resourceVersion=${from}`)
    // Only other kinds are written, until the compaction has passed a replaced version of theirs.
    const team = (i: number) => ({ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Team", metadata: { name: `t${i}` }, spec: { strategy: "sequential", members: [] } })
    const first = await send("POST", `${ns}/teams`, team(0))
    await send("PATCH", `${ns}/teams/t0`, { metadata: { labels: { patched: "yes" } } }, "application/merge-patch+json")
    for (let i = 1; i < 5; i++) await send("POST", `${ns}/teams`, team(i))
    expect(await purged(retains, first.metadata.resourceVersion, "teams")).toBe(true)

    const list = await fetch(`${server.url}${ns}/agents`)
    expect(list.status).toBe(200)
    expect(((await list.json()) as { items: Array<unknown> }).items).toEqual([])
    // The watch could not go on from where it was: it ends, as kube ends a watcher that fell behind the compaction.
    await watch.ended
    watch.close()
  })
})
