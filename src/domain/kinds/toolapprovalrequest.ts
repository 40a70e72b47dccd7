/** ToolApprovalRequest: a human's approval pending for one or more tool calls of a paused Query. */
import { Schema } from "effect"
import { conditions, optionalString } from "./common.ts"
import { ApprovalAction, Approvers, ClientContext, ExecutionContext, OnTimeout, PausedQueryRef, ToolCalls } from "./humanInTheLoop.ts"

export const ToolApprovalRequestSpec = Schema.Struct({
  approvers: Approvers,
  executionContext: ExecutionContext,
  onTimeout: OnTimeout,
  queryRef: PausedQueryRef,
  reasonRequired: Schema.optionalKey(Schema.Boolean.annotate({
    description: "ReasonRequired specifies whether a reason must be provided when rejecting"
  })),
  timeout: optionalString("Timeout is the duration to wait for approval before taking the onTimeout action"),
  toolCalls: ToolCalls
}).annotate({ description: "ToolApprovalRequestSpec defines the desired state of ToolApprovalRequest." })

export const ToolApprovalRequestStatus = Schema.Struct({
  approvalDuration: optionalString("ApprovalDuration is the time between request and decision"),
  conditions: conditions("Conditions represent the latest available observations"),
  decision: Schema.optionalKey(Schema.Struct({
    action: ApprovalAction,
    clientContext: ClientContext,
    decidedAt: Schema.String.annotate({ format: "date-time" }),
    decidedBy: Schema.String,
    reason: Schema.optionalKey(Schema.String)
  }).annotate({ description: "Decision contains the approval decision details" })),
  observedGeneration: Schema.optionalKey(
    Schema.Int.annotate({ description: "ObservedGeneration is used for optimistic locking", format: "int64" })
  ),
  phase: Schema.optionalKey(Schema.Literals(["pending", "approved", "rejected", "expired"]).annotate({ default: "pending" })),
  requestedAt: optionalString("RequestedAt is when the approval request was created", { format: "date-time" })
}).annotate({ description: "ToolApprovalRequestStatus defines the observed state of ToolApprovalRequest." })
