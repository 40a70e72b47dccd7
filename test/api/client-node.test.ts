/**
 * @kubernetes/client-node, unmodified, against `ark serve` over HTTPS with its kubeconfig:
 * the generic KubernetesObjectApi and the CustomObjectsApi that Node operators use.
 */
import { ApiException, CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node"
import type { KubernetesObject } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

let server: RunningServer
let objects: KubernetesObjectApi
let custom: CustomObjectsApi

beforeAll(async () => {
  server = await startServer()
  const kc = new KubeConfig()
  kc.loadFromFile(server.kubeconfig)
  objects = KubernetesObjectApi.makeApiClient(kc)
  custom = kc.makeApiClient(CustomObjectsApi)
})
afterAll(() => server?.stop())

const group = "ark.mckinsey.com"
const version = "v1alpha1"

interface Agent extends KubernetesObject {
  spec: { prompt?: string; modelRef?: { name: string } }
}

const agent = (name: string, prompt: string): Agent => ({
  apiVersion: `${group}/${version}`,
  kind: "Agent",
  metadata: { name, namespace: "default", labels: { team: "weather" } },
  spec: { prompt, modelRef: { name: "default" } }
})

describe("KubernetesObjectApi", () => {
  it("creates, reads, patches and deletes an Agent", async () => {
    const created = await objects.create(agent("forecaster", "Forecast the weather."))
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/)
    const read = await objects.read<Agent>({ apiVersion: `${group}/${version}`, kind: "Agent", metadata: { name: "forecaster", namespace: "default" } })
    expect(read.spec.prompt).toBe("Forecast the weather.")
    const patched = await objects.patch<Agent>(
      { ...agent("forecaster", "Forecast tomorrow's weather."), metadata: { name: "forecaster", namespace: "default" } },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch
    )
    expect(patched.spec.prompt).toBe("Forecast tomorrow's weather.")
    expect(patched.metadata?.generation).toBe(2)
    const listed = await objects.list<Agent>(`${group}/${version}`, "Agent", "default")
    expect(listed.items.map((a) => a.metadata?.name)).toContain("forecaster")
    await objects.delete({ apiVersion: `${group}/${version}`, kind: "Agent", metadata: { name: "forecaster", namespace: "default" } })
    const gone = await objects.read({ apiVersion: `${group}/${version}`, kind: "Agent", metadata: { name: "forecaster", namespace: "default" } }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(gone).toBeInstanceOf(ApiException)
    expect((gone as ApiException<unknown>).code).toBe(404)
  })
})

describe("CustomObjectsApi", () => {
  it("does CRUD and surfaces kube Status errors", async () => {
    const body = agent("reporter", "Report the weather.")
    const created = await custom.createNamespacedCustomObject({ group, version, namespace: "default", plural: "agents", body })
    expect(created.metadata.name).toBe("reporter")
    const conflict = await custom.createNamespacedCustomObject({ group, version, namespace: "default", plural: "agents", body }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect((conflict as ApiException<string>).code).toBe(409)
    expect(JSON.parse((conflict as ApiException<string>).body)).toMatchObject({ kind: "Status", reason: "AlreadyExists" })
    const replaced = await custom.replaceNamespacedCustomObject({
      group,
      version,
      namespace: "default",
      plural: "agents",
      name: "reporter",
      body: { ...created, spec: { ...created.spec, prompt: "Report it briefly." } }
    })
    expect(replaced.spec.prompt).toBe("Report it briefly.")
    const status = await custom.patchNamespacedCustomObjectStatus({
      group,
      version,
      namespace: "default",
      plural: "agents",
      name: "reporter",
      body: [{ op: "add", path: "/status", value: { conditions: [] } }]
    })
    expect(status.metadata.generation).toBe(2)
    await custom.deleteNamespacedCustomObject({ group, version, namespace: "default", plural: "agents", name: "reporter" })
    const list = await custom.listNamespacedCustomObject({ group, version, namespace: "default", plural: "agents" })
    expect(list.items.map((a: Agent) => a.metadata?.name)).not.toContain("reporter")
  })

  it("pages through a list with limit and continue", async () => {
    const namespace = "paged"
    for (let i = 0; i < 25; i++) {
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: "agents",
        body: { ...agent(`a-${String(i).padStart(2, "0")}`, "p"), metadata: { name: `a-${String(i).padStart(2, "0")}`, namespace } }
      })
    }
    const seen: Array<string> = []
    let token: string | undefined
    let pages = 0
    do {
      const page = await custom.listNamespacedCustomObject({ group, version, namespace, plural: "agents", limit: 10, ...(token ? { _continue: token } : {}) })
      seen.push(...page.items.map((a: Agent) => a.metadata!.name!))
      token = page.metadata.continue || undefined
      pages++
    } while (token !== undefined)
    expect(pages).toBe(3)
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `a-${String(i).padStart(2, "0")}`))
  })
})
