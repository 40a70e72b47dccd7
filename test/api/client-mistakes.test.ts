/**
 * Client mistakes kube-apiserver refuses, refused the same way and changing nothing: tampered
 * continue tokens (on PostgreSQL and etcd), malformed DeleteOptions, ListOptions kube's
 * validation forbids, half owner references, a patch that moves an object, mislabelled gzip
 * bodies, and boolean parameters read as Go's strconv.ParseBool reads them. Also what kube
 * accepts where a stricter reading would refuse (`a in ()`, `watch=True`).
 */
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Answer } from "../support/http.ts"
import { caller, expectStatus } from "../support/http.ts"
import type { RunningServer } from "../support/server.ts"
import { startServerOn } from "../support/server.ts"

const base = "/apis/ark.mckinsey.com/v1alpha1/namespaces/default"
const agents = `${base}/agents`
const queries = `${base}/queries`

const agent = (name: string, metadata: Record<string, unknown> = {}) => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Agent",
  metadata: { name, ...metadata },
  spec: { prompt: "hello" }
})

/** A 400 or 410 Status: what kube answers for a continue token it cannot use. */
const expectRefusedToken = (a: Answer) => {
  expect([400, 410], a.text).toContain(a.status)
  expect(a.json).toMatchObject({ kind: "Status", status: "Failure", code: a.status })
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")

describe.each(["postgresql", "etcd"] as const)("continue tokens on %s", (storage) => {
  let server: RunningServer
  const call = caller(() => server.url)
  beforeAll(async () => {
    server = await startServerOn(storage, { insecureHttp: true })
    for (const n of ["c1", "c2", "c3"]) expect((await call("POST", agents, { body: agent(n) })).status).toBe(201)
  }, 60_000)
  afterAll(() => server?.stop())

  it("a tampered token is a 400 (or 410), never a 5xx, and a real one still pages", async () => {
    const first = await call("GET", `${agents}?limit=1`)
    const token = first.json.metadata.continue as string
    const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Record<string, unknown>
    const tampered = [
      b64({ ...decoded, rv: "99999999999999999999" }), // beyond int64: reached SQL before
      b64({ ...decoded, rv: "9223372036854775807" }), // int64, but never issued: etcd answered 504
      b64({ ...decoded, rv: "0" }),
      b64({ ...decoded, rv: "-5" }),
      b64({ ...decoded, rv: 12 }),
      b64({ ...decoded, v: "meta.k8s.io/v1" }),
      b64({ ...decoded, k: "../../secrets/x", ns: 5 }),
      b64([decoded]),
      b64(null),
      "not base64 at all!",
      token.slice(0, -3)
    ]
    for (const t of tampered) {
      const answer = await call("GET", `${agents}?limit=1&continue=${encodeURIComponent(t)}`)
      expectRefusedToken(answer)
    }
    const beyond = await call("GET", `${agents}?limit=1&continue=${b64({ ...decoded, rv: "99999999999999999999" })}`)
    expect(expectStatus(beyond, 400, "BadRequest").message).toBe("continue key is not valid")
    const never = await call("GET", `${agents}?limit=1&continue=${b64({ ...decoded, rv: "9223372036854775807" })}`)
    expect(expectStatus(never, 400, "BadRequest").message).toBe("continue key is not valid")
    const second = await call("GET", `${agents}?limit=1&continue=${encodeURIComponent(token)}`)
    expect(second.status).toBe(200)
    expect(second.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["c2"])
  })
})

describe("on one server", () => {
  let server: RunningServer
  const call = caller(() => server.url)
  beforeAll(async () => {
    server = await startServerOn("postgresql", { insecureHttp: true })
  }, 60_000)
  afterAll(() => server?.stop())

  const exists = async (name: string) => (await call("GET", `${agents}/${name}`)).status === 200

  it("invalid DeleteOptions, in the body or the query, are refused and delete nothing", async () => {
    expect((await call("POST", agents, { body: agent("keep") })).status).toBe(201)
    const bodies: ReadonlyArray<readonly [unknown, number]> = [
      [{ propagationPolicy: "Bogus" }, 422],
      [{ gracePeriodSeconds: "x" }, 400],
      [{ gracePeriodSeconds: 1.5 }, 400],
      [{ kind: "Pod" }, 400],
      [{ apiVersion: "apps/v1", kind: "DeleteOptions" }, 400],
      [{ orphanDependents: "yes" }, 400],
      [{ orphanDependents: true, propagationPolicy: "Orphan" }, 422],
      [{ preconditions: "uid" }, 400],
      [{ dryRun: "All" }, 400],
      [{ dryRun: ["Some"] }, 422],
      [[], 400]
    ]
    for (const [body, code] of bodies) {
      const answer = await call("DELETE", `${agents}/keep`, { body })
      expect(answer.status, `${JSON.stringify(body)}: ${answer.text}`).toBe(code)
      expect(answer.json).toMatchObject({ kind: "Status", code })
    }
    const bogus = await call("DELETE", `${agents}/keep`, { body: { propagationPolicy: "Bogus" } })
    expect(expectStatus(bogus, 422, "Invalid").message).toBe(
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Bogus": supported values: "Foreground", "Background", "Orphan", "nil"'
    )
    for (const [q, code] of [["gracePeriodSeconds=abc", 400], ["propagationPolicy=Bogus", 422], ["orphanDependents=maybe", 400]] as const) {
      const answer = await call("DELETE", `${agents}/keep?${q}`)
      expect(answer.status, `${q}: ${answer.text}`).toBe(code)
    }
    // deletecollection reads the same options.
    expect((await call("DELETE", `${agents}?propagationPolicy=Bogus`)).status).toBe(422)
    expect(await exists("keep")).toBe(true)
  })

  it("propagationPolicy leaves kube's garbage-collector finalizers: Orphan, Foreground; Background deletes", async () => {
    for (const n of ["orphaned", "foreground", "background", "legacy-orphan"]) {
      expect((await call("POST", agents, { body: agent(n, { finalizers: ["example.com/keep"] }) })).status).toBe(201)
    }
    const orphaned = await call("DELETE", `${agents}/orphaned`, { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Orphan" } })
    expect(orphaned.status).toBe(200)
    expect(orphaned.json.metadata.finalizers).toEqual(["example.com/keep", "orphan"])
    expect(orphaned.json.metadata.deletionTimestamp).toBeDefined()
    const foreground = await call("DELETE", `${agents}/foreground?propagationPolicy=Foreground`)
    expect(foreground.json.metadata.finalizers).toEqual(["example.com/keep", "foregroundDeletion"])
    // Asked again with another policy, the GC finalizer is replaced, as kube does.
    const changed = await call("DELETE", `${agents}/foreground`, { body: { propagationPolicy: "Orphan" } })
    expect(changed.json.metadata.finalizers).toEqual(["example.com/keep", "orphan"])
    // orphanDependents is Orphan's old spelling; True is how Python spells a boolean.
    const legacy = await call("DELETE", `${agents}/legacy-orphan?orphanDependents=True`)
    expect(legacy.json.metadata.finalizers).toEqual(["example.com/keep", "orphan"])
    // Background adds nothing: the object waits for its own finalizer only.
    const background = await call("DELETE", `${agents}/background`, { body: { propagationPolicy: "Background" } })
    expect(background.json.metadata.finalizers).toEqual(["example.com/keep"])
    // Without any finalizer, Background deletes at once; a bare object with Foreground waits for the GC.
    expect((await call("POST", agents, { body: agent("plain") })).status).toBe(201)
    expect((await call("DELETE", `${agents}/plain?propagationPolicy=Background`)).status).toBe(200)
    expect(await exists("plain")).toBe(false)
    expect((await call("POST", agents, { body: agent("plain-fg") })).status).toBe(201)
    const fg = await call("DELETE", `${agents}/plain-fg`, { body: { propagationPolicy: "Foreground" } })
    expect(fg.json.metadata.finalizers).toEqual(["foregroundDeletion"])
    // The garbage collector's part: it removes its finalizer, and the object is gone.
    const rv = fg.json.metadata.resourceVersion
    const removed = await call("PATCH", `${agents}/plain-fg`, {
      type: "application/json-patch+json",
      body: [{ op: "test", path: "/metadata/resourceVersion", value: rv }, { op: "remove", path: "/metadata/finalizers" }]
    })
    expect(removed.status, removed.text).toBe(200)
    expect(await exists("plain-fg")).toBe(false)
  })

  it("ListOptions kube forbids are 422 (validation) or 400 (parsing); `a in ()` is kube's `a in (\"\")`", async () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["timeoutSeconds=abc", 400],
      ["watch=maybe", 400],
      ["allowWatchBookmarks=yes", 400],
      ["sendInitialEvents=true", 422],
      ["resourceVersionMatch=NotOlderThan", 422],
      ["resourceVersionMatch=Exact&resourceVersion=5&continue=abc", 422],
      ["continue=abc&resourceVersion=5", 400],
      ["resourceVersion=99999999999999999999", 400],
      ["limit=1e3", 400]
    ]
    for (const [q, code] of cases) {
      const answer = await call("GET", `${agents}?${q}`)
      expect(answer.status, `${q}: ${answer.text}`).toBe(code)
      expect(answer.json).toMatchObject({ kind: "Status", code })
    }
    const match = await call("GET", `${agents}?resourceVersionMatch=NotOlderThan`)
    expect(expectStatus(match, 422, "Invalid").message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided'
    )
    expect((await call("GET", `${agents}/none?resourceVersion=99999999999999999999`)).status).toBe(400)
    expect((await call("GET", `${agents}?labelSelector=${encodeURIComponent("a in ()")}`)).status).toBe(200)
  })

  it("owner references must name their owner completely", async () => {
    const half = await call("POST", agents, { body: agent("owned", { ownerReferences: [{ kind: "Team", name: "t" }] }) })
    const causes = expectStatus(half, 422, "Invalid").details!.causes!.map((c) => `${c.field}: ${c.message}`)
    expect(causes).toEqual([
      'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
      'metadata.ownerReferences.uid: Invalid value: "": must not be empty'
    ])
    const owner = { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Team", name: "t", uid: "u-1", controller: true }
    const twoControllers = await call("POST", agents, { body: agent("owned", { ownerReferences: [owner, { ...owner, name: "u", uid: "u-2" }] }) })
    expectStatus(twoControllers, 422, "Invalid")
    expect(await exists("owned")).toBe(false)
    expect((await call("POST", agents, { body: agent("owned", { ownerReferences: [owner] }) })).status).toBe(201)
  })

  it("a merge patch may not move an object to another namespace", async () => {
    expect((await call("POST", agents, { body: agent("stays") })).status).toBe(201)
    const moved = await call("PATCH", `${agents}/stays`, { type: "application/merge-patch+json", body: { metadata: { namespace: "other" } } })
    expect(expectStatus(moved, 400, "BadRequest").message).toBe("the namespace of the object (other) does not match the namespace on the URL (default)")
    expect((await call("GET", "/apis/ark.mckinsey.com/v1alpha1/namespaces/other/agents/stays")).status).toBe(404)
  })

  it("a null spec is an empty one: a Query without its required fields is refused, an Agent gets its defaults", async () => {
    const query = await call("POST", queries, { body: { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Query", metadata: { name: "nulled" }, spec: null } })
    expectStatus(query, 422, "Invalid")
    expect((await call("GET", `${queries}/nulled`)).status).toBe(404)
    const nulled = await call("POST", agents, { body: { ...agent("nulled"), spec: null } })
    expect(nulled.status, nulled.text).toBe(201)
    expect(nulled.json.spec).toEqual({ modelRef: { name: "default" } })
    const patched = await call("PATCH", `${agents}/stays`, { type: "application/merge-patch+json", body: { spec: null } })
    expect(patched.json.spec).toEqual({ modelRef: { name: "default" } })
  })

  it("gzip bodies are decoded; a plain body labelled gzip is a 400, another encoding a 415", async () => {
    const zipped = await call("POST", agents, { body: gzipSync(JSON.stringify(agent("zipped"))), headers: { "content-encoding": "gzip" } })
    expect(zipped.status, zipped.text).toBe(201)
    const mislabelled = await call("POST", agents, { body: agent("mislabelled"), headers: { "content-encoding": "gzip" } })
    expectStatus(mislabelled, 400, "BadRequest")
    const brotli = await call("POST", agents, { body: agent("brotli"), headers: { "content-encoding": "br" } })
    expectStatus(brotli, 415, "UnsupportedMediaType")
    expect(await exists("mislabelled")).toBe(false)
    expect(await exists("brotli")).toBe(false)
  })

  it("booleans are read as strconv.ParseBool: watch=True watches, force=T forces, anything else is a 400", async () => {
    const controller = new AbortController()
    const res = await fetch(`${server.url}${agents}?watch=True&allowWatchBookmarks=T&timeoutSeconds=5`, { signal: controller.signal })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ""
    while (!text.includes("\n")) {
      const { done, value } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    controller.abort()
    // A watch (not a list): frames of events, the first an ADDED of a stored object.
    expect(JSON.parse(text.split("\n")[0]!)).toMatchObject({ type: "ADDED", object: { kind: "Agent" } })
    for (const bad of ["maybe", "yes", "2", "tRUE"]) {
      const watchAnswer = await call("GET", `${agents}?watch=${bad}`)
      expect(expectStatus(watchAnswer, 400, "BadRequest").message).toContain(`invalid watch "${bad}"`)
    }
    const apply = (force: string) =>
      call("PATCH", `${agents}/applied?fieldManager=other&force=${force}`, {
        type: "application/apply-patch+yaml",
        body: JSON.stringify({ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "applied" }, spec: { prompt: "theirs" } })
      })
    expect((await call("PATCH", `${agents}/applied?fieldManager=mine`, {
      type: "application/apply-patch+yaml",
      body: JSON.stringify(agent("applied"))
    })).status).toBe(201)
    expect((await apply("f")).status).toBe(409)
    expect((await apply("sure")).status).toBe(400)
    expect((await apply("T")).status).toBe(200)
  })
})
