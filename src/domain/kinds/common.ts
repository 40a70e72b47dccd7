/**
 * Building blocks shared by several Ark kinds, mirroring the Go types upstream reuses across
 * CRDs (ValueSource, Header, Parameter, Override) and the Kubernetes types they embed
 * (metav1.Condition, metav1.LabelSelector, Secret/ConfigMap key selectors).
 *
 * Conventions the structural walker (structural.ts) relies on:
 * - `Schema.optionalKey` marks a field as not required;
 * - an annotation `default` is a Kubernetes default (applied on write like kube's CRD defaulting);
 * - `x-kubernetes-*` annotations are copied to the OpenAPI schema verbatim;
 * - `Schema.Unknown` (and records of it) are where upstream sets `x-kubernetes-preserve-unknown-fields`.
 */
import { Schema } from "effect"

/** Free-form JSON (`x-kubernetes-preserve-unknown-fields` without a type). */
export const AnyJson = Schema.Unknown

/** A JSON object whose unknown fields round-trip (`type: object` + preserve-unknown-fields). */
export const FreeformObject = Schema.Record(Schema.String, Schema.Unknown)

/** `map[string]string`. */
export const StringMap = Schema.Record(Schema.String, Schema.String)

/** An optional string field with upstream's description and, where upstream has them, default or format. */
export const optionalString = (
  description?: string,
  annotations?: { readonly default?: string; readonly format?: "date-time" }
) => Schema.optionalKey(Schema.String.annotate({ description, ...annotations }))

/** How often a controller re-checks an endpoint (Model, MCPServer, A2AServer). */
export const PollInterval = optionalString(undefined, { default: "1m" })

/** A reference to another Ark object by name, optionally in another namespace. */
export const ObjectRef = Schema.Struct({
  name: Schema.NonEmptyString,
  namespace: Schema.optionalKey(Schema.String)
})

const REFERENT_NAME = "Name of the referent.\n" +
  "This field is effectively required, but due to backwards compatibility is\n" +
  "allowed to be empty. Instances of this type with an empty value here are\n" +
  "almost certainly wrong.\n" +
  "More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#names"

/** corev1.ConfigMapKeySelector / corev1.SecretKeySelector: the same shape with different wording. */
const keySelector = (object: "ConfigMap" | "Secret", description: string, keyDescription: string) =>
  Schema.Struct({
    key: Schema.String.annotate({ description: keyDescription }),
    name: optionalString(REFERENT_NAME, { default: "" }),
    optional: Schema.optionalKey(
      Schema.Boolean.annotate({ description: `Specify whether the ${object} or its key must be defined` })
    )
  }).annotate({ description, "x-kubernetes-map-type": "atomic" })

const ConfigMapKeySelector = keySelector("ConfigMap", "Selects a key from a ConfigMap.", "The key to select.")
export const SecretKeySelector = keySelector(
  "Secret",
  "SecretKeySelector selects a key of a Secret.",
  "The key of the secret to select from.  Must be a valid secret key."
)

/** v1alpha1 and v1prealpha1 document `serviceRef.path` differently; the shape is the same. */
const serviceReference = (pathDescription: string) =>
  Schema.Struct({
    name: Schema.String.annotate({ description: "Name of the service" }),
    namespace: optionalString("Namespace of the service. Defaults to the namespace as the resource."),
    path: optionalString(pathDescription),
    port: optionalString("Port name to use. If not specified, uses the service's only port or first port.")
  })

const QueryParameterReference = Schema.Struct({
  name: Schema.NonEmptyString.annotate({ description: "Name of the parameter from the Query resource" })
})

const keyRefs = {
  configMapKeyRef: Schema.optionalKey(ConfigMapKeySelector),
  secretKeyRef: Schema.optionalKey(SecretKeySelector)
}

/** Where a v1alpha1 value may come from: ConfigMap, Secret, Service address or a Query parameter. */
export const ValueFromSource = Schema.Struct({
  ...keyRefs,
  queryParameterRef: Schema.optionalKey(QueryParameterReference),
  serviceRef: Schema.optionalKey(serviceReference(
    "Path component of the service URL. For anthropic models might be 'v1', for gemini might be " +
      "'v1beta/openai', for MCP servers often will be 'mcp' or 'sse'."
  ))
})

/** Header values cannot resolve to a Service address. */
const HeaderValueFrom = Schema.Struct({
  ...keyRefs,
  queryParameterRef: Schema.optionalKey(QueryParameterReference)
})

/** v1prealpha1 address sources: no Query parameters there. */
const AddressValueFrom = Schema.Struct({
  ...keyRefs,
  serviceRef: Schema.optionalKey(serviceReference(
    "Optional path to append to the service address. For models might be 'v1', for gemini might be " +
      "'v1beta/openai', for mcp servers might be 'mcp'."
  ))
})

/** A literal `value` or a `valueFrom` reference. */
const valueSource = <From extends Schema.Top>(valueFrom: From) =>
  Schema.Struct({
    value: Schema.optionalKey(Schema.String),
    valueFrom: Schema.optionalKey(valueFrom)
  })

