/**
 * ark replicas on one PostgreSQL database behind a real kube-apiserver: @kubernetes/client-node
 * informers and watches through the aggregator across an ark restart (resume from a bookmark,
 * relist after 410), and leader election on kube-apiserver's own Leases.
 */
import type { KubernetesObject } from "@kubernetes/client-node"
import { CustomObjectsApi, KubeConfig, makeInformer, Watch } from "@kubernetes/client-node"
import { Effect } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { findKind } from "../../src/domain/registry.ts"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import type { ArkInstall, ArkReplica, ReplicaOptions } from "../support/arkInCluster.ts"
import { directKubeconfig, endpointOf, installChart, registerEndpoints, startReplica, waitForApiServices } from "../support/arkInCluster.ts"
import type { KubeCluster } from "../support/cluster.ts"
import { peersBuildTimeout, startCluster } from "../support/cluster.ts"
import { freshDatabase, withStorage } from "../support/pg.ts"
import { restartOnError } from "../support/informer.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const group = "ark.mckinsey.com"
const version = "v1alpha1"

const eventually = async (check: () => boolean | Promise<boolean>, what: string, ms = 60_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

describe("ark replicas behind kube-apiserver", () => {
  let cluster: KubeCluster
  let install: ArkInstall
  let databaseUrl: string
  let storage: ReadonlyArray<string>
  const replicas: Array<ArkReplica> = []

  const replica = async (port: number, options: ReplicaOptions = {}) => {
    const r = await startReplica(cluster, install, { port, metricsPort: port - 400, storage, ...options })
    replicas.push(r)
    return r
  }
  const end = async (r: ArkReplica, how: "stop" | "kill") => {
    await r[how]()
    replicas.splice(replicas.indexOf(r), 1)
  }
  const ok = (args: ReadonlyArray<string>, input?: string) => cluster.ok(args, input)
  const available = () => waitForApiServices(cluster)

  beforeAll(async () => {
    cluster = await startCluster()
    install = await installChart(cluster)
    // The replicas share a database of the test run's PostgreSQL, reached from inside the namespace.
    databaseUrl = await Effect.runPromise(freshDatabase("cluster"))
    const url = new URL(databaseUrl)
    url.hostname = "127.0.0.1"
    url.port = String(await cluster.reach(Number(new URL(databaseUrl).port)))
    storage = ["--storage", "postgresql", "--postgres-url", url.toString()]
  }, peersBuildTimeout)
  // A failed test leaves no replica behind for the next one (they share ports).
  afterEach(async () => {
    for (const r of [...replicas]) await end(r, "kill")
  })
  afterAll(() => cluster?.stop())

  const clientOf = (kubeconfig: string) => {
    const kc = new KubeConfig()
    kc.loadFromFile(kubeconfig)
    return { kc, api: kc.makeApiClient(CustomObjectsApi) }
  }
  const agent = (name: string, namespace: string, prompt = "hi") => ({
    apiVersion: `${group}/${version}`,
    kind: "Agent",
    metadata: { name, namespace },
    spec: { prompt }
  })

  it("client-node informer through the aggregator converges, and relists after a 410 across an ark restart", async () => {
    const a = await replica(8443)
    await registerEndpoints(cluster, install, [endpointOf(a)])
    await available()
    // Another replica, reached directly, writes while the one behind the aggregator is down.
    const b = await replica(8444, { modules: "apiserver" })
    const viaKube = clientOf(cluster.admin)
    const viaB = clientOf(await directKubeconfig(cluster, install, b, { cn: "kubernetes-admin", groups: ["system:masters"] }))
    const namespace = "informed"
    const plural = "agents"
    await ok(["create", "namespace", namespace])

    const informer = makeInformer<KubernetesObject>(
      viaKube.kc,
      `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      () => viaKube.api.listNamespacedCustomObject({ group, version, namespace, plural })
    )
    let lists = 0
    informer.on("connect", () => lists++)
    restartOnError(informer, 500)
    await informer.start()
    const names = () => informer.list().map((o) => o.metadata!.name!).sort().join()
    const prompt = (name: string) => (informer.get(name, namespace) as { spec?: { prompt?: string } } | undefined)?.spec?.prompt

    for (const n of ["one", "two"]) await viaKube.api.createNamespacedCustomObject({ group, version, namespace, plural, body: agent(n, namespace) })
    await eventually(() => names() === "one,two", "two adds")
    await viaB.api.patchNamespacedCustomObject({ group, version, namespace, plural, name: "two", body: [{ op: "replace", path: "/spec/prompt", value: "changed" }] })
    await eventually(() => prompt("two") === "changed", "a change made through the other replica")

    // The replica behind the aggregator goes away; B changes things and the history is purged.
    await end(a, "stop")
    await viaB.api.deleteNamespacedCustomObject({ group, version, namespace, plural, name: "one" })
    await viaB.api.createNamespacedCustomObject({ group, version, namespace, plural, body: agent("three", namespace) })
    const purged = await withStorage(databaseUrl, Effect.gen(function*() {
      const s = yield* Storage
      return yield* s.compact(storedResource(findKind("Agent")!), yield* s.currentRevision)
    }))
    expect(purged).toBeGreaterThan(0)
    const listsBefore = lists
    const a2 = await replica(8443)
    await eventually(() => names() === "three,two", "convergence after the relist")
    expect(lists).toBeGreaterThan(listsBefore)
    await informer.stop()
    await end(a2, "stop")
    await end(b, "stop")
  })

  it("a watch through the aggregator resumes from its last bookmark after an ark restart: nothing replayed, nothing lost", async () => {
    const a = await replica(8443)
    await available()
    const b = await replica(8444, { modules: "apiserver" })
    const viaB = clientOf(await directKubeconfig(cluster, install, b, { cn: "kubernetes-admin", groups: ["system:masters"] }))
    const namespace = "watched"
    const plural = "agents"
    await ok(["create", "namespace", namespace])
    await viaB.api.createNamespacedCustomObject({ group, version, namespace, plural, body: agent("before", namespace) })

    const kc = new KubeConfig()
    kc.loadFromFile(cluster.admin)
    const watch = new Watch(kc)
    const seen: Array<string> = []
    const delivered: Array<string> = []
    let lastRv = ""
    let ended = false
    const path = `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
    const follow = (resourceVersion: string | undefined) =>
      watch.watch(path, { allowWatchBookmarks: true, ...(resourceVersion === undefined ? {} : { resourceVersion }) }, (type, obj: KubernetesObject) => {
        lastRv = obj.metadata?.resourceVersion ?? lastRv
        if (type === "BOOKMARK") return
        delivered.push(`${type} ${obj.metadata!.name} ${obj.metadata!.resourceVersion}`)
        // The controller's status writes (MODIFIED) come and go with timing; the ADDED events may not.
        if (type === "ADDED") seen.push(`${type} ${obj.metadata!.name}`)
      }, () => {
        ended = true
      })
    await follow(undefined)
    await eventually(() => seen.includes("ADDED before"), "the initial ADDED")
    // A graceful stop ends the watch with a last bookmark at ark's newest resourceVersion.
    await end(a, "stop")
    await eventually(() => ended, "the watch to end")
    await viaB.api.createNamespacedCustomObject({ group, version, namespace, plural, body: agent("during", namespace) })
    const a2 = await replica(8443)
    await available()
    ended = false
    await follow(lastRv)
    await viaB.api.createNamespacedCustomObject({ group, version, namespace, plural, body: agent("after", namespace) })
    await eventually(() => seen.includes("ADDED after"), "the event after the restart")
    expect(seen).toEqual(["ADDED before", "ADDED during", "ADDED after"])
    // Exactly once: no event of the first watch is delivered again by the resumed one.
    expect(new Set(delivered).size).toBe(delivered.length)
    await end(a2, "stop")
    await end(b, "stop")
  })

  it("leader election on kube-apiserver's Leases: one leader, handed over when it dies, Queries keep completing", async () => {
    const lease = ["get", "lease", "ark-effect-controller", "-n", "ark-system", "-o", "jsonpath={.spec.holderIdentity}"]
    const electing = (identity: string): ReplicaOptions => ({
      modules: "apiserver,controller,query-workers,metrics",
      args: ["--demo-engine", "--leader-election", "lease", "--leader-election-kubeconfig", install.serviceAccountKubeconfig],
      env: { ARK_LEADER_ELECTION_IDENTITY: identity }
    })
    const first = await replica(8443, electing("replica-a"))
    const second = await replica(8444, electing("replica-b"))
    await registerEndpoints(cluster, install, [endpointOf(first)])
    await available()
    let holder = ""
    await eventually(async () => {
      holder = (await cluster.kubectl(lease)).stdout
      return holder === "replica-a" || holder === "replica-b"
    }, "a leader in the Lease")
    const [leader, follower] = holder === "replica-a" ? [first, second] : [second, first]
    const followerName = holder === "replica-a" ? "replica-b" : "replica-a"
    // The API is served through the follower from now on; the leader dies without a word.
    await registerEndpoints(cluster, install, [endpointOf(follower)])
    await end(leader, "kill")
    const killedAt = Date.now()
    await eventually(async () => (await cluster.kubectl(lease)).stdout === followerName, "the follower to take the Lease", 40_000)
    // client-go's algorithm: the Lease expires (15 s) before another replica may take it.
    expect(Date.now() - killedAt).toBeLessThan(40_000)
    // The aggregator may have probed the dead leader before it noticed the endpoint change (the
    // APIService then reads unavailable until its next probe): wait for it as a user would.
    await available()
    await ok(["apply", "-f", "-"], [
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Agent\nmetadata:\n  name: helper\nspec:\n  prompt: help\n",
      "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Query\nmetadata:\n  name: after-failover\nspec:\n  input: still there?\n  target:\n    type: agent\n    name: helper\n"
    ].join("---\n"))
    await eventually(async () => (await cluster.kubectl(["get", "query", "after-failover", "-o", "jsonpath={.status.phase}"])).stdout === "done", "the Query to finish")
    // The controller runs on the new leader: the Agent gets its conditions.
    await eventually(async () => (await cluster.kubectl(["get", "agent", "helper", "-o", "jsonpath={.status.conditions[*].type}"])).stdout.includes("Available"), "the Agent's condition")
  })
})
