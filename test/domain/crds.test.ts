/**
 * `ark crds`: one CustomResourceDefinition per registered kind, structural schemas that
 * kube-apiserver accepts, and YAML that kubectl reads without a server.
 */
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import type { CustomResourceDefinition } from "../../src/domain/crds.ts"
import { crdsYaml, customResourceDefinition } from "../../src/domain/crds.ts"
import { resources } from "../../src/domain/registry.ts"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"

const root = join(import.meta.dirname, "..", "..")

/** Schema keywords a CRD's structural schema may not use (or that we never emit and kube restricts). */
const forbidden = ["$ref", "definitions", "id", "dependencies", "patternProperties", "additionalItems", "allOf", "anyOf", "oneOf", "not"]

/**
 * kube's structural-schema rules that a generated schema could break: every node has a type,
 * unless it preserves unknown fields or is int-or-string; properties and additionalProperties
 * never together; arrays have typed items; required fields are declared; list-map keys only on
 * map lists; enums match their type; the root's metadata is a plain object.
 */
const violations = (s: any, path: string, out: Array<string> = []): Array<string> => {
  if (s === null || typeof s !== "object" || Array.isArray(s)) {
    out.push(`${path}: not a schema`)
    return out
  }
  const open = s["x-kubernetes-preserve-unknown-fields"] === true || s["x-kubernetes-int-or-string"] === true
  if (s.type === undefined && !open) out.push(`${path}: no type`)
  if (s.type !== undefined && !["object", "array", "string", "integer", "number", "boolean"].includes(s.type)) {
    out.push(`${path}: unknown type ${s.type}`)
  }
  for (const key of forbidden) if (key in s) out.push(`${path}: uses ${key}`)
  if (s.properties !== undefined && s.additionalProperties !== undefined) out.push(`${path}: properties with additionalProperties`)
  if (s.additionalProperties === false || s.additionalProperties === true) out.push(`${path}: boolean additionalProperties`)
  if (s.type === "array" && s.items === undefined) out.push(`${path}: array without items`)
  if (s.type !== "object" && (s.properties !== undefined || s.additionalProperties !== undefined)) {
    out.push(`${path}: properties on a ${s.type}`)
  }
  for (const r of s.required ?? []) if (s.properties?.[r] === undefined) out.push(`${path}: required ${r} is not declared`)
  if (s["x-kubernetes-list-map-keys"] !== undefined && s["x-kubernetes-list-type"] !== "map") {
    out.push(`${path}: list-map-keys without list-type map`)
  }
  if (s.enum !== undefined && !s.enum.every((v: unknown) => typeof v === "string" && s.type === "string")) {
    out.push(`${path}: enum does not match type ${s.type}`)
  }
  for (const [k, child] of Object.entries(s.properties ?? {})) violations(child, `${path}.${k}`, out)
  if (s.items !== undefined) violations(s.items, `${path}[]`, out)
  if (s.additionalProperties !== undefined && typeof s.additionalProperties === "object") {
    violations(s.additionalProperties, `${path}{}`, out)
  }
  return out
}

/** The JSON values of a stream of concatenated documents (kubectl's `-o json` for local objects). */
const jsonStream = (text: string): Array<unknown> => {
  const out: Array<unknown> = []
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === "\\") i++
      else if (c === "\"") inString = false
    } else if (c === "\"") inString = true
    else if (c === "{") {
      if (depth++ === 0) start = i
    } else if (c === "}" && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)))
  }
  return out
}

const parsed = (): Array<CustomResourceDefinition> =>
  parseAllDocuments(crdsYaml()).map((doc) => {
    expect(doc.errors).toEqual([])
    return doc.toJS() as CustomResourceDefinition
  })

