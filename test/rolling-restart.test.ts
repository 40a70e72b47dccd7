/**
 * A rolling restart of two replicas (SIGTERM, then the replica starts again on its port) while a
 * client keeps creating Queries and a client-node informer watches each replica: no request is
 * lost (every create got 201, or a retryable failure that was retried, a retry finding it
 * created answering 409), every created Query reaches done, and both informers see every one.
 */
import type { KubernetesObject } from "@kubernetes/client-node"
import { ApiException, CustomObjectsApi, KubeConfig, makeInformer } from "@kubernetes/client-node"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort } from "./support/net.ts"
import type { RunningServer, ServerOptions } from "./support/server.ts"
import { startServer } from "./support/server.ts"
import { restartOnError } from "./support/informer.ts"

const group = "ark.mckinsey.com"
const version = "v1alpha1"
const namespace = "rolling"
const plural = "queries"

const servers = new Set<RunningServer>()
const dirs: Array<string> = []
afterAll(async () => {
  for (const s of servers) await s.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const eventually = async (check: () => boolean, what: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A replica that keeps its port and data directory (so its certificates and kubeconfig) across restarts. */
const replica = async (databaseUrl?: string) => {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), "ark-rolling-"))
  dirs.push(dataDir)
  const options = (url?: string): ServerOptions => ({
    port,
    dataDir,
    modules: "apiserver,query-workers",
    args: ["--demo-engine"],
    ...(url !== undefined ? { databaseUrl: url } : {})
  })
  let current = await startServer(options(databaseUrl))
  servers.add(current)
  const kc = new KubeConfig()
  kc.loadFromFile(current.kubeconfig)
  const url = current.databaseUrl!
  return {
    kc,
    api: kc.makeApiClient(CustomObjectsApi),
    databaseUrl: url,
    restart: async () => {
      await current.stop()
      expect(current.process.exitCode).toBe(0)
      servers.delete(current)
      current = await startServer(options(url))
      servers.add(current)
    }
  }
}
type Replica = Awaited<ReturnType<typeof replica>>

/** An informer that its owner restarts whenever it stops on an error (client-node's contract). */
const inform = async (r: Replica) => {
  const informer = makeInformer<KubernetesObject>(
    r.kc,
    `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
    () => r.api.listNamespacedCustomObject({ group, version, namespace, plural })
  )
  const added = new Set<string>()
  informer.on("add", (o) => added.add(o.metadata!.name!))
  restartOnError(informer, 200)
  await informer.start()
  const phase = (name: string) => (informer.get(name, namespace) as { status?: { phase?: string } } | undefined)?.status?.phase
  return { informer, added, phase, stop: () => informer.stop() }
}

class Unanswered extends Error {
  override readonly message = "no answer within 20 s"
}

/** Whether a failed create may be retried: the replica was unreachable, going away, or unavailable. */
const retryable = (e: unknown) => !(e instanceof Unanswered) && (!(e instanceof ApiException) || e.code >= 500)

describe("graceful rolling restart", () => {
  it("loses no request, no Query and no watch event", async () => {
    const a = await replica()
    const b = await replica(a.databaseUrl)
    const watchers = [await inform(a), await inform(b)]

    const created: Array<string> = []
    const refused: Array<string> = []
    let stopping = false
    /** Creates Queries one after another, alternating replicas; a retry goes to the other one. */
    const client = async (worker: number) => {
      for (let i = 0; !stopping; i++) {
        const name = `q-${worker}-${i}`
        const body = { apiVersion: `${group}/${version}`, kind: "Query", metadata: { name, namespace }, spec: { input: name, target: { type: "model", name: "default" } } }
        for (let attempt = 0;; attempt++) {
          const via = [a, b][(i + attempt) % 2]!
          try {
            // A request that gets no answer at all is a lost request: it fails the test rather than hang it.
            let timer: ReturnType<typeof setTimeout> | undefined
            await Promise.race([
              via.api.createNamespacedCustomObject({ group, version, namespace, plural, body }),
              new Promise((_, reject) => timer = setTimeout(() => reject(new Unanswered()), 20_000))
            ]).finally(() => clearTimeout(timer))
            created.push(name)
            break
          } catch (e) {
            // A retry after a create that did commit finds it there.
            if (attempt > 0 && e instanceof ApiException && e.code === 409) {
              created.push(name)
              break
            }
            if (!retryable(e) || attempt > 50) {
              refused.push(`${name}: ${String(e)}`)
              break
            }
            await new Promise((r) => setTimeout(r, 50))
          }
        }
      }
    }
    const clients = [client(0), client(1), client(2)]
    const createdSoFar = async (n: number) => eventually(() => created.length >= n, `${n} creates`)

    await createdSoFar(20)
    await a.restart()
    await createdSoFar(created.length + 20)
    await b.restart()
    await createdSoFar(created.length + 20)
    stopping = true
    await Promise.all(clients)

    expect(refused).toEqual([])
    expect(new Set(created).size).toBe(created.length)
    for (const w of watchers) {
      await eventually(() => created.every((n) => w.added.has(n)), "every created Query seen by each informer")
      await eventually(() => created.every((n) => w.phase(n) === "done"), "every created Query done")
    }
    // Nothing was created that the client does not know of (a create that failed for good).
    const listed = await b.api.listNamespacedCustomObject({ group, version, namespace, plural }) as { items: Array<KubernetesObject> }
    expect(listed.items.map((o) => o.metadata!.name!).sort()).toEqual([...created].sort())
    for (const w of watchers) await w.stop()
  }, 180_000)
})
