import { Layer } from "effect"
import * as PostgresStorage from "../../src/layers/postgres/PostgresStorage.ts"
import { testDatabase } from "../support/pg.ts"
import { storageContract } from "./contract.ts"

storageContract("PostgreSQL", PostgresStorage.layer.pipe(Layer.provide(testDatabase("contract")), Layer.orDie))
