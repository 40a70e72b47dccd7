/** etcd's failures in kube's terms (kube's etcd3/errors.go): the store's typed errors. */
import { Effect } from "effect"
import { maxObjectBytes } from "../../domain/lifecycle.ts"
import type { StorageError } from "../../services/errors.ts"
import { Expired, TooLarge, TooNewResourceVersion, Unavailable } from "../../services/errors.ts"

const messageOf = (e: unknown) => e instanceof Error ? e.message : String(e)

/** etcd's failures as the store's typed errors; anything unexpected is the cluster being unavailable. */
export const fromEtcd = (e: unknown): StorageError => {
  const message = messageOf(e)
  if (message.includes("required revision has been compacted")) return new Expired({ message: "too old resource version" })
  if (message.includes("required revision is a future revision")) {
    return new TooNewResourceVersion({ message: "Too large resource version" })
  }
  if (message.includes("request is too large")) {
    return new TooLarge({ message: `object exceeds the maximum size of ${maxObjectBytes} bytes` })
  }
  return new Unavailable({ message: `storage unavailable: ${message}` })
}

/** A call to etcd with its failure typed. */
export const call = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: fromEtcd })
