/** Evaluation: one scoring run of an Evaluator (direct input/output, a Query, a baseline, a batch, an event). */
import { Schema } from "effect"
import { conditions, optionalString, Parameter, StringMap } from "./common.ts"
import type { StatusCause } from "../object.ts"
import type { Admission, Json } from "./admissionRules.ts"
import { checkName, forbidden, list, record, required, text } from "./admissionRules.ts"

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

const filled = (v: unknown) => (text(v) ?? "") !== ""

/** What each evaluation type needs in spec.config, and what it may not set (upstream's mode rules). */
const checkMode = (type: string, config: Json, causes: Array<StatusCause>) => {
  const needs = (field: string, present: boolean, detail: string) => {
    if (!present) causes.push(required(`spec.config.${field}`, detail))
  }
  const refuses = (field: string, detail: string) => {
    if (config[field] !== undefined && config[field] !== "") causes.push(forbidden(`spec.config.${field}`, detail))
  }
  switch (type) {
    case "direct":
      needs("input", filled(config["input"]), "direct mode evaluation requires non-empty input in config")
      needs("output", filled(config["output"]), "direct mode evaluation requires non-empty output in config")
      refuses("queryRef", "direct mode evaluation cannot specify queryRef in config")
      break
    case "query":
      needs("queryRef", config["queryRef"] !== undefined, "query mode evaluation requires queryRef in config")
      refuses("input", "query mode evaluation cannot specify input in config (will be populated from query)")
      refuses("output", "query mode evaluation cannot specify output in config (will be populated from query)")
      break
    case "batch":
      needs("evaluations", list(config["evaluations"]).length > 0, "batch mode evaluation requires non-empty evaluations list in config")
      refuses("input", "batch mode evaluation cannot specify input in config")
      refuses("output", "batch mode evaluation cannot specify output in config")
      break
    case "event":
      needs("rules", list(config["rules"]).length > 0, "event mode evaluation should specify rules in config")
      break
  }
}

/** Upstream's ValidateEvaluation, without looking the Evaluator up (a status condition here). */
export const EvaluationAdmission: Admission = {
  validate: (spec, { causes }) => {
    checkMode(text(spec["type"]) ?? "direct", record(spec["config"]) ?? {}, causes)
    const evaluator = record(spec["evaluator"])
    if (evaluator !== undefined) checkName(causes, "spec.evaluator.name", evaluator["name"])
    list(evaluator?.["parameters"]).forEach((p, i) => {
      if (!filled(record(p)?.["value"])) causes.push(required(`spec.evaluator.parameters[${i}].value`, `evaluator parameter[${i}]: value cannot be empty`))
    })
  }
}
