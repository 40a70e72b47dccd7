/** Evaluator: a service that scores Queries; its selector picks the Queries it evaluates automatically. */
import { Schema } from "effect"
import { LabelSelector, optionalString, Parameter, ValueSource } from "./common.ts"
import type { Admission } from "./admissionRules.ts"
import { checkAddress, sourceKeys } from "./admissionRules.ts"

const opt = Schema.optionalKey

export const EvaluatorSpec = Schema.Struct({
  address: ValueSource.annotate({ description: "Address specifies how to reach the evaluator service" }),
  description: optionalString("Description provides human-readable information about this evaluator"),
  parameters: opt(Schema.Array(Parameter).annotate({ description: "Parameters to pass to evaluation requests" })),
  selector: opt(Schema.Struct({
    ...LabelSelector.fields,
    apiGroup: optionalString("APIGroup specifies the API group (e.g., \"ark.mckinsey.com\")", { default: "ark.mckinsey.com" }),
    namespaceSelector: opt(LabelSelector.annotate({ description: "NamespaceSelector for more complex namespace selection" })),
    namespaces: opt(Schema.Array(Schema.String)),
    resourceType: Schema.Literals(["Query"])
  }).annotate({ description: "Selector configuration for automatic query evaluation", "x-kubernetes-map-type": "atomic" }))
}).annotate({
  description: "EvaluatorSpec defines the configuration for an evaluator that can assess query performance."
})

export const EvaluatorStatus = Schema.Struct({
  lastResolvedAddress: opt(Schema.String),
  message: opt(Schema.String),
  phase: opt(Schema.String)
})

/** Upstream's ValidateEvaluator, without resolving the address or looking its model up (status conditions here). */
export const EvaluatorAdmission: Admission = {
  validate: (spec, { causes }) => checkAddress(causes, "spec.address", spec["address"], sourceKeys)
}
