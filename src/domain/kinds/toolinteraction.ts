/** ToolInteraction: a paused Query's question to a human (approval, input, a selection, a confirmation). */
import { Schema } from "effect"
import { AnyJson, conditions } from "./common.ts"
import { ApprovalAction, Approvers, ClientContext, ExecutionContext, OnTimeout, PausedQueryRef, ToolCalls } from "./humanInTheLoop.ts"

const opt = Schema.optionalKey
const DateTime = Schema.String.annotate({ format: "date-time" })

export const ToolInteractionSpec = Schema.Struct({
  approval: opt(Schema.Struct({ approvers: Approvers, reasonRequired: opt(Schema.Boolean) })),
  confirmation: opt(Schema.Struct({ allowEdit: opt(Schema.Boolean), message: opt(Schema.String) })),
  executionContext: ExecutionContext,
  input: opt(Schema.Struct({ prompt: opt(Schema.String), schema: opt(AnyJson) })),
  onTimeout: OnTimeout,
  queryRef: PausedQueryRef,
  selection: opt(Schema.Struct({
    multiSelect: opt(Schema.Boolean),
    options: Schema.Array(Schema.Struct({ description: opt(Schema.String), label: Schema.String, value: Schema.String }))
      .check(Schema.isMinLength(1)),
    prompt: opt(Schema.String)
  })),
  timeout: opt(Schema.String),
  toolCalls: ToolCalls,
  type: Schema.Literals(["approval", "input", "selection", "confirmation"])
})

export const ToolInteractionStatus = Schema.Struct({
  conditions: conditions(),
  observedGeneration: opt(Schema.Int.annotate({ format: "int64" })),
  phase: opt(Schema.Literals(["pending", "completed", "rejected", "expired"]).annotate({ default: "pending" })),
  requestedAt: opt(DateTime),
  response: opt(Schema.Struct({
    approval: opt(Schema.Struct({ action: ApprovalAction, reason: opt(Schema.String) })),
    clientContext: ClientContext,
    confirmation: opt(Schema.Struct({ confirmed: Schema.Boolean, modifiedArguments: opt(Schema.String) })),
    input: opt(Schema.Struct({ data: opt(AnyJson) })),
    respondedAt: DateTime,
    respondedBy: Schema.String,
    selection: opt(Schema.Struct({ selected: Schema.Array(Schema.String).check(Schema.isMinLength(1)) }))
  })),
  responseDuration: opt(Schema.String)
})