describe("ark crds", () => {
  it("the structural check catches untyped nodes, mixed properties and undeclared required fields", () => {
    expect(violations({ type: "object", properties: { a: {} } }, "x")).toEqual(["x.a: no type"])
    expect(violations({ type: "object", properties: { a: { type: "string" } }, additionalProperties: { type: "string" } }, "x"))
      .toEqual(["x: properties with additionalProperties"])
    expect(violations({ type: "object", required: ["b"] }, "x")).toEqual(["x: required b is not declared"])
    expect(violations({ "x-kubernetes-preserve-unknown-fields": true }, "x")).toEqual([])
  })

  it("prints one CustomResourceDefinition per kind, as YAML documents equal to the generated objects", () => {
    const crds = parsed()
    expect(crds.map((c) => c.metadata.name)).toEqual(resources.map((r) => `${r.plural}.${r.group}`))
    crds.forEach((crd, i) => expect(crd).toEqual(JSON.parse(JSON.stringify(customResourceDefinition(resources[i]!)))))
  })

  it("every CRD has a structural schema, the status subresource, printer columns and one stored version", () => {
    for (const [i, crd] of parsed().entries()) {
      const info = resources[i]!
      expect(crd.apiVersion).toBe("apiextensions.k8s.io/v1")
      expect(crd.spec.group).toBe("ark.mckinsey.com")
      expect(crd.spec.scope).toBe(info.namespaced ? "Namespaced" : "Cluster")
      expect(crd.spec.names).toMatchObject({ kind: info.kind, listKind: info.listKind, plural: info.plural, singular: info.singular })
      expect(crd.spec.names.shortNames ?? []).toEqual(info.shortNames)
      expect(crd.spec.names.categories ?? []).toEqual(info.categories)
      expect(crd.spec.versions.filter((v) => v.storage).length).toBe(1)
      const version = crd.spec.versions[0]!
      expect(version).toMatchObject({ name: info.version, served: true, storage: true, subresources: { status: {} } })
      expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual(info.printerColumns.map((c) => c.name))
      for (const column of version.additionalPrinterColumns) {
        expect(column.jsonPath.startsWith(".")).toBe(true)
        expect(["string", "integer", "number", "boolean", "date"]).toContain(column.type)
      }
      const schema = version.schema.openAPIV3Schema as any
      expect(violations(schema, info.kind)).toEqual([])
      expect(schema.type).toBe("object")
      expect(schema.properties.metadata).toEqual({ type: "object" })
      expect(Object.keys(schema.properties).sort()).toEqual(["apiVersion", "kind", "metadata", "spec", "status"])
    }
  })

  it("`ark crds` prints them, and kubectl reads every document without a server", async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(root, "src/programs/main.ts"), "crds"], { stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
      child.on("exit", (code) => resolve({ code, stdout, stderr }))
    })
    expect(out.code, out.stderr).toBe(0)
    expect(out.stdout.trimEnd()).toBe(crdsYaml().trimEnd())
    const dir = mkdtempSync(join(tmpdir(), "ark-crds-"))
    try {
      const file = join(dir, "crds.yaml")
      writeFileSync(file, out.stdout)
      writeFileSync(join(dir, "kubeconfig"), "apiVersion: v1\nkind: Config\nclusters: []\n")
      const { kubectl } = await kubectlBinaries()
      // `--local` decodes the manifests on the client alone (no discovery, no server).
      const r = await runKubectl(kubectl, ["--kubeconfig", join(dir, "kubeconfig"), "label", "--local", "-f", file, "-o", "json", "checked=true"])
      expect(r.code, r.stderr).toBe(0)
      const items = jsonStream(r.stdout) as Array<CustomResourceDefinition & { metadata: { labels?: unknown } }>
      expect(items.length).toBe(resources.length)
      for (const [i, item] of items.entries()) {
        expect(item.kind).toBe("CustomResourceDefinition")
        expect(item.metadata.labels).toEqual({ checked: "true" })
        const { labels: _labels, ...metadata } = item.metadata
        expect({ ...item, metadata }).toEqual(JSON.parse(JSON.stringify(customResourceDefinition(resources[i]!))))
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
