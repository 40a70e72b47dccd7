/**
 * core/v1 Secrets and ConfigMaps on the standalone `ark serve`, through kubectl 1.35: created as
 * `kubectl create secret generic` and `kubectl create configmap` make them, listed, read,
 * applied with stringData, watched; bad data is a 422 Invalid, never stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

let server: RunningServer
let kubectl: string

beforeAll(async () => {
  kubectl = (await kubectlBinaries()).kubectl
  server = await startServer({})
})
afterAll(async () => {
  await server?.stop()
})

const k = (args: ReadonlyArray<string>, input?: string) =>
  runKubectl(kubectl, ["--kubeconfig", server.kubeconfig, ...args], input === undefined ? {} : { input })

const ok = async (args: ReadonlyArray<string>, input?: string) => {
  const r = await k(args, input)
  expect(r.code, r.stderr).toBe(0)
  return r.stdout
}

describe("Secrets and ConfigMaps served standalone", () => {
  it("creates a Secret with kubectl create secret generic and reads its data back", async () => {
    expect(await ok(["create", "secret", "generic", "openai-api-key", "-n", "s1", "--from-literal=token=sk-live-123"])).toBe("secret/openai-api-key created\n")
    const secret = JSON.parse(await ok(["get", "secret", "openai-api-key", "-n", "s1", "-o", "json"]))
    expect(secret.apiVersion).toBe("v1")
    expect(secret.kind).toBe("Secret")
    expect(secret.type).toBe("Opaque")
    expect(Buffer.from(secret.data.token, "base64").toString()).toBe("sk-live-123")
    expect(await ok(["get", "secret", "openai-api-key", "-n", "s1", "-o", "jsonpath={.data.token}"])).toBe(Buffer.from("sk-live-123").toString("base64"))
    const table = await ok(["get", "secrets", "-n", "s1"])
    expect(table.split("\n")[0]).toMatch(/^NAME\s+TYPE\s+AGE$/)
    expect(table).toMatch(/openai-api-key\s+Opaque/)
  })

  it("merges stringData into data on apply, as kube does, and never returns stringData", async () => {
    await ok(["apply", "-n", "s1", "-f", "-"], [
      "apiVersion: v1",
      "kind: Secret",
      "metadata: {name: mcp-token}",
      "stringData: {access_token: abc.def}",
      "data: {other: " + Buffer.from("x").toString("base64") + "}"
    ].join("\n"))
    const secret = JSON.parse(await ok(["get", "secret", "mcp-token", "-n", "s1", "-o", "json"]))
    expect(secret.stringData).toBeUndefined()
    expect(Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]))).toEqual({ access_token: "abc.def", other: "x" })
  })

  it("creates ConfigMaps with kubectl create configmap, by short name too", async () => {
    await ok(["create", "configmap", "settings", "-n", "s1", "--from-literal=city=Lisbon"])
    expect(await ok(["get", "cm", "settings", "-n", "s1", "-o", "jsonpath={.data.city}"])).toBe("Lisbon")
    expect(await ok(["delete", "configmap", "settings", "-n", "s1"])).toBe(`configmap "settings" deleted from s1 namespace\n`)
    expect((await k(["get", "configmap", "settings", "-n", "s1"])).code).toBe(1)
  })

  it("refuses data that is not base64 and keys kube refuses, with a 422 naming the field, and stores nothing", async () => {
    const bad = await k(["apply", "-n", "s1", "-f", "-"], "apiVersion: v1\nkind: Secret\nmetadata: {name: bad}\ndata: {token: 'not base64!'}\n")
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain("data[token]: Invalid value: illegal base64 data")
    expect(bad.stderr).not.toContain("not base64!")
    const badKey = await k(["apply", "-n", "s1", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad-key}\ndata: {'a/b': '1'}\n")
    expect(badKey.code).toBe(1)
    expect(badKey.stderr).toContain(`data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters`)
    expect((await k(["get", "secret", "bad", "-n", "s1"])).code).toBe(1)
  })

  it("lists Secrets across namespaces and explains them from the served OpenAPI", async () => {
    await ok(["create", "secret", "generic", "other", "-n", "s2", "--from-literal=k=v"])
    const all = JSON.parse(await ok(["get", "secrets", "-A", "-o", "json"]))
    expect(all.items.map((s: { metadata: { namespace: string; name: string } }) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual(["s1/mcp-token", "s1/openai-api-key", "s2/other"])
    const explained = await ok(["explain", "secret.stringData"])
    expect(explained).toContain("stringData allows specifying non-binary secret data in string form")
  })
})
