import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { FieldManagement } from "../../src/domain/apply.ts"
import { apply, conflictCauses, conflictMessage, fieldSetOf, lastAppliedAnnotation, merge, trackUpdate } from "../../src/domain/apply.ts"
import { comparePathElements, fromFieldsV1, pathString, toFieldsV1 } from "../../src/domain/fieldpath.ts"
import { fieldManagementSchema } from "../../src/domain/kinds.ts"
import type { Structural } from "../../src/domain/kinds/structural.ts"
import type { Managed } from "../../src/domain/managedfields.ts"
import { decodeManagedFields, encodeManagedFields, managerIdentifier } from "../../src/domain/managedfields.ts"
import type { KubeObject } from "../../src/domain/object.ts"
import { findKind } from "../../src/domain/registry.ts"

const str: Structural = { type: "string" }

/** A ConfigMap-like kind, as in the Kubernetes "Server-Side Apply" documentation. */
const configMapSchema: Structural = {
  type: "object",
  properties: {
    apiVersion: str,
    kind: str,
    metadata: fieldManagementSchema(findKind("Agent")!).properties!["metadata"]!,
    data: { type: "object", additionalProperties: str }
  }
}

const at = (schema: Structural, apiVersion: string, subresource: "main" | "status" = "main", now = "2010-10-10T00:00:00Z"): FieldManagement =>
  ({ schema, apiVersion, subresource, now })

const ok = <A, E>(r: Result.Result<A, E>): A => {
  if (Result.isFailure(r)) throw new Error(`unexpected failure: ${JSON.stringify(r.failure)}`)
  return r.success
}

const live = (obj: KubeObject, managed: Managed): KubeObject => ({
  ...obj,
  metadata: { uid: "7e0c", resourceVersion: "1", ...obj.metadata, managedFields: encodeManagedFields(managed) }
})

describe("FieldsV1 and managedFields as kube writes them", () => {
  it("records the documentation's ConfigMap example: an Apply entry owning the applied label and data key", () => {
    const cm = at(configMapSchema, "v1")
    const config: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "test-cm", namespace: "default", labels: { "test-label": "test" } },
      data: { key: "some value" }
    }
    const created = ok(apply(cm, { apiVersion: "v1", kind: "ConfigMap", metadata: {} }, config, new Map(), "kubectl", false))
    expect(created.object).toEqual(config)
    expect(encodeManagedFields(created.managed)).toEqual([{
      manager: "kubectl",
      operation: "Apply",
      apiVersion: "v1",
      time: "2010-10-10T00:00:00Z",
      fieldsType: "FieldsV1",
      fieldsV1: { "f:data": { "f:key": {} }, "f:metadata": { "f:labels": { "f:test-label": {} } } }
    }])
  })

  it("marks maps a create added with '.', as kube's Update entries show them", () => {
    const agents = at(fieldManagementSchema(findKind("Agent")!), "ark.mckinsey.com/v1alpha1")
    const next: KubeObject = {
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Agent",
      metadata: { name: "a", namespace: "default", labels: { team: "weather" } },
      spec: { prompt: "p", modelRef: { name: "default" } }
    }
    const managed = ok(trackUpdate(agents, undefined, next, new Map(), "kubectl-create"))
    expect(encodeManagedFields(managed)).toEqual([{
      manager: "kubectl-create",
      operation: "Update",
      apiVersion: "ark.mckinsey.com/v1alpha1",
      time: "2010-10-10T00:00:00Z",
      fieldsType: "FieldsV1",
      fieldsV1: {
        "f:metadata": { "f:labels": { ".": {}, "f:team": {} } },
        "f:spec": { ".": {}, "f:modelRef": { ".": {}, "f:name": {} }, "f:prompt": {} }
      }
    }])
  })

  it("reads back what it writes, orders path elements as structured-merge-diff and prints paths as kube", () => {
    const doc = {
      "f:status": {
        "f:conditions": {
          ".": {},
          'k:{"type":"Ready"}': { ".": {}, "f:status": {}, "f:type": {} }
        }
      },
      "f:metadata": { "f:finalizers": { 'v:"b"': {}, 'v:"a"': {} } }
    }
    const set = ok(fromFieldsV1(doc))
    expect(JSON.stringify(toFieldsV1(set))).toBe(
      '{"f:metadata":{"f:finalizers":{"v:\\"a\\"":{},"v:\\"b\\"":{}}},' +
        '"f:status":{"f:conditions":{".":{},"k:{\\"type\\":\\"Ready\\"}":{".":{},"f:status":{},"f:type":{}}}}}'
    )
    expect(["i:1", 'v:"x"', 'k:{"a":1}', "f:z", "f:a", "i:0"].sort(comparePathElements)).toEqual(["f:a", "f:z", 'k:{"a":1}', 'v:"x"', "i:0", "i:1"])
    expect(pathString(["f:status", "f:conditions", 'k:{"type":"Ready"}', "f:status"])).toBe('.status.conditions[type="Ready"].status')
    expect(pathString(["f:metadata", "f:finalizers", 'v:"a"'])).toBe('.metadata.finalizers[="a"]')
    expect(Result.isFailure(fromFieldsV1({ "x:bad": {} }))).toBe(true)
    expect(Result.isFailure(decodeManagedFields([{ manager: "m", operation: "Delete", apiVersion: "v1", fieldsType: "FieldsV1" }]))).toBe(true)
  })

  it("sorts entries as kube: appliers first, then by time and manager", () => {
    const set = ok(fromFieldsV1({ "f:data": {} }))
    const managed: Managed = new Map([
      [managerIdentifier({ manager: "b", operation: "Update", apiVersion: "v1" }), { set, apiVersion: "v1", applied: false, time: "2020-01-01T00:00:01Z" }],
      [managerIdentifier({ manager: "a", operation: "Update", apiVersion: "v1" }), { set, apiVersion: "v1", applied: false, time: "2020-01-01T00:00:02Z" }],
      [managerIdentifier({ manager: "z", operation: "Apply", apiVersion: "v1" }), { set, apiVersion: "v1", applied: true, time: "2020-01-01T00:00:03Z" }]
    ])
    expect(encodeManagedFields(managed).map((e) => e.manager)).toEqual(["z", "b", "a"])
  })
})