/** ValueSource as used by v1alpha1 kinds (model, address and credential fields). */
export const ValueSource = valueSource(ValueFromSource).annotate({
  description: "ValueSource represents a source for a configuration value"
})

/** The v1prealpha1 address of an A2AServer or ExecutionEngine. */
export const ServiceAddress = valueSource(AddressValueFrom)

/** One HTTP header sent to a model, MCP server, memory or A2A server. */
export const Header = Schema.Struct({
  name: Schema.NonEmptyString,
  value: valueSource(HeaderValueFrom)
})

/** A named template parameter (agent prompt, query input, HTTP tool body). */
export const Parameter = Schema.Struct({
  name: Schema.NonEmptyString.annotate({ description: "Name of the parameter (used as template variable)" }),
  value: optionalString("Direct value (mutually exclusive with valueFrom)"),
  valueFrom: Schema.optionalKey(
    ValueFromSource.annotate({ description: "Reference to external sources (mutually exclusive with value)" })
  )
})

/** metav1.LabelSelector. */
export const LabelSelector = Schema.Struct({
  matchExpressions: Schema.optionalKey(
    Schema.Array(
      Schema.Struct({
        key: Schema.String.annotate({ description: "key is the label key that the selector applies to." }),
        operator: Schema.String.annotate({
          description: "operator represents a key's relationship to a set of values.\n" +
            "Valid operators are In, NotIn, Exists and DoesNotExist."
        }),
        values: Schema.optionalKey(
          Schema.Array(Schema.String).annotate({
            description: "values is an array of string values. If the operator is In or NotIn,\n" +
              "the values array must be non-empty. If the operator is Exists or DoesNotExist,\n" +
              "the values array must be empty. This array is replaced during a strategic\n" +
              "merge patch.",
            "x-kubernetes-list-type": "atomic"
          })
        )
      }).annotate({
        description: "A label selector requirement is a selector that contains values, a key, and an operator that\n" +
          "relates the key and values."
      })
    ).annotate({
      description: "matchExpressions is a list of label selector requirements. The requirements are ANDed.",
      "x-kubernetes-list-type": "atomic"
    })
  ),
  matchLabels: Schema.optionalKey(StringMap.annotate({
    description: "matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels\n" +
      "map is equivalent to an element of matchExpressions, whose key field is \"key\", the\n" +
      "operator is \"In\", and the values array contains only \"value\". The requirements are ANDed."
  }))
}).annotate({
  description: "A label selector is a label query over a set of resources. The result of matchLabels and\n" +
    "matchExpressions are ANDed. An empty label selector matches all objects. A null\n" +
    "label selector matches no objects.",
  "x-kubernetes-map-type": "atomic"
})

/** Extra headers for the models or MCP servers matched by a label selector. */
export const Override = Schema.Struct({
  headers: Schema.Array(Header),
  labelSelector: Schema.optionalKey(LabelSelector),
  resourceType: Schema.Literals(["model", "mcpserver"])
})

/** metav1.Condition. */
export const Condition = Schema.Struct({
  lastTransitionTime: Schema.String.annotate({
    description: "lastTransitionTime is the last time the condition transitioned from one status to another.\n" +
      "This should be when the underlying condition changed.  If that is not known, then using the time when the API field changed is acceptable.",
    format: "date-time"
  }),
  message: Schema.String.check(Schema.isMaxLength(32768)).annotate({
    description: "message is a human readable message indicating details about the transition.\n" +
      "This may be an empty string."
  }),
  observedGeneration: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "observedGeneration represents the .metadata.generation that the condition was set based upon.\n" +
        "For instance, if .metadata.generation is currently 12, but the .status.conditions[x].observedGeneration is 9, the condition is out of date\n" +
        "with respect to the current state of the instance.",
      format: "int64"
    })
  ),
  reason: Schema.String.check(
    Schema.isMinLength(1),
    Schema.isMaxLength(1024),
    Schema.isPattern(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
  ).annotate({
    description: "reason contains a programmatic identifier indicating the reason for the condition's last transition.\n" +
      "Producers of specific condition types may define expected values and meanings for this field,\n" +
      "and whether the values are considered a guaranteed API.\n" +
      "The value should be a CamelCase string.\n" +
      "This field may not be empty."
  }),
  status: Schema.Literals(["True", "False", "Unknown"]).annotate({
    description: "status of the condition, one of True, False, Unknown."
  }),
  type: Schema.String.check(
    Schema.isMaxLength(316),
    Schema.isPattern(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/
    )
  ).annotate({ description: "type of condition in CamelCase or in foo.example.com/CamelCase." })
}).annotate({ description: "Condition contains details for one aspect of the current state of this API Resource." })

/**
 * A `conditions` status list, described per kind as upstream does. Upstream's CRDs leave it
 * atomic; like metav1.Condition lists in kube's own types (`+listType=map`, `+listMapKey=type`) it
 * is a list-map keyed by type here, so controllers and users can each server-side apply their own
 * condition types.
 */
export const conditions = (description?: string) =>
  Schema.optionalKey(Schema.Array(Condition).annotate({
    description,
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"]
  }))
