/** ArkConfig: cluster-wide defaults; only the object named "default" is consulted; the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { optionalString } from "./common.ts"
import type { StatusCause } from "../object.ts"
import type { Admission, Json } from "./admissionRules.ts"
import { checkDuration, checkName, forbidden, invalid, record } from "./admissionRules.ts"

export const ArkConfigSpec = Schema.Struct({
  defaultMemory: Schema.optionalKey(Schema.Struct({
    name: Schema.String,
    namespace: Schema.optionalKey(Schema.String)
  }).annotate({
    description: "DefaultMemory names the Memory injected into Query resources that do not specify spec.memory,\n" +
      "and only when a Memory with that name exists in the Query namespace. Only name is meaningful: the\n" +
      "Memory is always resolved in the Query own namespace, and an explicit namespace is rejected."
  })),
  evaluationTTL: optionalString(
    "EvaluationTTL is the default TTL injected into Evaluation resources\n" +
      "that do not specify spec.ttl. If unset, the hardcoded\n" +
      "fallback of 720h is used."
  ),
  queryTTL: optionalString(
    "QueryTTL is the default TTL injected into Query resources\n" +
      "that do not specify spec.ttl. If unset, the hardcoded\n" +
      "fallback of 720h is used."
  )
}).annotate({
  description: "ArkConfigSpec defines cluster-wide Ark defaults. The singleton\n" +
    "object named \"default\" is consulted by admission webhooks when\n" +
    "a Query or Evaluation is created without an explicit ttl."
})
export type ArkConfigSpec = typeof ArkConfigSpec.Type

export const ArkConfigStatus = Schema.Struct({}).annotate({
  description: "ArkConfigStatus is reserved for future status reporting. Currently empty."
})
export type ArkConfigStatus = typeof ArkConfigStatus.Type

const checkArkConfig = (spec: Json, causes: Array<StatusCause>, name: string) => {
  if (name !== "default") {
    causes.push(invalid("metadata.name", name, `ArkConfig must be named "default"; "${name}" would be ignored as only the singleton is consulted by admission webhooks`))
  }
  checkDuration(causes, "spec.queryTTL", spec["queryTTL"], true)
  const memory = record(spec["defaultMemory"])
  if (memory !== undefined) checkName(causes, "spec.defaultMemory.name", memory["name"])
  // A cluster-wide memory would mix tenants' conversations: it is always the Query's namespace.
  if (memory?.["namespace"] !== undefined) causes.push(forbidden("spec.defaultMemory.namespace", "the default memory is resolved in each Query's own namespace"))
  checkDuration(causes, "spec.evaluationTTL", spec["evaluationTTL"], true)
}

/** Upstream's ValidateArkConfig. */
export const ArkConfigAdmission: Admission = { validate: (spec, { causes }, obj) => checkArkConfig(spec, causes, obj.metadata.name ?? "") }