/** A schema with each list type, for merging. */
const lists: Structural = {
  type: "object",
  properties: {
    apiVersion: str,
    kind: str,
    metadata: configMapSchema.properties!["metadata"]!,
    setStr: { type: "array", items: str, "x-kubernetes-list-type": "set" },
    atomic: { type: "array", items: str },
    byName: {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      items: { type: "object", properties: { name: str, value: str, other: str } }
    }
  }
}

describe("merging by list type", () => {
  it.each<[ReadonlyArray<string>, ReadonlyArray<string>, ReadonlyArray<string>]>([
    [["a", "b", "c"], ["a", "b"], ["a", "b", "c"]],
    [["a", "b"], ["b", "a"], ["b", "a"]],
    [["a", "b", "c"], ["c", "d", "e", "f"], ["a", "b", "c", "d", "e", "f"]],
    [["a", "b", "c", "g", "f"], ["c", "d", "e", "f"], ["a", "b", "c", "g", "d", "e", "f"]],
    [["c", "d", "e", "f"], ["a", "c", "e"], ["a", "c", "d", "e", "f"]],
    [["a", "b", "c", "d"], ["d", "e", "f", "a"], ["b", "c", "d", "e", "f", "a"]]
  ])("a set %j merged with %j is %j (structured-merge-diff's order)", (l, r, expected) => {
    expect(ok(merge(lists, { setStr: l }, { setStr: r }))).toEqual({ setStr: expected })
  })

  it("replaces atomic lists, merges list-map items by key and keeps unapplied items in place", () => {
    const liveValue = {
      atomic: ["x", "y"],
      byName: [{ name: "a", value: "1", other: "kept" }, { name: "b", value: "2" }]
    }
    const config = { atomic: ["z"], byName: [{ name: "b", value: "3" }, { name: "c", value: "4" }] }
    expect(ok(merge(lists, liveValue, config))).toEqual({
      atomic: ["z"],
      byName: [{ name: "a", value: "1", other: "kept" }, { name: "b", value: "3" }, { name: "c", value: "4" }]
    })
    expect(ok(fieldSetOf(lists, config)).children.get("f:byName")!.members).toEqual(new Set(['k:{"name":"b"}', 'k:{"name":"c"}']))
    expect(Result.isFailure(fieldSetOf(lists, { byName: [{ value: "no key" }] }))).toBe(true)
    expect(Result.isFailure(fieldSetOf(lists, { byName: [{ name: "a" }, { name: "a" }] }, { strict: true }))).toBe(true)
  })
})

