/**
 * `ark serve --postgres-read-url` end to end: with a real streaming standby of the server's
 * database, GETs and LISTs that allow an older state (resourceVersion "0") are answered from the
 * standby, as /metrics shows, while a consistent read sees a write the paused standby has not
 * replayed; the replica's lag and replay position are on /metrics.
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parsePrometheus } from "../support/prometheus.ts"
import type { ReplicatedPostgres } from "../support/replica.ts"
import { replicatedPostgres } from "../support/replica.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const path = "/apis/ark.mckinsey.com/v1alpha1/namespaces/read/agents"

describe("ark serve --postgres-read-url", () => {
  const scope = Effect.runSync(Scope.make())
  let servers: ReplicatedPostgres
  let server: RunningServer

  beforeAll(async () => {
    servers = await Effect.runPromise(Scope.provide(replicatedPostgres, scope))
    server = await startServer({ databaseUrl: servers.primaryUrl, insecureHttp: true, args: ["--postgres-read-url", servers.replicaUrl] })
  }, 120_000)

  afterAll(async () => {
    await server?.stop()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  /** The one sample of `name` on /metrics. */
  const metric = async (name: string) => parsePrometheus(await (await fetch(`${server.url}/metrics`)).text()).value(name)

  const eventually = async (what: string, check: () => Promise<boolean>) => {
    const deadline = Date.now() + 30_000
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  const create = async (name: string) => {
    const res = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name }, spec: { prompt: name } })
    })
    expect(res.status).toBe(201)
    return Number(((await res.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion)
  }

  it("answers reads that allow an older state from the standby, and consistent reads from the primary", async () => {
    const rv = await create("first")
    await eventually("the standby has replayed the write", async () => (await metric("ark_postgres_replica_replayed_rv") ?? 0) >= rv)
    expect(await metric("ark_postgres_replica_up")).toBe(1)
    expect(await metric("ark_postgres_replica_lag_seconds")).toBeGreaterThanOrEqual(0)

    const before = await metric("ark_postgres_replica_reads_total") ?? 0
    const got = await fetch(`${server.url}${path}/first?resourceVersion=0`)
    expect(got.status).toBe(200)
    const listed = (await (await fetch(`${server.url}${path}?resourceVersion=0&limit=10`)).json()) as { items: Array<{ metadata: { name: string } }> }
    expect(listed.items.map((i) => i.metadata.name)).toEqual(["first"])
    expect(await metric("ark_postgres_replica_reads_total")).toBeGreaterThanOrEqual(before + 2)

    // With replay paused, a consistent read still sees the newest write (from the primary).
    await servers.onReplica("SELECT pg_wal_replay_pause()")
    try {
      await create("second")
      const consistent = (await (await fetch(`${server.url}${path}?limit=10`)).json()) as { items: Array<{ metadata: { name: string } }> }
      expect(consistent.items.map((i) => i.metadata.name)).toEqual(["first", "second"])
      expect((await fetch(`${server.url}${path}/second`)).status).toBe(200)
    } finally {
      await servers.onReplica("SELECT pg_wal_replay_resume()")
    }
  }, 60_000)
})
