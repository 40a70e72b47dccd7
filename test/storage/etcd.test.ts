import { testEtcdStorage } from "../support/etcd.ts"
import { storageContract } from "./contract.ts"

storageContract("etcd", testEtcdStorage)
