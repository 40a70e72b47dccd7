/**
 * The HTTP contract of the API server, request by request: discovery, representations, and a
 * kube `Status` with the right code for every kind of bad input, with nothing stored after it.
 */
import { readFileSync } from "node:fs"
import { request as httpsRequest } from "node:https"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { caller, expectStatus } from "../support/http.ts"

let server: RunningServer
beforeAll(async () => {
  server = await startServer({ insecureHttp: true })
})
afterAll(() => server?.stop())

const base = "/apis/ark.mckinsey.com/v1alpha1"
const queries = `${base}/namespaces/default/queries`

const call = caller(() => server.url)

const query = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Query",
  metadata: { name },
  spec: { input: "What is the weather?", target: { type: "agent", name: "weather" } },
  ...extra
})

const names = async () => ((await call("GET", queries)).json.items as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name).sort()

describe("discovery", () => {
  it("serves the group list, the group and each version's resources with /status after its resource", async () => {
    const groups = await call("GET", "/apis")
    expect(groups.json.groups[0].name).toBe("ark.mckinsey.com")
    expect(groups.json.groups[0].preferredVersion.version).toBe("v1alpha1")
    const v1 = await call("GET", base)
    const resourceNames = (v1.json.resources as Array<{ name: string }>).map((r) => r.name)
    expect(resourceNames.indexOf("queries")).toBeLessThan(resourceNames.indexOf("queries/status"))
    expect((await call("GET", "/apis/ark.mckinsey.com/v1prealpha1")).json.resources.map((r: { name: string }) => r.name)).toContain("a2aservers")
    expect((await call("GET", "/apis/ark.mckinsey.com")).json.kind).toBe("APIGroup")
    expect((await call("GET", "/version")).json.major).toBe("1")
    expect((await call("GET", "/readyz")).text).toBe("ok")
  })

  it("serves aggregated discovery v2 with an ETag that answers 304", async () => {
    const accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    const first = await call("GET", "/apis", { accept })
    expect(first.headers.get("content-type")).toBe("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    expect(first.json.kind).toBe("APIGroupDiscoveryList")
    const queriesEntry = first.json.items[0].versions[0].resources.find((r: { resource: string }) => r.resource === "queries")
    expect(queriesEntry).toMatchObject({ scope: "Namespaced", responseKind: { kind: "Query" }, subresources: [{ subresource: "status" }] })
    const etag = first.headers.get("etag")!
    const second = await call("GET", "/apis", { accept, headers: { "if-none-match": etag } })
    expect(second.status).toBe(304)
  })

  it("publishes OpenAPI v2 and v3 with group-version-kinds and exactly the supported patch types", async () => {
    const index = await call("GET", "/openapi/v3")
    const ref = index.json.paths["apis/ark.mckinsey.com/v1alpha1"].serverRelativeURL as string
    const v3 = await call("GET", ref)
    const schema = v3.json.components.schemas["com.mckinsey.ark.v1alpha1.Query"]
    expect(schema["x-kubernetes-group-version-kind"]).toEqual([{ group: "ark.mckinsey.com", kind: "Query", version: "v1alpha1" }])
    const patchTypes = Object.keys(v3.json.paths[`${base}/namespaces/{namespace}/queries/{name}`].patch.requestBody.content).sort()
    expect(patchTypes).toEqual(["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"])
    expect(schema.properties.status.properties.conditions).toMatchObject({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    const v2 = await call("GET", "/openapi/v2")
    expect(v2.json.definitions["com.mckinsey.ark.v1alpha1.Agent"]["x-kubernetes-group-version-kind"][0].kind).toBe("Agent")
  })

  it("serves OpenAPI v2 as protobuf to clients that ask for it (kubectl's validation does), and 406 for other types", async () => {
    const accept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    const pb = await call("GET", "/openapi/v2", { accept })
    expect(pb.status).toBe(200)
    expect(pb.headers.get("content-type")).toBe("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    const json = await call("GET", "/openapi/v2", { accept: "application/json" })
    expect(pb.headers.get("etag")).not.toBe(json.headers.get("etag"))
    expect((await call("GET", "/openapi/v2", { accept, headers: { "if-none-match": pb.headers.get("etag")! } })).status).toBe(304)
    const refused = await call("GET", "/openapi/v2", { accept: "text/html" })
    expect(refused.status).toBe(406)
    expect(refused.json).toMatchObject({ kind: "Status", reason: "NotAcceptable" })
  })

  it("lists core v1 with the Secrets, ConfigMaps and Events served standalone, in aggregated and legacy discovery", async () => {
    const accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    const aggregated = await call("GET", "/api", { accept })
    expect(aggregated.headers.get("content-type")).toBe("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    const [core] = aggregated.json.items
    expect(core.versions.map((v: { version: string }) => v.version)).toEqual(["v1"])
    expect(core.versions[0].resources.map((r: { resource: string; scope: string }) => [r.resource, r.scope])).toEqual([["configmaps", "Namespaced"], ["events", "Namespaced"], ["secrets", "Namespaced"]])
    expect((await call("GET", "/api")).json.versions).toEqual(["v1"])
    const legacy = (await call("GET", "/api/v1")).json
    expect(legacy).toMatchObject({ kind: "APIResourceList", apiVersion: "v1", groupVersion: "v1" })
    expect(legacy.resources.map((r: { name: string; kind: string; shortNames?: Array<string> }) => [r.name, r.kind, r.shortNames])).toEqual([["configmaps", "ConfigMap", ["cm"]], ["events", "Event", ["ev"]], ["secrets", "Secret", undefined]])
    expect((await call("GET", "/api/v1/pods")).status).toBe(404)
    const index = (await call("GET", "/openapi/v3")).json.paths
    expect(Object.keys(index)).toContain("api/v1")
    const v3 = (await call("GET", index["api/v1"].serverRelativeURL)).json
    expect(Object.keys(v3.paths)).toContain("/api/v1/namespaces/{namespace}/secrets/{name}")
    expect(v3.components.schemas["io.k8s.api.core.v1.Secret"]["x-kubernetes-group-version-kind"]).toEqual([{ group: "", kind: "Secret", version: "v1" }])
  })
})

describe("representations", () => {
  it("answers Table, PartialObjectMetadata and their lists, and YAML", async () => {
    expect((await call("POST", queries, { body: query("table-one", { metadata: { name: "table-one", labels: { a: "b" } } }) })).status).toBe(201)
    const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    const list = await call("GET", queries, { accept: tableAccept })
    expect(list.json.kind).toBe("Table")
    expect(list.json.columnDefinitions[0]).toMatchObject({ name: "Name", format: "name" })
    const row = list.json.rows.find((r: { cells: Array<unknown> }) => r.cells[0] === "table-one")
    expect(row.object).toMatchObject({ kind: "PartialObjectMetadata", metadata: { name: "table-one", labels: { a: "b" } } })
    const noObject = await call("GET", `${queries}?includeObject=None`, { accept: tableAccept })
    expect(noObject.json.rows[0].object).toBeNull()
    const one = await call("GET", `${queries}/table-one`, { accept: tableAccept })
    expect(one.json.rows).toHaveLength(1)
    const partial = await call("GET", `${queries}/table-one`, { accept: "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io" })
    expect(partial.json).toMatchObject({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: { name: "table-one" } })
    expect(partial.json.spec).toBeUndefined()
    const partialList = await call("GET", queries, { accept: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io" })
    expect(partialList.json.kind).toBe("PartialObjectMetadataList")
    const yaml = await call("GET", `${queries}/table-one`, { accept: "application/yaml" })
    expect(yaml.headers.get("content-type")).toContain("application/yaml")
    expect(yaml.text).toContain("name: table-one")
  })

  it("paginates a list with limit and continue", async () => {
    for (let i = 0; i < 7; i++) await call("POST", `${base}/namespaces/pages/queries`, { body: query(`p${i}`) })
    const seen: Array<string> = []
    let token = ""
    do {
      const page = await call("GET", `${base}/namespaces/pages/queries?limit=3${token ? `&continue=${encodeURIComponent(token)}` : ""}`)
      seen.push(...page.json.items.map((i: { metadata: { name: string } }) => i.metadata.name))
      token = page.json.metadata.continue ?? ""
    } while (token !== "")
    expect(seen).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6"])
    // Any int64 is a limit, as kube reads it; the largest returns everything in one page.
    const all = await call("GET", `${base}/namespaces/pages/queries?limit=9223372036854775807`)
    expect(all.status).toBe(200)
    expect(all.json.items).toHaveLength(7)
    expect(all.json.metadata.continue).toBeUndefined()
    for (const bad of ["99999999999999999999", "1e3", "-1", "2.5", "x"]) {
      const answer = expectStatus(await call("GET", `${base}/namespaces/pages/queries?limit=${bad}`), 400, "BadRequest")
      expect(answer.message).toBe(`invalid limit "${bad}": must be a non-negative integer`)
    }
  })
})

describe("bad input gets a Status error and changes nothing", () => {
  it("404 for unknown objects, resources and paths", async () => {
    const missing = expectStatus(await call("GET", `${queries}/nope`), 404, "NotFound")
    expect(missing.message).toBe('queries.ark.mckinsey.com "nope" not found')
    expectStatus(await call("GET", `${base}/namespaces/default/widgets`), 404, "NotFound")
    expectStatus(await call("GET", "/nothing/here"), 404, "NotFound")
  })

  it("400 for malformed JSON, a non-object body, and apiVersion/kind/namespace/name mismatches", async () => {
    const before = await names()
    expectStatus(await call("POST", queries, { body: "{not json" }), 400, "BadRequest")
    expectStatus(await call("POST", queries, { body: "[1,2]" }), 400, "BadRequest")
    expect(expectStatus(await call("POST", queries, { body: query("v", { apiVersion: "ark.mckinsey.com/v9" }) }), 400, "BadRequest").message)
      .toContain("does not match the expected API version")
    expectStatus(await call("POST", queries, { body: query("k", { kind: "Agent" }) }), 400, "BadRequest")
    const ns = expectStatus(await call("POST", queries, { body: query("n", { metadata: { name: "n", namespace: "elsewhere" } }) }), 400, "BadRequest")
    expect(ns.message).toBe("the namespace of the provided object does not match the namespace sent on the request")
    await call("POST", queries, { body: query("named") })
    const current = (await call("GET", `${queries}/named`)).json
    expectStatus(await call("PUT", `${queries}/named`, { body: { ...current, metadata: { ...current.metadata, name: "other" } } }), 400, "BadRequest")
    expectStatus(await call("GET", `${queries}?labelSelector=${encodeURIComponent("a in (b")}`), 400, "BadRequest")
    expectStatus(await call("GET", `${queries}?fieldSelector=spec.input%3Dx`), 400, "BadRequest")
    expectStatus(await call("GET", `${queries}?limit=-1`), 400, "BadRequest")
    expectStatus(await call("GET", `${queries}?continue=garbage`), 400, "BadRequest")
    expect(await names()).toEqual([...before, "named"].sort())
  })

  it("422 with causes for invalid names, labels and spec values", async () => {
    const before = await names()
    const bad = expectStatus(await call("POST", queries, {
      body: query("Bad_Name", { metadata: { name: "Bad_Name", labels: { "no good!": "x" } }, spec: { input: "x", target: { type: "robot", name: "r" } } })
    }), 422, "Invalid")
    const fields = bad.details!.causes!.map((c) => c.field)
    expect(fields).toEqual(expect.arrayContaining(["metadata.name", "metadata.labels", "spec.target.type"]))
    expectStatus(await call("POST", queries, { body: query("missing-input", { spec: { target: { type: "agent", name: "a" } } }) }), 422, "Invalid")
    expect(await names()).toEqual(before)
  })

  it("409 for an existing name and for a stale resourceVersion; PUT without resourceVersion is refused", async () => {
    const created = (await call("POST", queries, { body: query("conflicted") })).json
    const dup = expectStatus(await call("POST", queries, { body: query("conflicted") }), 409, "AlreadyExists")
    expect(dup.message).toBe('queries.ark.mckinsey.com "conflicted" already exists')
    const updated = await call("PUT", `${queries}/conflicted`, { body: { ...created, spec: { ...created.spec, input: "new" } } })
    expect(updated.status).toBe(200)
    const stale = expectStatus(await call("PUT", `${queries}/conflicted`, { body: { ...created, spec: { ...created.spec, input: "stale" } } }), 409, "Conflict")
    expect(stale.message).toContain("the object has been modified; please apply your changes to the latest version and try again")
    const { resourceVersion: _rv, ...noRv } = created.metadata
    expectStatus(await call("PUT", `${queries}/conflicted`, { body: { ...created, metadata: noRv } }), 422, "Invalid")
    expect((await call("GET", `${queries}/conflicted`)).json.spec.input).toBe("new")
  })

  it("413 for bodies over 3 MiB and for JSON patches over 10,000 operations", async () => {
    const before = await names()
    const huge = query("huge", { spec: { input: "x".repeat(3 * 1024 * 1024), target: { type: "agent", name: "a" } } })
    expectStatus(await call("POST", queries, { body: huge }), 413, "RequestEntityTooLarge")
    await call("POST", queries, { body: query("patched") })
    const ops = Array.from({ length: 10_001 }, () => ({ op: "test", path: "/kind", value: "Query" }))
    expectStatus(await call("PATCH", `${queries}/patched`, { body: ops, type: "application/json-patch+json" }), 413, "RequestEntityTooLarge")
    expect(await names()).toEqual([...before, "patched"].sort())
  })

  it("400 for JSON and YAML nested deeper than 100 levels, storing nothing", async () => {
    const before = await names()
    const nested = (depth: number): unknown => (depth === 0 ? "leaf" : { n: nested(depth - 1) })
    const deepJson = query("deep", { spec: { input: nested(150), target: { type: "agent", name: "a" } } })
    const json = expectStatus(await call("POST", queries, { body: deepJson }), 400, "BadRequest")
    expect(json.message).toContain("the object nests deeper than 100 levels")
    const deepYaml = `apiVersion: ark.mckinsey.com/v1alpha1\nkind: Query\nmetadata: {name: deep}\nspec:\n  input: ${"[".repeat(150)}1${"]".repeat(150)}\n`
    const yaml = expectStatus(await call("POST", queries, { body: deepYaml, type: "application/yaml" }), 400, "BadRequest")
    expect(yaml.message).toContain("the object nests deeper than 100 levels")
    expect(await names()).toEqual(before)
  })

  it("405, 406 and 415 for unsupported methods, representations and patch types", async () => {
    await call("POST", queries, { body: query("typed") })
    expectStatus(await call("POST", `${queries}/typed`, { body: query("typed") }), 405, "MethodNotAllowed")
    expectStatus(await call("DELETE", `${base}/queries`), 405, "MethodNotAllowed")
    expectStatus(await call("GET", `${queries}/typed`, { accept: "application/vnd.kubernetes.protobuf" }), 406, "NotAcceptable")
    const smp = expectStatus(await call("PATCH", `${queries}/typed`, { body: {}, type: "application/strategic-merge-patch+json" }), 415, "UnsupportedMediaType")
    expect(smp.message).toContain("application/json-patch+json, application/merge-patch+json")
    // Apply is served: without a fieldManager it is kube's PatchOptions validation error, and bad YAML a 400.
    expectStatus(await call("PATCH", `${queries}/typed`, { body: "spec: {}", type: "application/apply-patch+yaml" }), 422, "Invalid")
    expectStatus(await call("PATCH", `${queries}/typed?fieldManager=m`, { body: "spec: [", type: "application/apply-patch+yaml" }), 400, "BadRequest")
  })

  it("a JSON patch whose test fails is Invalid and changes nothing", async () => {
    await call("POST", queries, { body: query("tested") })
    const before = (await call("GET", `${queries}/tested`)).json
    expectStatus(await call("PATCH", `${queries}/tested`, {
      body: [{ op: "test", path: "/spec/input", value: "other" }, { op: "replace", path: "/spec/input", value: "changed" }],
      type: "application/json-patch+json"
    }), 422, "Invalid")
    expect((await call("GET", `${queries}/tested`)).json).toEqual(before)
  })

  it("a bad server-side apply is a 4xx with kube's message and changes nothing", async () => {
    const applyTo = (name: string, body: unknown, params = "fieldManager=m") =>
      call("PATCH", `${queries}/${name}?${params}`, { body: JSON.stringify(body), type: "application/apply-patch+yaml" })
    const createdByApply = await applyTo("applied", query("applied"))
    expect(createdByApply.status, createdByApply.text).toBe(201)
    const before = (await call("GET", `${queries}/applied`)).json
    const version = expectStatus(await applyTo("applied", { ...query("applied"), apiVersion: "ark.mckinsey.com/v1" }), 400, "BadRequest")
    expect(version.message).toBe("Incorrect version specified in apply patch. Specified patch version: ark.mckinsey.com/v1, expected: ark.mckinsey.com/v1alpha1")
    const managed = expectStatus(await applyTo("applied", { ...query("applied"), metadata: { name: "applied", managedFields: [] } }), 400, "BadRequest")
    expect(managed.message).toBe("metadata.managedFields must be nil")
    const renamed = expectStatus(await applyTo("applied", query("other-name")), 400, "BadRequest")
    expect(renamed.message).toBe("the name of the object (other-name) does not match the name on the URL (applied)")
    const duplicate = { ...query("applied"), status: { conditions: [{ type: "A" }, { type: "A" }] } }
    expectStatus(await applyTo("applied", duplicate), 400, "BadRequest")
    const strict = expectStatus(await applyTo("applied", { ...query("applied"), spec: { ...query("applied").spec, bogus: 1 } }, "fieldManager=m&fieldValidation=Strict"), 400, "BadRequest")
    expect(strict.message).toContain('unknown field "spec.bogus"')
    expectStatus(await applyTo("applied", { ...query("applied"), spec: { ...query("applied").spec, timeout: 5 } }), 422, "Invalid")
    expectStatus(await applyTo("applied", query("applied"), "fieldManager=m&force=maybe"), 400, "BadRequest")
    expectStatus(await applyTo("missing", query("missing"), "fieldManager=m").then(() => call("PATCH", `${queries}/absent/status?fieldManager=m`, {
      body: JSON.stringify(query("absent")),
      type: "application/apply-patch+yaml"
    })), 404, "NotFound")
    const long = expectStatus(await call("POST", `${queries}?fieldManager=${"x".repeat(129)}`, { body: query("long") }), 422, "Invalid")
    expect(long.message).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes')
    expect((await call("GET", `${queries}/applied`)).json).toEqual(before)
  })
})

describe("writes", () => {
  it("records each write's manager in managedFields: fieldManager, else the User-Agent's product", async () => {
    const created = await call("POST", queries, { body: query("managed"), headers: { "user-agent": "my-operator/1.2.3 (linux/amd64)" } })
    expect(created.json.metadata.managedFields).toEqual([{
      manager: "my-operator",
      operation: "Update",
      apiVersion: "ark.mckinsey.com/v1alpha1",
      time: created.json.metadata.creationTimestamp,
      fieldsType: "FieldsV1",
      // spec.ttl is Ark's admission default, owned like the schema's defaults by the writer.
      fieldsV1: { "f:spec": { ".": {}, "f:input": {}, "f:target": { ".": {}, "f:name": {}, "f:type": {} }, "f:timeout": {}, "f:ttl": {}, "f:type": {} } }
    }])
    const patched = await call("PATCH", `${queries}/managed/status?fieldManager=engine`, {
      body: { status: { phase: "running" } },
      type: "application/merge-patch+json"
    })
    expect(patched.json.metadata.managedFields.map((e: { manager: string; subresource?: string }) => `${e.manager}/${e.subresource ?? ""}`).sort())
      .toEqual(["engine/status", "my-operator/"])
    const bad = expectStatus(await call("POST", `${queries}?fieldManager=a%01b`, { body: query("bad-manager") }), 422, "Invalid")
    expect(bad.message).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\x01b": invalid character U+0001 (at position 1)')
  })

  it("concurrent patches and applies without a resourceVersion all succeed, each on the newest version", async () => {
    const created = query("contended")
    expect((await call("POST", queries, { body: { ...created, metadata: { ...created.metadata, labels: { base: "y" } } } })).status).toBe(201)
    const writes = Array.from({ length: 24 }, (_, i) => {
      const label = { [`w${i}`]: "x" }
      const kind = i % 3
      return kind === 0
        ? call("PATCH", `${queries}/contended`, { body: { metadata: { labels: label } }, type: "application/merge-patch+json" })
        : kind === 1
        ? call("PATCH", `${queries}/contended`, { body: [{ op: "add", path: `/metadata/labels/w${i}`, value: "x" }], type: "application/json-patch+json" })
        : call("PATCH", `${queries}/contended?fieldManager=m${i}`, {
          body: { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Query", metadata: { name: "contended", labels: label } },
          type: "application/apply-patch+yaml"
        })
    })
    const answers = await Promise.all(writes)
    expect(answers.map((a) => a.status)).toEqual(Array(24).fill(200))
    const now = await call("GET", `${queries}/contended`)
    expect(Object.keys(now.json.metadata.labels).sort()).toEqual(["base", ...Array.from({ length: 24 }, (_, i) => `w${i}`)].sort())
  })

  it("fieldValidation: Strict rejects unknown fields, Warn drops them with a Warning header, Ignore drops them", async () => {
    const withUnknown = (name: string) => query(name, { spec: { input: "x", target: { type: "agent", name: "a" }, colour: "blue" } })
    const strict = expectStatus(await call("POST", `${queries}?fieldValidation=Strict`, { body: withUnknown("strict") }), 400, "BadRequest")
    expect(strict.message).toContain('strict decoding error: unknown field "spec.colour"')
    const warn = await call("POST", `${queries}?fieldValidation=Warn`, { body: withUnknown("warn") })
    expect(warn.status).toBe(201)
    expect(warn.headers.get("warning")).toBe('299 - "unknown field \\"spec.colour\\""')
    expect(warn.json.spec.colour).toBeUndefined()
    const ignore = await call("POST", `${queries}?fieldValidation=Ignore`, { body: withUnknown("ignore") })
    expect(ignore.status).toBe(201)
    expect(ignore.headers.get("warning")).toBeNull()
    expectStatus(await call("POST", `${queries}?fieldValidation=Loose`, { body: withUnknown("loose") }), 400, "BadRequest")
  })

  it("dryRun=All never persists; create replaces the client's status; /status changes only status", async () => {
    const dry = await call("POST", `${queries}?dryRun=All`, { body: query("dry") })
    expect(dry.status).toBe(201)
    expectStatus(await call("GET", `${queries}/dry`), 404, "NotFound")
    const created = await call("POST", queries, { body: query("with-status", { status: { phase: "done" } }) })
    // The client's status is dropped: a Query starts pending, whatever it claims.
    expect(created.json.status).toEqual({ phase: "pending" })
    const obj = created.json
    const st = await call("PUT", `${queries}/with-status/status`, { body: { ...obj, spec: { ...obj.spec, input: "ignored" }, status: { phase: "running" } } })
    expect(st.status).toBe(200)
    expect(st.json.status.phase).toBe("running")
    expect(st.json.spec.input).toBe(obj.spec.input)
    expect(st.json.metadata.generation).toBe(1)
    const merged = await call("PATCH", `${queries}/with-status/status`, { body: { status: { phase: "done" } }, type: "application/merge-patch+json" })
    expect(merged.json.status.phase).toBe("done")
    const dryDelete = await call("DELETE", `${queries}/with-status?dryRun=All`)
    expect(dryDelete.status).toBe(200)
    expect((await call("GET", `${queries}/with-status`)).status).toBe(200)
  })

  it("generateName, delete preconditions and deletecollection with a selector", async () => {
    const gen = await call("POST", queries, { body: { ...query(""), metadata: { generateName: "gen-" } } })
    expect(gen.status).toBe(201)
    expect(gen.json.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/)
    const pre = expectStatus(await call("DELETE", `${queries}/${gen.json.metadata.name}`, { body: { preconditions: { uid: "someone-else" } } }), 409, "Conflict")
    expect(pre.message).toContain("Precondition failed: UID in precondition")
    const ok = await call("DELETE", `${queries}/${gen.json.metadata.name}`, { body: { preconditions: { uid: gen.json.metadata.uid } } })
    expect(ok.status).toBe(200)
    for (const n of ["sweep-a", "sweep-b", "keep"]) {
      await call("POST", `${base}/namespaces/sweep/queries`, { body: query(n, { metadata: { name: n, labels: { sweep: n === "keep" ? "no" : "yes" } } }) })
    }
    const swept = await call("DELETE", `${base}/namespaces/sweep/queries?labelSelector=sweep%3Dyes`)
    expect(swept.status).toBe(200)
    expect(swept.json.items.map((i: { metadata: { name: string } }) => i.metadata.name).sort()).toEqual(["sweep-a", "sweep-b"])
    const left = await call("GET", `${base}/namespaces/sweep/queries`)
    expect(left.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["keep"])
  })

  it("cluster-scoped kinds live outside namespaces", async () => {
    const cfg = { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "ArkConfig", metadata: { name: "default" }, spec: {} }
    expect((await call("POST", `${base}/arkconfigs`, { body: cfg })).status).toBe(201)
    expect((await call("GET", `${base}/arkconfigs/default`)).json.metadata.namespace).toBeUndefined()
    expectStatus(await call("GET", `${base}/namespaces/default/arkconfigs/default`), 404, "NotFound")
  })
})

describe("HTTPS standalone", () => {
  let secure: RunningServer
  beforeAll(async () => {
    secure = await startServer()
  })
  afterAll(() => secure?.stop())

  const get = (path: string, withCert: boolean) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const pki = join(secure.dataDir, "pki")
      const url = new URL(path, secure.url)
      const req = httpsRequest(url, {
        ca: readFileSync(join(pki, "ca.crt")),
        ...(withCert ? { cert: readFileSync(join(pki, "admin.crt")), key: readFileSync(join(pki, "admin.key")) } : {})
      }, (res) => {
        let body = ""
        res.on("data", (c) => (body += c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on("error", reject)
      req.end()
    })

  it("requires the admin client certificate except for health checks", async () => {
    const anonymous = await get(`${queries}`, false)
    expect(anonymous.status).toBe(401)
    expect(JSON.parse(anonymous.body)).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 })
    expect((await get("/livez", false)).status).toBe(200)
    expect((await get(`${queries}`, true)).status).toBe(200)
  })
})
