import { describe, expect, it } from "vitest"
import { defaultAdmission, jsonPatchBetween, validateAdmission } from "../../src/domain/admission.ts"
import type { KubeObject } from "../../src/domain/object.ts"
import { applyJsonPatch } from "../../src/domain/patch.ts"
import { findKind } from "../../src/domain/registry.ts"

const obj = (kind: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: `ark.mckinsey.com/${findKind(kind)!.version}`,
  kind,
  metadata: { name: "x", namespace: "default", ...metadata },
  spec
})
const check = (kind: string, spec: Record<string, unknown>, metadata?: Record<string, unknown>) =>
  validateAdmission(findKind(kind)!, obj(kind, spec, metadata))
const fields = (kind: string, spec: Record<string, unknown>) => check(kind, spec).causes.map((c) => `${c.reason} ${c.field}`)

describe("Query admission", () => {
  it("needs exactly one of target or selector", () => {
    expect(fields("Query", { input: "hi" })).toEqual(["FieldValueRequired spec"])
    expect(fields("Query", { input: "hi", target: { type: "agent", name: "a" }, selector: { matchLabels: { a: "b" } } }))
      .toEqual(["FieldValueForbidden spec.selector"])
    expect(fields("Query", { input: "hi", selector: { matchLabels: { a: "b" } } })).toEqual([])
  })

  it("checks reference names, durations and selectors", () => {
    expect(fields("Query", {
      input: "hi",
      target: { type: "agent", name: "Not_A_Name" },
      timeout: "soon",
      ttl: "-1h",
      memory: { name: "ok" }
    })).toEqual(["FieldValueInvalid spec.target.name", "FieldValueInvalid spec.timeout", "FieldValueInvalid spec.ttl"])
    expect(fields("Query", { input: "hi", target: { type: "agent", name: "a" }, timeout: "0s" })).toEqual(["FieldValueInvalid spec.timeout"])
    expect(fields("Query", { input: "hi", selector: { matchExpressions: [{ key: "k", operator: "Near" }, { key: "k", operator: "In" }] } }))
      .toEqual(["FieldValueNotSupported spec.selector.matchExpressions[0].operator", "FieldValueRequired spec.selector.matchExpressions[1].values"])
  })

  it("checks parameters: value xor valueFrom, one source", () => {
    expect(fields("Query", {
      input: "hi",
      target: { type: "agent", name: "a" },
      parameters: [
        { name: "a", value: "1" },
        { name: "b" },
        { name: "c", value: "1", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
        { name: "d", valueFrom: { secretKeyRef: { name: "s", key: "k" }, configMapKeyRef: { name: "c", key: "k" } } }
      ]
    })).toEqual(["FieldValueRequired spec.parameters[1]", "FieldValueForbidden spec.parameters[2]", "FieldValueInvalid spec.parameters[3].valueFrom"])
  })

  it("defaults the TTL, and only when it is missing", () => {
    const info = findKind("Query")!
    expect(defaultAdmission(info, obj("Query", { input: "hi" })).spec).toEqual({ input: "hi", ttl: "720h" })
    const kept = obj("Query", { input: "hi", ttl: "1h" })
    expect(defaultAdmission(info, kept)).toBe(kept)
  })
})

describe("Team admission", () => {
  it("checks members and strategies as upstream", () => {
    expect(fields("Team", { members: [{ name: "a", type: "robot" }, { name: "x", type: "team" }], strategy: "sequential" }))
      .toEqual(["FieldValueNotSupported spec.members[0].type", "FieldValueInvalid spec.members[1].name"])
    expect(fields("Team", { members: [], strategy: "chaos" })).toEqual(["FieldValueNotSupported spec.strategy"])
    expect(fields("Team", { members: [], strategy: "sequential", loops: true })).toEqual(["FieldValueRequired spec.maxTurns"])
    expect(fields("Team", { members: [{ name: "a", type: "agent" }], strategy: "selector", loops: true, graph: { edges: [{ from: "a", to: "b" }] } }))
      .toEqual(["FieldValueForbidden spec.loops", "FieldValueRequired spec.selector.agent", "FieldValueRequired spec.maxTurns", "FieldValueInvalid spec.graph.edges[0].to"])
    expect(check("Team", { members: [], strategy: "sequential", maxTurns: 3 }).warnings).toEqual(["team 'x': spec.maxTurns has no effect unless spec.loops is true"])
  })

  it("migrates round-robin to sequential with a migration warning that validation reports", () => {
    const info = findKind("Team")!
    const migrated = defaultAdmission(info, obj("Team", { members: [], strategy: "round-robin", maxTurns: 4 }))
    expect(migrated.spec).toEqual({ members: [], strategy: "sequential", loops: true, maxTurns: 4 })
    expect(validateAdmission(info, migrated)).toEqual({
      causes: [],
      warnings: ["strategy 'round-robin' is deprecated - migrated to 'sequential' with loops: true. Will be removed in v1.0.0"]
    })
  })
})

describe("Agent and Model admission", () => {
  it("defaults an Agent's model unless it is an A2A agent, and warns about custom tools", () => {
    const info = findKind("Agent")!
    expect(defaultAdmission(info, obj("Agent", { prompt: "p" })).spec).toEqual({ prompt: "p", modelRef: { name: "default" } })
    const a2a = obj("Agent", {}, { annotations: { "ark.mckinsey.com/a2a-server-name": "s" } })
    expect(defaultAdmission(info, a2a)).toBe(a2a)
    const custom = check("Agent", { tools: [{ type: "custom", name: "t" }, { type: "built-in", name: "rm-rf" }, { type: "mcp" }] })
    expect(custom.causes.map((c) => c.field)).toEqual(["spec.tools[1].name", "spec.tools[2].name"])
    expect(custom.warnings).toEqual(["agent 'x' tool 't': type 'custom' is deprecated, use the tool's actual type (mcp, http, agent, team, builtin) instead"])
  })

  it("moves a deprecated provider type to spec.provider and needs the provider's config", () => {
    const info = findKind("Model")!
    const migrated = defaultAdmission(info, obj("Model", { type: "azure", model: { value: "gpt" }, config: {} }))
    expect(migrated.spec).toMatchObject({ provider: "azure", type: "completions" })
    expect(validateAdmission(info, migrated).causes.map((c) => c.field)).toEqual(["spec.config.azure"])
  })
})

describe("jsonPatchBetween", () => {
  it("is the patch that turns one object into the other", () => {
    const before = { metadata: { name: "a", "x/y": "1" }, spec: { a: 1, gone: true, list: [1] } }
    const after = { metadata: { name: "a", "x/y": "2", annotations: { k: "v" } }, spec: { a: 1, list: [1, 2] } }
    const patch = jsonPatchBetween(before, after)
    expect(patch).toEqual([
      { op: "replace", path: "/metadata/x~1y", value: "2" },
      { op: "add", path: "/metadata/annotations", value: { k: "v" } },
      { op: "remove", path: "/spec/gone" },
      { op: "replace", path: "/spec/list", value: [1, 2] }
    ])
    const applied = applyJsonPatch(before as unknown as KubeObject, patch)
    expect(applied._tag === "Success" ? applied.success : applied).toEqual(after)
    expect(jsonPatchBetween(after, after)).toEqual([])
  })
})
