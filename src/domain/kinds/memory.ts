/** Memory: an external conversation-memory service queries can read from and append to. */
import { Schema } from "effect"
import { Header, optionalString, ValueSource } from "./common.ts"

export const MemorySpec = Schema.Struct({
  address: ValueSource,
  headers: Schema.optionalKey(
    Schema.Array(Header).annotate({ description: "Headers contains HTTP headers to include in memory API requests" })
  )
}).annotate({ description: "MemorySpec defines the desired state of Memory." })
export type MemorySpec = typeof MemorySpec.Type

export const MemoryStatus = Schema.Struct({
  lastResolvedAddress: optionalString("LastResolvedAddress contains the last resolved address value for reference"),
  message: optionalString("Message provides additional information about the current status"),
  phase: Schema.optionalKey(Schema.Literals(["running", "ready", "error"]).annotate({
    description: "Phase represents the current state of the memory"
  }))
}).annotate({ description: "MemoryStatus defines the observed state of Memory." })
export type MemoryStatus = typeof MemoryStatus.Type