const v1 = "example.com/v1"
const fm = at(lists, v1)
const empty: KubeObject = { apiVersion: v1, kind: "Thing", metadata: {} }
const thing = (fields: Record<string, unknown>): KubeObject => ({ apiVersion: v1, kind: "Thing", metadata: { name: "t" }, ...fields })

/** Applies in turn, carrying the object and its ownership along. */
const applies = (steps: ReadonlyArray<[string, Record<string, unknown>, boolean?]>) => {
  let state = { object: empty, managed: new Map() as Managed }
  for (const [manager, fields, force] of steps) {
    state = ok(apply(fm, live(state.object, state.managed), thing(fields), state.managed, manager, force ?? false))
  }
  return state
}

describe("apply: ownership, conflicts, removal", () => {
  it("shares a field applied with the same value, and conflicts on a different one with kube's message", () => {
    const { object, managed } = applies([["alice", { byName: [{ name: "a", value: "1" }] }], ["bob", { byName: [{ name: "a", value: "1" }] }]])
    const result = apply(fm, live(object, managed), thing({ byName: [{ name: "a", value: "2" }], setStr: ["x"] }), managed, "carol", false)
    expect(Result.isFailure(result) && result.failure._tag === "Conflicts").toBe(true)
    const conflicts = Result.isFailure(result) && result.failure._tag === "Conflicts" ? result.failure.conflicts : []
    expect(conflictMessage(conflicts)).toBe(
      'Apply failed with 2 conflicts: conflicts with "alice":\n- .byName[name="a"].value\nconflicts with "bob":\n- .byName[name="a"].value'
    )
    expect(conflictMessage(conflicts.slice(0, 1))).toBe('Apply failed with 1 conflict: conflict with "alice": .byName[name="a"].value')
    expect(conflictCauses(conflicts.slice(0, 1))).toEqual([{ reason: "FieldManagerConflict", message: 'conflict with "alice"', field: '.byName[name="a"].value' }])
  })

  it("force takes the field over; the previous owners keep the rest of what they applied", () => {
    const { object, managed } = applies([
      ["alice", { byName: [{ name: "a", value: "1", other: "o" }] }],
      ["carol", { byName: [{ name: "a", value: "2" }] }, true]
    ])
    expect(object["byName"]).toEqual([{ name: "a", value: "2", other: "o" }])
    const fields = Object.fromEntries(encodeManagedFields(managed).map((e) => [e.manager, e.fieldsV1]))
    expect(fields["alice"]).toEqual({ "f:byName": { 'k:{"name":"a"}': { ".": {}, "f:name": {}, "f:other": {} } } })
    expect(fields["carol"]).toEqual({ "f:byName": { 'k:{"name":"a"}': { ".": {}, "f:name": {}, "f:value": {} } } })
  })

  it("removes what a manager stops applying unless another manager owns it", () => {
    const both = applies([
      ["alice", { setStr: ["a", "b"], byName: [{ name: "x", value: "1" }, { name: "y", value: "2" }] }],
      ["bob", { setStr: ["b"] }],
      ["alice", { setStr: ["a"], byName: [{ name: "x", value: "1" }] }]
    ])
    expect(both.object["setStr"]).toEqual(["a", "b"])
    expect(both.object["byName"]).toEqual([{ name: "x", value: "1" }])
    const after = applies([["alice", { setStr: ["a"], atomic: ["q"] }], ["alice", { setStr: ["a"] }]])
    expect(after.object["atomic"]).toBeUndefined()
  })

  it("lets an update take ownership of what it changes, without conflict", () => {
    const { object, managed } = applies([["alice", { atomic: ["x"], setStr: ["s"] }]])
    const next = { ...live(object, managed), atomic: ["y"] }
    const tracked = encodeManagedFields(ok(trackUpdate(fm, live(object, managed), next, managed, "kubectl-edit")))
    expect(tracked.map((e) => [e.manager, e.operation, e.fieldsV1])).toEqual([
      ["alice", "Apply", { "f:setStr": { 'v:"s"': {} } }],
      ["kubectl-edit", "Update", { "f:atomic": {} }]
    ])
  })

  it("merges the oldest of more than 10 Update entries into ancient-changes, as kube caps them", () => {
    let state = { object: thing({}), managed: new Map() as Managed }
    for (let i = 0; i < 12; i++) {
      const next = { ...state.object, setStr: [...((state.object["setStr"] as Array<string>) ?? []), `s${i}`] }
      const managed = ok(trackUpdate(at(lists, v1, "main", `2020-01-01T00:00:${String(10 + i)}Z`), i === 0 ? undefined : live(state.object, state.managed), next, state.managed, `writer-${i}`))
      state = { object: next, managed }
    }
    const entries = encodeManagedFields(state.managed)
    expect(entries).toHaveLength(10)
    expect(entries.map((e) => e.manager)).toEqual(["ancient-changes", ...Array.from({ length: 9 }, (_, i) => `writer-${i + 3}`)])
    expect(entries[0]!.fieldsV1).toEqual({ "f:setStr": { ".": {}, 'v:"s0"': {}, 'v:"s1"': {}, 'v:"s2"': {} } })
  })

  it("gives an untracked object's fields to before-first-apply, then conflicts with it", () => {
    const untracked: KubeObject = { ...thing({ atomic: ["old"] }), metadata: { name: "t", uid: "u1" } }
    const result = apply(fm, untracked, thing({ atomic: ["new"] }), new Map(), "alice", false)
    expect(Result.isFailure(result) && result.failure._tag === "Conflicts" ? conflictMessage(result.failure.conflicts) : "").toBe(
      `Apply failed with 1 conflict: conflict with "before-first-apply" using ${v1}: .atomic`
    )
  })

  it("tracks /status writes under their own subresource, and only status", () => {
    const status = at(lists, v1, "status")
    const managed = ok(trackUpdate(status, live(thing({ atomic: ["x"] }), new Map([[managerIdentifier({ manager: "m", operation: "Update", apiVersion: v1 }), { set: ok(fromFieldsV1({ "f:atomic": {} })), apiVersion: v1, applied: false }]])), { ...thing({ atomic: ["y"] }), status: { phase: "done" } }, new Map([[managerIdentifier({ manager: "m", operation: "Update", apiVersion: v1 }), { set: ok(fromFieldsV1({ "f:atomic": {} })), apiVersion: v1, applied: false }]]), "ctl"))
    expect(encodeManagedFields(managed).map((e) => [e.manager, e.subresource, e.fieldsV1])).toEqual([
      ["m", undefined, { "f:atomic": {} }],
      ["ctl", "status", { "f:status": { ".": {}, "f:phase": {} } }]
    ])
  })
})

