/**
 * The Kubernetes storage layer against a harness cluster that serves Ark's CRDs (`ark crds`), as
 * the storage tests use it. Two things the test does in kube-apiserver's place: namespaces are
 * created on first use (the contract writes into fresh ones; kube refuses objects in a namespace
 * that does not exist), and a compaction also compacts kube's etcd at once (kube-apiserver does
 * that on its own timer, every 5 minutes).
 */
import { Effect, Layer } from "effect"
import { Etcd3 } from "etcd3"
import { join } from "node:path"
import * as KubeClient from "../../src/layers/kubernetes/KubeClient.ts"
import * as KubernetesStorage from "../../src/layers/kubernetes/KubernetesStorage.ts"
import { Storage } from "../../src/services/Storage.ts"
import type { Commits, RemoteCommits } from "../../src/services/Commits.ts"
import type { KubeCluster } from "./cluster.ts"

const root = join(import.meta.dirname, "..", "..")

/** Applies `ark crds` (the chart's copy) and waits until kube serves every kind. */
export const applyCrds = async (cluster: KubeCluster) => {
  await cluster.ok(["apply", "--server-side", "-f", join(root, "chart", "files", "crds.yaml")])
  await cluster.ok(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"])
}

export const kubeClientLayer = (kubeconfig: string) => KubeClient.layer({ kubeconfig, qps: 200, burst: 400 })

/** Storage on the cluster's kube-apiserver, as ark in the CRD configuration runs it. */
export const kubeStorageLayer = (kubeconfig: string): Layer.Layer<Storage | Commits | RemoteCommits> =>
  KubernetesStorage.layer.pipe(Layer.provide(kubeClientLayer(kubeconfig)), Layer.orDie)

/** The contract's view: namespaces made on first use, compactions reaching kube's etcd. */
export const contractStorageLayer = (cluster: KubeCluster): Layer.Layer<Storage> =>
  Layer.effect(
    Storage,
    Effect.gen(function*() {
      const inner = yield* Storage
      const etcdPort = yield* Effect.promise(() => cluster.forward("127.0.0.1", 2379))
      const etcd = yield* Effect.acquireRelease(
        Effect.sync(() => new Etcd3({ hosts: `http://127.0.0.1:${etcdPort}` })),
        (client) => Effect.sync(() => client.close())
      )
      const namespaces = new Map<string, Promise<unknown>>()
      const ensureNamespace = (ns: string | undefined) => {
        if (ns === undefined || ns === "" || !/^[a-z0-9-]+$/.test(ns)) return Effect.void
        let made = namespaces.get(ns)
        if (made === undefined) {
          made = cluster.kubectl(["create", "namespace", ns])
          namespaces.set(ns, made)
        }
        return Effect.promise(() => made)
      }
      return Storage.of({
        ...inner,
        create: (r, object, options) => ensureNamespace(r.namespaced ? object.metadata?.namespace : undefined).pipe(Effect.andThen(inner.create(r, object, options))),
        compact: (r, revision) =>
          inner.compact(r, revision).pipe(
            Effect.tap(() => Effect.promise(() => etcd.kv.compact({ revision }).catch(() => undefined)))
          )
      })
    })
  ).pipe(Layer.provide(kubeStorageLayer(cluster.admin)))
