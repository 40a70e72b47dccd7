/**
 * coordination.k8s.io/v1 Lease: what kube-apiserver serves for leader election and heartbeats,
 * served by the standalone `ark serve` too so that Lease-based leader election (client-go,
 * @kubernetes/client-node, ark-effect's own Lease layer) works against it. Field names and
 * descriptions follow k8s.io/api/coordination/v1.
 */
import { Schema } from "effect"
import { optionalString } from "./common.ts"

/** metav1.MicroTime: RFC 3339 with microseconds, published as `date-time`. */
const microTime = (description: string) => optionalString(description, { format: "date-time" })

const int32 = (description: string) => Schema.optionalKey(Schema.Int.annotate({ description, format: "int32" }))

export const LeaseSpec = Schema.Struct({
  acquireTime: microTime("acquireTime is a time when the current lease was acquired."),
  holderIdentity: optionalString("holderIdentity contains the identity of the holder of a current lease."),
  leaseDurationSeconds: int32(
    "leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it. " +
      "This is measured against the time of last observed renewTime."
  ),
  leaseTransitions: int32("leaseTransitions is the number of transitions of a lease between holders."),
  preferredHolder: optionalString(
    "PreferredHolder signals to a lease holder that the lease has a more optimal holder and should be given up."
  ),
  renewTime: microTime("renewTime is a time when the current holder of a lease has last updated the lease."),
  strategy: optionalString("Strategy indicates the strategy for picking the leader for coordinated leader election.")
}).annotate({ description: "LeaseSpec is a specification of a Lease." })
export type LeaseSpec = typeof LeaseSpec.Type

/** MicroTime as kube writes it: microseconds, UTC. */
export const microTimeString = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, "000Z")
