/** Evaluation: one scoring run of an Evaluator (direct input/output, a Query, a baseline, a batch, an event). */
import { Schema } from "effect"
import { conditions, optionalString, Parameter, StringMap } from "./common.ts"

const opt = Schema.optionalKey
const Int32 = Schema.Int.annotate({ format: "int32" })
const Int64 = opt(Schema.Int.annotate({ format: "int64" }))
const Phase = Schema.Literals(["pending", "running", "error", "done", "canceled"])
const ChildType = Schema.Literals(["direct", "query", "baseline", "event"])

const EvaluatorRef = Schema.Struct({
  name: Schema.String,
  namespace: opt(Schema.String),
  parameters: opt(Schema.Array(Parameter))
})

/** Upstream's own selector type: like a LabelSelector, without its atomic markers. */
const QuerySelector = Schema.Struct({
  matchExpressions: opt(Schema.Array(Schema.Struct({
    key: Schema.String,
    operator: Schema.String,
    values: opt(Schema.Array(Schema.String).annotate({ "x-kubernetes-list-type": "atomic" }))
  }))),
  matchLabels: opt(StringMap)
})

const EvaluationConfig = Schema.Struct({
  concurrency: opt(Int32.annotate({ default: 10 })),
  continueOnFailure: opt(Schema.Boolean.annotate({ default: false })),
  evaluations: opt(Schema.Array(Schema.Struct({ name: Schema.String, namespace: opt(Schema.String) }))),
  input: opt(Schema.String),
  items: opt(Schema.Array(Schema.Struct({
    config: Schema.Struct({}),
    evaluator: EvaluatorRef,
    name: opt(Schema.String),
    timeout: opt(Schema.String),
    ttl: opt(Schema.String),
    type: ChildType
  }))),
  output: opt(Schema.String),
  queryRef: opt(Schema.Struct({ name: Schema.String, namespace: opt(Schema.String), responseTarget: opt(Schema.String) })),
  querySelector: opt(QuerySelector),
  rules: opt(Schema.Array(Schema.Struct({
    description: opt(Schema.String),
    expression: Schema.String,
    name: Schema.String,
    weight: opt(Int32)
  }))),
  template: opt(Schema.Struct({
    config: Schema.Struct({}),
    evaluator: EvaluatorRef,
    namePrefix: opt(Schema.String),
    parameters: opt(Schema.Array(Parameter)),
    type: ChildType
  }))
})

export const EvaluationSpec = Schema.Struct({
  config: EvaluationConfig,
  evaluator: opt(EvaluatorRef),
  timeout: optionalString(undefined, { default: "5m" }),
  ttl: optionalString(undefined, { default: "720h" }),
  type: opt(Schema.Literals(["direct", "baseline", "query", "batch", "event"]).annotate({ default: "direct" }))
})

export const EvaluationStatus = Schema.Struct({
  batchProgress: opt(Schema.Struct({
    childEvaluations: opt(Schema.Array(Schema.Struct({
      message: opt(Schema.String),
      name: Schema.String,
      passed: opt(Schema.Boolean),
      phase: opt(Phase),
      score: opt(Schema.String)
    }))),
    completed: opt(Int32),
    failed: opt(Int32),
    running: opt(Int32),
    total: opt(Int32)
  })),
  conditions: conditions(),
  duration: opt(Schema.String),
  message: opt(Schema.String),
  passed: opt(Schema.Boolean),
  phase: opt(Phase),
  score: opt(Schema.String),
  tokenUsage: opt(Schema.Struct({ completionTokens: Int64, promptTokens: Int64, totalTokens: Int64 }))
})
