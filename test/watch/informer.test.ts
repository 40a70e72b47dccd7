/**
 * @kubernetes/client-node's informer, unmodified, against two replicas on one database: it
 * converges on changes made through the other replica, and after its replica restarts with the
 * history it would resume from purged, it gets 410, relists and converges again.
 */
import { findKind } from "../../src/domain/registry.ts"
import type { KubernetesObject } from "@kubernetes/client-node"
import { CustomObjectsApi, KubeConfig, makeInformer } from "@kubernetes/client-node"
import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import type { RunningServer } from "../support/server.ts"
import { freePort } from "../support/net.ts"
import { withStorage } from "../support/pg.ts"
import { startServer } from "../support/server.ts"
import { restartOnError } from "../support/informer.ts"

const servers: Array<RunningServer> = []
const dirs: Array<string> = []
afterAll(async () => {
  for (const s of servers) await s.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const client = (server: RunningServer) => {
  const kc = new KubeConfig()
  kc.loadFromFile(server.kubeconfig)
  return { kc, api: kc.makeApiClient(CustomObjectsApi) }
}

const group = "ark.mckinsey.com"
const version = "v1alpha1"
const namespace = "informed"
const plural = "agents"

const agent = (name: string, prompt: string) => ({
  apiVersion: `${group}/${version}`,
  kind: "Agent",
  metadata: { name, namespace },
  spec: { prompt }
})

const eventually = async (check: () => boolean, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const compactAll = (databaseUrl: string) =>
  withStorage(databaseUrl, Effect.gen(function*() {
    const storage = yield* Storage
    return yield* storage.compact(storedResource(findKind("Agent")!), yield* storage.currentRevision)
  }))

describe("client-node informer", () => {
  it("converges across replicas, and relists after a 410 on resume", async () => {
    const port = await freePort()
    // Replica A keeps its data directory (and so its certificates) across its restart.
    const dataDir = mkdtempSync(join(tmpdir(), "ark-informer-"))
    dirs.push(dataDir)
    let a = await startServer({ port, dataDir })
    servers.push(a)
    const b = await startServer({ databaseUrl: a.databaseUrl! })
    servers.push(b)
    const viaA = client(a)
    const viaB = client(b)
    const path = `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
    const informer = makeInformer<KubernetesObject>(
      viaA.kc,
      path,
      () => viaA.api.listNamespacedCustomObject({ group, version, namespace, plural })
    )
    const deleted: Array<string> = []
    let lists = 0
    informer.on("delete", (o) => deleted.push(o.metadata!.name!))
    informer.on("connect", () => lists++)
    restartOnError(informer, 300)
    await informer.start()

    const names = () => informer.list().map((o) => o.metadata!.name!).sort()
    const prompt = (name: string) => (informer.get(name, namespace) as { spec?: { prompt?: string } } | undefined)?.spec?.prompt
    for (const n of ["one", "two", "three"]) {
      await viaB.api.createNamespacedCustomObject({ group, version, namespace, plural, body: agent(n, `prompt ${n}`) })
    }
    await eventually(() => names().join() === "one,three,two", "three adds through the other replica")
    await viaB.api.patchNamespacedCustomObject({ group, version, namespace, plural, name: "two", body: [{ op: "replace", path: "/spec/prompt", value: "updated" }] })
    await eventually(() => prompt("two") === "updated", "the update")
    await viaB.api.deleteNamespacedCustomObject({ group, version, namespace, plural, name: "one" })
    await eventually(() => names().join() === "three,two", "the delete")
    expect(deleted).toEqual(["one"])

    // Replica A goes away; meanwhile B changes things and the history is purged.
    await a.stop()
    servers.splice(servers.indexOf(a), 1)
    await viaB.api.deleteNamespacedCustomObject({ group, version, namespace, plural, name: "three" })
    await viaB.api.createNamespacedCustomObject({ group, version, namespace, plural, body: agent("four", "new") })
    await viaB.api.patchNamespacedCustomObject({ group, version, namespace, plural, name: "two", body: [{ op: "replace", path: "/spec/prompt", value: "again" }] })
    expect(await compactAll(b.databaseUrl!)).toBeGreaterThan(0)
    const listsBefore = lists

    a = await startServer({ port, databaseUrl: b.databaseUrl!, dataDir })
    servers.push(a)
    await eventually(() => names().join() === "four,two" && prompt("two") === "again", "convergence after the relist")
    expect(deleted).toEqual(["one", "three"])
    expect(lists).toBeGreaterThan(listsBefore)
    await informer.stop()
  })
})