describe("kubectl's move from client-side to server-side apply", () => {
  it("lets `kubectl` take over fields the last-applied configuration still describes, and keeps the annotation current", () => {
    const csa = managerIdentifier({ manager: "kubectl-client-side-apply", operation: "Update", apiVersion: v1 })
    const lastApplied = JSON.stringify(thing({ atomic: ["x"], setStr: ["s"] }))
    const object = { ...thing({ atomic: ["x"], setStr: ["s"] }), metadata: { name: "t", annotations: { [lastAppliedAnnotation]: lastApplied } } }
    const managed = ok(trackUpdate(fm, undefined, object, new Map(), "kubectl-client-side-apply"))
    expect(managed.has(csa)).toBe(true)
    const config = thing({ atomic: ["changed"] })
    expect(Result.isFailure(apply(fm, live(object, managed), config, managed, "someone-else", false))).toBe(true)
    const upgraded = ok(apply(fm, live(object, managed), config, managed, "kubectl", false))
    expect(upgraded.object["atomic"]).toEqual(["changed"])
    expect(upgraded.object.metadata.annotations?.[lastAppliedAnnotation]).toBe(`{"apiVersion":"${v1}","atomic":["changed"],"kind":"Thing","metadata":{"name":"t"}}\n`)
    // A field changed since the last client-side apply is still a conflict.
    const drifted = { ...object, atomic: ["edited"] }
    const stillConflicting = apply(fm, live(drifted, managed), config, managed, "kubectl", false)
    expect(Result.isFailure(stillConflicting)).toBe(true)
  })
})
