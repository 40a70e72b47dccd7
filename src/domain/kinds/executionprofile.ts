/** ExecutionProfile (v1prealpha1): a reusable, SDK-agnostic execution workflow any executor can follow. */
import { Schema } from "effect"
import { FreeformObject, optionalString, StringMap } from "./common.ts"

const opt = Schema.optionalKey
const bounded = (min: number, max: number) => Schema.Int.check(Schema.isGreaterThanOrEqualTo(min), Schema.isLessThanOrEqualTo(max))

const Hooks = (description: string) =>
  opt(Schema.Array(Schema.Struct({
    action: Schema.String.annotate({ description: "Action to execute (e.g., git_clone, pr_create)" }),
    condition: optionalString("Condition template - hook runs only if this evaluates to true"),
    name: Schema.String.annotate({ description: "Name of this hook instance (for logging/debugging)" }),
    params: opt(StringMap.annotate({ description: "Parameters for the action" }))
  }).annotate({ description: "Hook defines a lifecycle action" })).annotate({ description }))

const Critic = Schema.Struct({
  enabled: Schema.Boolean.annotate({ description: "Whether critic validation is enabled", default: false }),
  inline: opt(Schema.Struct({
    passCondition: optionalString("Template condition that evaluates to true/false using critic result variables."),
    prompt: Schema.String.annotate({ description: "Prompt template for the critic" }),
    runTests: opt(Schema.Boolean.annotate({ description: "Whether to run tests as part of validation", default: false })),
    testCommand: optionalString("Custom test command to run (e.g., \"pytest -v tests/\", \"npm run test:ci\")"),
    testTimeout: opt(bounded(10, 3600).annotate({ description: "Timeout for test execution in seconds", default: 300 }))
  }).annotate({ description: "Inline critic configuration" })),
  maxRetries: opt(bounded(0, 5).annotate({ description: "Maximum retries if critic rejects output", default: 2 })),
  mode: opt(Schema.Literals(["inline", "subagent"]).annotate({
    description: "Critic mode: inline (same session) or subagent (separate agent)",
    default: "inline"
  })),
  subagent: opt(Schema.Struct({
    agentRef: Schema.Struct({ name: Schema.String, namespace: opt(Schema.String) })
      .annotate({ description: "Reference to the critic agent" }),
    inputTemplate: optionalString("Template for input to the critic agent"),
    passCondition: optionalString("Condition template for passing (e.g., \"{{.CriticScore}} >= 0.8\")")
  }).annotate({ description: "Subagent critic configuration" }))
}).annotate({ description: "Critic configuration for output validation" })

export const ExecutionProfileSpec = Schema.Struct({
  critic: opt(Critic),
  execution: opt(Schema.Struct({
    maxBudgetUsd: opt(Schema.String.check(Schema.isPattern(/^\d+(\.\d{1,2})?$/)).annotate({
      description: "Maximum budget in USD as a string (SDK-agnostic, executor maps to SDK-specific param)"
    })),
    maxIterations: opt(bounded(1, 100).annotate({ description: "Maximum agent iterations/turns (interpreted by executor).", default: 25 })),
    timeout: optionalString("Timeout for agent execution", { default: "30m" })
  }).annotate({ description: "Execution constraints (SDK-agnostic: timeouts, iterations)" })),
  onFailure: Hooks("OnFailure hooks run if agent execution fails"),
  postExecute: Hooks("PostExecute hooks run after successful agent execution"),
  preExecute: Hooks("PreExecute hooks run before the agent executes"),
  sdkConfig: opt(FreeformObject.annotate({
    description: "SDKConfig contains SDK-specific configuration (opaque to profile, interpreted by executor)"
  })),
  workspace: opt(Schema.Struct({
    git: opt(Schema.Struct({
      branchPrefix: optionalString("Prefix for created branches (e.g., \"agent/feature/\")"),
      commitMessageTemplate: optionalString("Go template for commit messages"),
      defaultBranch: optionalString("Default branch to clone from", { default: "main" }),
      targetPath: optionalString("Target path within repo for file operations")
    }).annotate({ description: "Git-specific configuration" })),
    type: Schema.Literals(["git", "filesystem", "none"]).annotate({
      description: "Type of workspace: git, filesystem, or none",
      default: "none"
    })
  }).annotate({ description: "Workspace configuration for the execution environment" }))
}).annotate({ description: "ExecutionProfileSpec defines a reusable, SDK-agnostic execution workflow" })

export const ExecutionProfileStatus = Schema.Struct({
  lastValidated: optionalString("Last validation timestamp", { format: "date-time" }),
  referenceCount: opt(Schema.Int.annotate({ description: "Number of agents referencing this profile" }))
}).annotate({ description: "ExecutionProfileStatus defines observed state" })
