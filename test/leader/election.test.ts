/**
 * Leader election between two real `ark serve` processes on one database, with each layer:
 * PostgreSQL (advisory lock on a dedicated session) and Lease (a coordination.k8s.io/v1 Lease
 * served by a third, standalone `ark serve`). Takeover: SIGKILL the leader, the other leads
 * within the lease time. Fencing: SIGSTOP the leader past its lease, let the other take over,
 * SIGCONT: the stale leader's overdue renewal/record write must not land; the Lease's stored
 * history shows no write by it after the takeover, and it leads again only once the other dies.
 */
import { afterAll, describe, expect, it } from "vitest"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { currentRevision, electionEnv, eventually, holder, leaseHistory } from "../support/leader.ts"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

const start = async (options: Parameters<typeof startServer>[0]) => {
  const server = await startServer(options)
  cleanups.push(() => {
    if (server.process.signalCode === null && server.process.exitCode === null) server.process.kill("SIGCONT")
    return server.stop()
  })
  return server
}

interface Setup {
  readonly name: string
  /** Two replicas of one store, both running the controller under the layer's election. */
  readonly replicas: () => Promise<{ a: RunningServer; b: RunningServer; leaseDatabase: string }>
}

const replicaOptions = (identity: string, databaseUrl: string | undefined, args: ReadonlyArray<string>) => ({
  insecureHttp: true,
  modules: "apiserver,controller",
  env: electionEnv(identity),
  args,
  ...(databaseUrl !== undefined ? { databaseUrl } : {})
})

const setups: ReadonlyArray<Setup> = [
  {
    name: "PostgreSQL advisory lock",
    replicas: async () => {
      const a = await start(replicaOptions("replica-a", undefined, ["--leader-election", "postgres"]))
      const b = await start(replicaOptions("replica-b", a.databaseUrl, ["--leader-election", "postgres"]))
      // The leader keeps its Lease record in the replicas' own store.
      return { a, b, leaseDatabase: a.databaseUrl! }
    }
  },
  {
    name: "Lease on a standalone ark serve",
    replicas: async () => {
      // HTTPS with its admin client certificate: client-node refuses plain HTTP.
      const leases = await start({ modules: "apiserver", args: ["--leader-election", "none"] })
      const args = ["--leader-election", "lease", "--leader-election-kubeconfig", leases.kubeconfig]
      const a = await start(replicaOptions("replica-a", undefined, args))
      const b = await start(replicaOptions("replica-b", a.databaseUrl, args))
      return { a, b, leaseDatabase: leases.databaseUrl! }
    }
  }
]

const identityOf = (s: RunningServer, a: RunningServer) => s === a ? "replica-a" : "replica-b"

describe.each(setups)("leader election: $name", { timeout: 120_000 }, (setup) => {
  it("the other replica leads within the lease time after the leader is killed", async () => {
    const { a, b, leaseDatabase } = await setup.replicas()
    const first = await eventually("a leader", () => holder(leaseDatabase), (h) => h === "replica-a" || h === "replica-b")
    const [leader, follower] = first === "replica-a" ? [a, b] : [b, a]
    leader.process.kill("SIGKILL")
    // Lease duration 4 s; the deadline leaves room for the retry period and a loaded machine.
    await eventually("takeover", () => holder(leaseDatabase), (h) => h === identityOf(follower, a), 15_000)
  })

  it("a stale leader's writes are refused after another replica took over (SIGSTOP past the lease, then SIGCONT)", async () => {
    const { a, b, leaseDatabase } = await setup.replicas()
    const first = await eventually("a leader", () => holder(leaseDatabase), (h) => h === "replica-a" || h === "replica-b")
    const [leader, follower] = first === "replica-a" ? [a, b] : [b, a]
    const staleId = identityOf(leader, a)
    const newId = identityOf(follower, a)
    leader.process.kill("SIGSTOP")
    await eventually("takeover", () => holder(leaseDatabase), (h) => h === newId, 15_000)
    const takeover = await currentRevision(leaseDatabase)
    const logged = leader.output().length
    leader.process.kill("SIGCONT")
    // The resumed process's renewal was due long ago: it runs at once. Let several renewal
    // periods of both replicas pass, then read what the store recorded.
    const resumed = await currentRevision(leaseDatabase)
    await eventually("the new leader renewing", () => leaseHistory(leaseDatabase, resumed), (h) => h.length >= 4, 15_000)
    const history = await leaseHistory(leaseDatabase, "0")
    const afterTakeover = history.filter((v) => BigInt(v.resourceVersion) > BigInt(takeover))
    expect(afterTakeover.length).toBeGreaterThanOrEqual(4)
    expect(new Set(afterTakeover.map((v) => v.holder))).toEqual(new Set([newId]))
    expect(history.map((v) => v.holder)).toContain(staleId)
    // It noticed: the PostgreSQL layer's session ended (or its record write was refused), the Lease layer's renewals failed.
    await eventually("the stale leader stepping down", async () => leader.output().slice(logged), (o) => /session ended|lost ark-system\/ark-effect-controller/.test(o), 15_000)
    // The stale replica survived and stepped down: it leads again once the other is gone.
    follower.process.kill("SIGKILL")
    await eventually("the resumed replica leading again", () => holder(leaseDatabase), (h) => h === staleId, 15_000)
  })
})
