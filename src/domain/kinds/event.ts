/**
 * core/v1 Event, served by the standalone `ark serve` because the completions engine records
 * what it does on a Query as upstream's engine does (TeamExecutionStart, TeamTurnComplete...):
 * Events whose involvedObject is the Query, read with `kubectl get events`. Field names and
 * descriptions follow k8s.io/api/core/v1; like Secret, the fields sit at the top level.
 */
import { Schema } from "effect"
import type { KubeObject } from "../object.ts"
import type { Admission } from "./admissionRules.ts"
import { invalid } from "./admissionRules.ts"
import { optionalString } from "./common.ts"

const ObjectReference = Schema.Struct({
  apiVersion: optionalString("API version of the referent."),
  kind: optionalString("Kind of the referent."),
  namespace: optionalString("Namespace of the referent."),
  name: optionalString("Name of the referent."),
  uid: optionalString("UID of the referent."),
  resourceVersion: optionalString("Specific resourceVersion to which this reference is made, if any."),
  fieldPath: optionalString("If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.")
})

const timestamp = (description: string) => optionalString(description, { format: "date-time" })

export const EventFields = {
  involvedObject: ObjectReference.annotate({ description: "The object that this event is about." }),
  reason: optionalString("This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
  message: optionalString("A human-readable description of the status of this operation."),
  source: Schema.optionalKey(Schema.Struct({
    component: optionalString("Component from which the event is generated."),
    host: optionalString("Node name on which the event is generated.")
  }).annotate({ description: "The component reporting this event. Should be a short machine understandable string." })),
  firstTimestamp: timestamp("The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"),
  lastTimestamp: timestamp("The time at which the most recent occurrence of this event was recorded."),
  count: Schema.optionalKey(Schema.Int.annotate({ description: "The number of times this event has occurred." })),
  type: optionalString("Type of this event (Normal, Warning), new types could be added in the future"),
  eventTime: timestamp("Time when this Event was first observed."),
  action: optionalString("What action was taken/failed regarding to the Regarding object."),
  reportingComponent: optionalString("Name of the controller that emitted this Event, e.g. `kubernetes.io/kubelet`."),
  reportingInstance: optionalString("ID of the controller instance, e.g. `kubelet-xyzf`.")
}

/** kube's Event validation that concerns what a client writes: the namespace, the type. */
export const EventAdmission: Admission = {
  validate: (_spec, { causes }, obj) => {
    const event = obj as KubeObject & { involvedObject?: { namespace?: string }; type?: string }
    const about = event.involvedObject?.namespace
    if (about !== undefined && about !== "" && about !== obj.metadata.namespace) {
      causes.push(invalid("involvedObject.namespace", about, "does not match event.namespace"))
    }
    if (event.type !== undefined && event.type !== "Normal" && event.type !== "Warning") {
      causes.push({ reason: "FieldValueNotSupported", field: "type", message: `Unsupported value: "${event.type}": supported values: "Normal", "Warning"` })
    }
  }
}
