import { Layer } from "effect"
import * as MemoryQueryQueue from "../../src/layers/MemoryQueryQueue.ts"
import * as PgQueryQueue from "../../src/layers/postgres/PgQueryQueue.ts"
import * as PostgresStorage from "../../src/layers/postgres/PostgresStorage.ts"
import * as WatchHubLive from "../../src/layers/WatchHubLive.ts"
import { RemoteCommits } from "../../src/services/Commits.ts"
import { testDatabase } from "../support/pg.ts"
import { queueContract } from "./contract.ts"

queueContract(
  "PostgreSQL",
  Layer.mergeAll(PgQueryQueue.layer, PostgresStorage.layer).pipe(Layer.provideMerge(testDatabase("queue")), Layer.orDie)
)

const storage = PostgresStorage.layer.pipe(Layer.provideMerge(testDatabase("memqueue")))
const hub = WatchHubLive.layer.pipe(Layer.provide(RemoteCommits.none), Layer.provideMerge(storage))
queueContract("in-memory", MemoryQueryQueue.layer.pipe(Layer.provideMerge(hub), Layer.orDie))
