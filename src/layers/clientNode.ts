/**
 * @kubernetes/client-node, loaded the first time a layer talks to kube-apiserver: it adds about
 * 85 MB to a process, and a standalone server (or one without delegated auth or Lease election)
 * never uses it.
 */
import { Effect } from "effect"

export const clientNode = Effect.promise(() => import("@kubernetes/client-node"))
