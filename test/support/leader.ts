/**
 * Helpers for leader election tests: short election timings, reading who leads from the Lease
 * (the PostgreSQL layer keeps a Lease record; the Lease layer's Lease is the election), and the
 * Lease's stored history from the database.
 */
import { Effect } from "effect"
import { lease } from "../../src/domain/registry.ts"
import { Storage, storedResource } from "../../src/services/Storage.ts"
import { withStorage } from "./pg.ts"

/** Seconds, not kube's 15/10/2, so takeovers happen within a test. */
export const electionEnv = (identity: string): Record<string, string> => ({
  ARK_LEADER_ELECTION_IDENTITY: identity,
  ARK_LEADER_LEASE_DURATION: "4 seconds",
  ARK_LEADER_RENEW_DEADLINE: "3 seconds",
  ARK_LEADER_RETRY_PERIOD: "500 millis"
})

/** The election Lease's holderIdentity as stored in the database at `databaseUrl` (undefined while none). */
export const holder = (databaseUrl: string): Promise<string | undefined> =>
  withStorage(databaseUrl, Effect.gen(function*() {
    const storage = yield* Storage
    const found = yield* storage.get(storedResource(lease), "ark-system", "ark-effect-controller").pipe(Effect.option)
    if (found._tag === "None") return undefined
    return ((found.value.spec as { holderIdentity?: string } | undefined)?.holderIdentity) || undefined
  }))

/** Polls until `check` holds, failing after `timeoutMs`. */
export const eventually = async <A>(what: string, probe: () => Promise<A>, check: (a: A) => boolean, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = await probe()
    if (check(value)) return value
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Every stored version of the election's Lease after `after`, oldest first: holder and resourceVersion. */
export const leaseHistory = (databaseUrl: string, after: string) =>
  withStorage(databaseUrl, Effect.gen(function*() {
    const storage = yield* Storage
    const changes = yield* storage.changes(storedResource(lease), after, yield* storage.currentRevision)
    return changes
      .filter((c) => c.namespace === "ark-system" && c.name === "ark-effect-controller" && c.type !== "DELETED")
      .map((c) => ({ resourceVersion: c.resourceVersion, holder: String(JSON.parse(c.object).spec?.holderIdentity ?? "") }))
  }))

export const currentRevision = (databaseUrl: string) =>
  withStorage(databaseUrl, Effect.gen(function*() {
    return yield* (yield* Storage).currentRevision
  }))
