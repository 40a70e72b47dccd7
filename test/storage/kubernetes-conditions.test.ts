/**
 * The Kubernetes storage layer where kube-apiserver is less than ideal. Its own load shedding: API
 * Priority and Fairness configured so that ark's user gets a handful of seats and is refused
 * beyond them (429 with Retry-After); a burst of writes through the layer then meets real 429s,
 * waits as the server asks, and every write succeeds, while kube's metrics show it refused
 * requests. And a cluster missing one of Ark's CRDs: the other kinds work.
 */
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { findKind } from "../../src/domain/registry.ts"
import * as KubeRestClient from "../../src/layers/KubeRestClient.ts"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import type { KubeCluster } from "../support/cluster.ts"
import { peersBuildTimeout, startCluster } from "../support/cluster.ts"
import { applyCrds, kubeStorageLayer } from "../support/kubeStorage.ts"

const queries = storedResource(findKind("Query")!)

const throttling = `
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: ark-test-tiny}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1
    lendablePercent: 0
    limitResponse: {type: Reject}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: ark-test-throttled}
spec:
  priorityLevelConfiguration: {name: ark-test-tiny}
  matchingPrecedence: 100
  distinguisherMethod: {type: ByUser}
  rules:
    - subjects: [{kind: User, user: {name: throttled}}]
      resourceRules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"], clusterScope: true}]
`

describe("the Kubernetes storage layer on a kube-apiserver that sheds load or lacks a CRD", () => {
  let cluster: KubeCluster

  beforeAll(async () => {
    cluster = await startCluster()
    await applyCrds(cluster)
    await cluster.ok(["apply", "-f", "-"], throttling)
    // Not system:masters: that group is exempt from API Priority and Fairness.
    await cluster.ok(["create", "clusterrolebinding", "throttled-admin", "--clusterrole=cluster-admin", "--user=throttled"])
    await cluster.ok(["create", "namespace", "burst"])
  }, peersBuildTimeout)
  afterAll(() => cluster?.stop())

  const rejected = async () => {
    // The exposition is several MB; a read cut short on a loaded machine is read again (a few times).
    const metrics = await Effect.runPromise(Effect.flatMap(KubeRestClient.connect(cluster.admin), (c) => c.request("GET", "/metrics")).pipe(Effect.retry({ times: 3 })))
    return metrics.body.split("\n")
      .filter((l) => l.startsWith("apiserver_flowcontrol_rejected_requests_total{") && l.includes("priority_level=\"ark-test-tiny\""))
      .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0)
  }

  it("waits out 429s with Retry-After and loses no write", async () => {
    const kubeconfig = await cluster.kubeconfig("throttled", { cn: "throttled" })
    const before = await rejected()
    const names = Array.from({ length: 300 }, (_, i) => `q-${i}`)
    const created = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const storage = yield* Storage
      return yield* Effect.forEach(names, (name) =>
        storage.create(queries, {
          apiVersion: "ark.mckinsey.com/v1alpha1",
          kind: "Query",
          metadata: { name, namespace: "burst" },
          spec: { input: "hi", target: { type: "agent", name: "a" } }
        }), { concurrency: 64 })
    }).pipe(Effect.provide(Layer.fresh(kubeStorageLayer(kubeconfig))))))
    expect(created.map((q) => q.metadata.name)).toEqual(names)
    const listed = JSON.parse(await cluster.ok(["get", "queries", "-n", "burst", "-o", "json"])) as { items: Array<unknown> }
    expect(listed.items.length).toBe(names.length)
    // kube refused some of them on the way: the layer retried those.
    expect(await rejected()).toBeGreaterThan(before)
  }, 240_000)

  it("follows the kinds kube serves when one CRD is missing", async () => {
    await cluster.ok(["delete", "crd", "evaluations.ark.mckinsey.com"])
    const seen = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const storage = yield* Storage
      const before = (yield* storage.frontiers)(queries)
      const q = yield* storage.create(queries, {
        apiVersion: "ark.mckinsey.com/v1alpha1",
        kind: "Query",
        metadata: { name: "still", namespace: "burst" },
        spec: { input: "hi", target: { type: "agent", name: "a" } }
      })
      let frontier = before
      while (BigInt(frontier) < BigInt(q.metadata.resourceVersion!)) {
        yield* Effect.sleep("100 millis")
        frontier = (yield* storage.frontiers)(queries)
      }
      return (yield* storage.changes(queries, before, frontier)).map((c) => `${c.type} ${c.name}`)
    }).pipe(Effect.provide(Layer.fresh(kubeStorageLayer(cluster.admin))), Effect.timeout("60 seconds"))))
    // Created, then given the kind's initial status (kube drops status on create).
    expect(seen).toEqual(["ADDED still", "MODIFIED still"])
  }, 120_000)
})
