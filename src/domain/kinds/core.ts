/**
 * core/v1 Secret and ConfigMap, served by the standalone `ark serve` so that Models'
 * `apiKey.valueFrom.secretKeyRef`, MCP headers and Query parameters `valueFrom` work without a
 * kube-apiserver. Field names and descriptions follow k8s.io/api/core/v1; these kinds have no
 * spec: their fields sit at the top level of the object.
 */
import { Schema } from "effect"
import type { KubeObject, StatusCause } from "../object.ts"
import type { Admission } from "./admissionRules.ts"
import { invalid } from "./admissionRules.ts"
import { optionalString } from "./common.ts"

const stringMap = (description: string) => Schema.optionalKey(Schema.Record(Schema.String, Schema.String).annotate({ description }))

const immutable = Schema.optionalKey(Schema.Boolean.annotate({
  description: "Immutable, if set to true, ensures that data stored in the object cannot be updated (only object metadata can be modified)."
}))

export const SecretFields = {
  data: stringMap(
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. " +
      "The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here."
  ),
  stringData: stringMap(
    "stringData allows specifying non-binary secret data in string form. It is provided as a write-only input field for convenience. " +
      "All keys and values are merged into the data field on write, overwriting any existing values. The stringData field is never output when reading from the API."
  ),
  type: optionalString("Used to facilitate programmatic handling of secret data."),
  immutable
}

export const ConfigMapFields = {
  data: stringMap("Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'."),
  binaryData: stringMap("BinaryData contains the binary data, each value base64 encoded. Keys must not overlap with data."),
  immutable
}

const keyPattern = /^[-._a-zA-Z0-9]+$/

/** Why a Secret or ConfigMap key is not valid (kube's IsConfigMapKey), or undefined. */
export const keyError = (key: string): string | undefined =>
  key.length > 253
    ? "must be no more than 253 characters"
    : !keyPattern.test(key)
    ? "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
    : key === "." || key === ".."
    ? `must not be '${key}'`
    : undefined

/** Whether `s` is standard base64 with padding, as kube decodes []byte fields. */
export const isBase64 = (s: string): boolean => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)

/**
 * kube's validation of a Secret's or ConfigMap's data: valid keys, base64 values where the API
 * takes bytes, no key both in data and binaryData. Values are never echoed: they may be secret.
 */
const checkData = (kind: "Secret" | "ConfigMap", obj: KubeObject, causes: Array<StatusCause>) => {
  const body = obj as KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> }
  const bytes = kind === "Secret" ? body.data : body.binaryData
  for (const [field, map] of [["data", body.data], ["binaryData", body.binaryData]] as const) {
    for (const key of Object.keys(map ?? {})) {
      const error = keyError(key)
      if (error !== undefined) causes.push(invalid(`${field}[${key}]`, key, error))
      if (field === "binaryData" && body.data?.[key] !== undefined) causes.push(invalid(`binaryData[${key}]`, key, "duplicate of key present in data"))
    }
  }
  for (const [key, value] of Object.entries(bytes ?? {})) {
    if (!isBase64(value)) causes.push({ reason: "FieldValueInvalid", field: `${kind === "Secret" ? "data" : "binaryData"}[${key}]`, message: "Invalid value: illegal base64 data" })
  }
}

/** kube's Secret strategy: `stringData` merged into `data` (base64) and dropped; type Opaque by default. */
const normalizeSecret = (obj: KubeObject): KubeObject => {
  const { stringData, ...rest } = obj as KubeObject & { stringData?: Record<string, string>; data?: Record<string, string>; type?: string }
  const data = { ...rest.data }
  for (const [k, v] of Object.entries(stringData ?? {})) data[k] = Buffer.from(v, "utf8").toString("base64")
  return { ...rest, ...(Object.keys(data).length > 0 ? { data } : {}), type: rest.type === undefined || rest.type === "" ? "Opaque" : rest.type } as KubeObject
}

/** kube's Secret strategy and data validation. */
export const SecretAdmission: Admission = { defaults: normalizeSecret, validate: (_spec, { causes }, obj) => checkData("Secret", obj, causes) }

/** kube's ConfigMap data validation. */
export const ConfigMapAdmission: Admission = { validate: (_spec, { causes }, obj) => checkData("ConfigMap", obj, causes) }
