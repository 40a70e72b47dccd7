/**
 * The watch contract over HTTP, rule by rule (DESIGN §4): start points, bookmarks, WatchList,
 * timeouts, selectors with enter/leave transitions, representations, and 410 for purged history.
 */
import { findKind } from "../../src/domain/registry.ts"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import { withStorage } from "../support/pg.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import type { Frame } from "../support/watch.ts"
import { openWatch } from "../support/watch.ts"

let server: RunningServer
beforeAll(async () => {
  server = await startServer({ insecureHttp: true, env: { ARK_WATCH_BOOKMARK_INTERVAL: "1 second" } })
})
afterAll(() => server?.stop())

const base = "/apis/ark.mckinsey.com/v1alpha1"
const path = (ns: string) => `${base}/namespaces/${ns}/queries`

const send = async (method: string, p: string, body?: unknown, type = "application/json") => {
  const res = await fetch(`${server.url}${p}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": type } })
  })
  const json = await res.json() as any
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

const query = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Query",
  metadata: { name, labels },
  spec: { input: `about ${name}`, target: { type: "agent", name: "a" } }
})

const summary = (frames: ReadonlyArray<Frame>) =>
  frames.filter((f) => f.type !== "BOOKMARK").map((f) => `${f.type} ${f.object.metadata.name}`)

describe("HTTP watch", () => {
  it("rv \"\" starts with the current state as ADDED, then live changes in order", async () => {
    await send("POST", path("w1"), query("a"))
    await send("POST", path("w1"), query("b"))
    const w = await openWatch(server.url, `${path("w1")}?watch=true`)
    expect(w.status).toBe(200)
    await w.waitFor((f) => f.length >= 2)
    await send("PATCH", `${path("w1")}/a`, { spec: { input: "changed" } }, "application/merge-patch+json")
    await send("DELETE", `${path("w1")}/b`)
    await send("POST", path("w1"), query("c"))
    await w.waitFor((f) => summary(f).length >= 5)
    expect(summary(w.frames)).toEqual(["ADDED a", "ADDED b", "MODIFIED a", "DELETED b", "ADDED c"])
    const rvs = w.frames.slice(2).map((f) => BigInt(f.object.metadata.resourceVersion))
    expect([...rvs].sort((x, y) => (x < y ? -1 : 1))).toEqual(rvs)
    w.close()
  })

  it("rv N delivers strictly the changes after N, with the deletion's resourceVersion on DELETED", async () => {
    const a = await send("POST", path("w2"), query("a"))
    const b = await send("POST", path("w2"), query("b"))
    const deleted = await send("DELETE", `${path("w2")}/a`)
    const w = await openWatch(server.url, `${path("w2")}?watch=1&resourceVersion=${a.metadata.resourceVersion}`)
    await w.waitFor((f) => f.length >= 2)
    expect(summary(w.frames)).toEqual(["ADDED b", "DELETED a"])
    expect(w.frames[0]!.object.metadata.resourceVersion).toBe(b.metadata.resourceVersion)
    expect(BigInt(w.frames[1]!.object.metadata.resourceVersion)).toBeGreaterThan(BigInt(b.metadata.resourceVersion))
    expect(deleted.metadata.name).toBe("a")
    w.close()
  })

  it("a start older than the purged history gets 200, one ERROR 410 frame, and the end", async () => {
    const first = await send("POST", path("w3"), query("old"))
    await send("PATCH", `${path("w3")}/old`, { spec: { input: "newer" } }, "application/merge-patch+json")
    await withStorage(server.databaseUrl!, Effect.gen(function*() {
      const storage = yield* Storage
      yield* storage.compact(storedResource(findKind("Query")!), yield* storage.currentRevision)
    }))
    const w = await openWatch(server.url, `${path("w3")}?watch=true&resourceVersion=${first.metadata.resourceVersion}`)
    expect(w.status).toBe(200)
    await w.ended
    expect(w.frames).toHaveLength(1)
    expect(w.frames[0]).toMatchObject({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } })
  })

  it("a start from the future: a plain watch stays quiet until the store passes it; WatchList waits 3 s, then 504 as an ERROR frame", async () => {
    const now = BigInt((await send("POST", path("w9"), query("before"))).metadata.resourceVersion)
    // Two writes from now: the watch knows everything up to there and gets only what comes after.
    const quiet = await openWatch(server.url, `${path("w9")}?watch=true&resourceVersion=${now + 2n}`)
    await send("POST", path("w9"), query("first"))
    await send("POST", path("w9"), query("second"))
    await send("POST", path("w9"), query("third"))
    await quiet.waitFor((f) => f.length >= 1)
    // rv values are global, so "first" and "second" may have been given lower ones by other writes: only "third" is certain.
    expect(summary(quiet.frames)).toContain("ADDED third")
    expect(quiet.frames.every((f) => BigInt(f.object.metadata.resourceVersion) > now + 2n)).toBe(true)
    quiet.close()
    const future = now + 1_000_000n
    const list = await openWatch(server.url, `${path("w9")}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=${future}`)
    expect(list.status).toBe(200)
    await list.ended
    expect(list.frames).toEqual([expect.objectContaining({
      type: "ERROR",
      object: expect.objectContaining({ kind: "Status", code: 504, reason: "Timeout", message: expect.stringContaining(`Too large resource version: ${future}`) })
    })])
  })

  it("sends bookmarks only when asked, and WatchList's initial-events-end bookmark only for sendInitialEvents", async () => {
    await send("POST", path("w4"), query("x"))
    const plain = await openWatch(server.url, `${path("w4")}?watch=true`)
    const marked = await openWatch(server.url, `${path("w4")}?watch=true&allowWatchBookmarks=true`)
    await marked.waitFor((f) => f.some((x) => x.type === "BOOKMARK"), 5000)
    const bm = marked.frames.find((x) => x.type === "BOOKMARK")!
    expect(bm.object).toMatchObject({ kind: "Query", apiVersion: "ark.mckinsey.com/v1alpha1" })
    expect(bm.object.metadata.annotations).toBeUndefined()
    expect(plain.frames.every((f) => f.type !== "BOOKMARK")).toBe(true)
    plain.close()
    marked.close()
    const list = await openWatch(server.url, `${path("w4")}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`)
    await list.waitFor((f) => f.some((x) => x.object?.metadata?.annotations?.["k8s.io/initial-events-end"] === "true"))
    const endAt = list.frames.findIndex((x) => x.object?.metadata?.annotations?.["k8s.io/initial-events-end"] === "true")
    expect(summary(list.frames.slice(0, endAt))).toEqual(["ADDED x"])
    list.close()
    const bad = await fetch(`${server.url}${path("w4")}?watch=true&sendInitialEvents=true`)
    expect(bad.status).toBe(422)
  })

  it("ends at timeoutSeconds, with a last bookmark when bookmarks are allowed", async () => {
    const started = Date.now()
    const w = await openWatch(server.url, `${path("w5")}?watch=true&timeoutSeconds=1`)
    await w.ended
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
    expect(w.frames).toEqual([])
    const b = await openWatch(server.url, `${path("w5")}?watch=true&timeoutSeconds=1&allowWatchBookmarks=true`, {})
    await b.ended
    expect(b.frames.at(-1)?.type).toBe("BOOKMARK")
  })

  it("applies label selectors with ADDED/DELETED when objects enter or leave them", async () => {
    await send("POST", path("w6"), query("m", { tier: "gold" }))
    const w = await openWatch(server.url, `${path("w6")}?watch=true&labelSelector=tier%3Dgold`)
    await w.waitFor((f) => f.length >= 1)
    await send("PATCH", `${path("w6")}/m`, { metadata: { labels: { tier: "silver" } } }, "application/merge-patch+json")
    await send("POST", path("w6"), query("n", { tier: "silver" }))
    await send("PATCH", `${path("w6")}/n`, { metadata: { labels: { tier: "gold" } } }, "application/merge-patch+json")
    await send("PATCH", `${path("w6")}/n`, { spec: { input: "still gold" } }, "application/merge-patch+json")
    await w.waitFor((f) => summary(f).length >= 4)
    expect(summary(w.frames)).toEqual(["ADDED m", "DELETED m", "ADDED n", "MODIFIED n"])
    const byName = await openWatch(server.url, `${path("w6")}?watch=true&fieldSelector=metadata.name%3Dm`)
    await byName.waitFor((f) => f.length >= 1)
    expect(summary(byName.frames)).toEqual(["ADDED m"])
    byName.close()
    w.close()
  })

  it("serves Table and PartialObjectMetadata watches", async () => {
    await send("POST", path("w7"), query("t"))
    const table = await openWatch(server.url, `${path("w7")}?watch=true`, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" })
    await table.waitFor((f) => f.length >= 1)
    await send("POST", path("w7"), query("u"))
    await table.waitFor((f) => f.length >= 2)
    expect(table.frames[0]!.object).toMatchObject({ kind: "Table", rows: [{ cells: ["t", "user", "pending", null, expect.any(String)] }] })
    expect(table.frames[0]!.object.columnDefinitions.length).toBeGreaterThan(1)
    expect(table.frames[1]!.object.columnDefinitions).toEqual([])
    table.close()
    const meta = await openWatch(server.url, `${path("w7")}?watch=true`, { accept: "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io" })
    await meta.waitFor((f) => f.length >= 2)
    expect(meta.frames[0]!.object).toMatchObject({ kind: "PartialObjectMetadata", metadata: { name: "t" } })
    expect(meta.frames[0]!.object.spec).toBeUndefined()
    meta.close()
  })
})
