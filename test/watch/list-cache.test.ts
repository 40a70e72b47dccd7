/**
 * Unpaginated LISTs are served from the watch hub's memory; they must be exactly as consistent
 * as reads from the store: every write committed before the LIST, on any replica, is in it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

let a: RunningServer
let b: RunningServer
beforeAll(async () => {
  a = await startServer({ insecureHttp: true })
  b = await startServer({ insecureHttp: true, databaseUrl: a.databaseUrl! })
})
afterAll(async () => {
  await b?.stop()
  await a?.stop()
})

const base = "/apis/ark.mckinsey.com/v1alpha1"

const call = async (server: RunningServer, method: string, path: string, body?: unknown, type = "application/json") => {
  const res = await fetch(`${server.url}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": type } }) })
  return { status: res.status, json: await res.json() as any }
}

const summary = (list: any) => list.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}:${o.metadata.labels?.tier ?? "-"}`)

describe("LIST from the hub's memory", () => {
  it("reflects every write committed before it, on any replica, with selectors", async () => {
    let seed = 7
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (let i = 0; i < 60; i++) {
      const ns = rand() < 0.5 ? "c1" : "c2"
      const name = `o-${Math.floor(rand() * 8)}`
      const op = rand()
      const writer = rand() < 0.5 ? a : b
      if (op < 0.4) {
        await call(writer, "POST", `${base}/namespaces/${ns}/agents`, { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name, labels: { tier: rand() < 0.5 ? "gold" : "silver" } }, spec: { prompt: "p" } })
      } else if (op < 0.7) {
        await call(writer, "PATCH", `${base}/namespaces/${ns}/agents/${name}`, { metadata: { labels: { tier: rand() < 0.5 ? "gold" : "silver" } } }, "application/merge-patch+json")
      } else {
        await call(writer, "DELETE", `${base}/namespaces/${ns}/agents/${name}`)
      }
      for (const [query, path] of [
        ["", `${base}/agents`],
        ["?labelSelector=tier%3Dgold", `${base}/agents`],
        ["", `${base}/namespaces/c1/agents`]
      ] as const) {
        const fromMemory = await call(a, "GET", `${path}${query}`)
        const fromStore = await call(a, "GET", `${path}${query}${query === "" ? "?" : "&"}limit=1000`)
        expect(fromMemory.status).toBe(200)
        expect(summary(fromMemory.json), `step ${i} ${path}${query}`).toEqual(summary(fromStore.json))
      }
    }
  })
})
