import { Effect, Layer } from "effect"
import type { KubeCluster } from "../support/cluster.ts"
import { startCluster } from "../support/cluster.ts"
import { applyCrds, contractStorageLayer } from "../support/kubeStorage.ts"
import { storageContract } from "./contract.ts"

/** A harness cluster with Ark's CRDs, for as long as the suite runs. */
const cluster = Layer.unwrap(Effect.map(
  Effect.acquireRelease(
    Effect.promise(async (): Promise<KubeCluster> => {
      const c = await startCluster()
      await applyCrds(c)
      return c
    }),
    (c) => Effect.promise(() => c.stop())
  ),
  contractStorageLayer
))

storageContract("kube-apiserver with Ark's CRDs", cluster)
