/**
 * ObjectMeta validation with kube-apiserver's rules, reasons, field paths and messages.
 *
 * Messages follow apimachinery v0.31 (Kubernetes 1.31) word for word, because clients and
 * tests match on them (e.g. `must be no more than 63 characters`, `must have at most 262144 bytes`).
 * Lengths are counted in UTF-8 bytes, as Go's `len` does.
 */
import { isRecord, type StatusCause } from "./object.ts"

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`
const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`

const dns1123LabelRe = new RegExp(`^${DNS1123_LABEL_FMT}$`)
const dns1123SubdomainRe = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`)
const qualifiedNameRe = new RegExp(`^${QUALIFIED_NAME_FMT}$`)
const labelValueRe = new RegExp(`^${LABEL_VALUE_FMT}$`)

const DNS1123_LABEL_MAX = 63
const DNS1123_SUBDOMAIN_MAX = 253
const QUALIFIED_NAME_MAX = 63
const LABEL_VALUE_MAX = 63
/** kube's TotalAnnotationSizeLimitB: keys plus values of all annotations. */
const ANNOTATIONS_MAX_BYTES = 256 * 1024

const byteLength = (s: string): number => Buffer.byteLength(s, "utf8")

/** Go's `%q` for the strings we quote; JSON escaping is the same for everything printable. */
const goQuote = (s: string): string => JSON.stringify(s)

const maxLenError = (n: number) => `must be no more than ${n} characters`

/** apimachinery's RegexError, including its double space between examples. */
const regexError = (msg: string, fmt: string, ...examples: ReadonlyArray<string>): string =>
  examples.length === 0
    ? `${msg} (regex used for validation is '${fmt}')`
    : `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(" or ")}regex used for validation is '${fmt}')`

const QUALIFIED_NAME_ERR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

/** Reasons a string is not an RFC 1123 label (empty when it is one). */
export const dns1123LabelErrors = (value: string): ReadonlyArray<string> => {
  const errs: Array<string> = []
  if (byteLength(value) > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX))
  if (!dns1123LabelRe.test(value)) {
    errs.push(
      dns1123SubdomainRe.test(value)
        ? "must not contain dots"
        : regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          DNS1123_LABEL_FMT,
          "my-name",
          "123-abc"
        )
    )
  }
  return errs
}

/** Reasons a string is not an RFC 1123 subdomain (empty when it is one). */
export const dns1123SubdomainErrors = (value: string): ReadonlyArray<string> => {
  const errs: Array<string> = []
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX))
  if (!dns1123SubdomainRe.test(value)) {
    errs.push(regexError(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      DNS1123_SUBDOMAIN_FMT,
      "example.com"
    ))
  }
  return errs
}

/** Reasons a string is not a kube "qualified name" (label key, annotation key, finalizer). */
export const qualifiedNameErrors = (value: string): ReadonlyArray<string> => {
  const parts = value.split("/")
  if (parts.length > 2) {
    return [
      "a qualified name " + regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc") +
      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    ]
  }
  const errs: Array<string> = []
  const name = parts.length === 2 ? parts[1]! : parts[0]!
  if (parts.length === 2) {
    const prefix = parts[0]!
    if (prefix.length === 0) errs.push("prefix part must be non-empty")
    else errs.push(...dns1123SubdomainErrors(prefix).map((m) => `prefix part ${m}`))
  }
  if (name.length === 0) errs.push("name part must be non-empty")
  else if (byteLength(name) > QUALIFIED_NAME_MAX) errs.push(`name part ${maxLenError(QUALIFIED_NAME_MAX)}`)
  if (!qualifiedNameRe.test(name)) {
    errs.push(`name part ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")}`)
  }
  return errs
}

/** Reasons a string is not a valid label value (the empty string is valid). */
export const labelValueErrors = (value: string): ReadonlyArray<string> => {
  const errs: Array<string> = []
  if (byteLength(value) > LABEL_VALUE_MAX) errs.push(maxLenError(LABEL_VALUE_MAX))
  if (!labelValueRe.test(value)) {
    errs.push(regexError(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      LABEL_VALUE_FMT,
      "MyValue",
      "my_value",
      "12345"
    ))
  }
  return errs
}

export const isDns1123Label = (s: string): boolean => dns1123LabelErrors(s).length === 0
export const isDns1123Subdomain = (s: string): boolean => dns1123SubdomainErrors(s).length === 0

// ---------------------------------------------------------------------------------------------
// StatusCause constructors, rendered as apimachinery's field.Error.ErrorBody()
// ---------------------------------------------------------------------------------------------

const invalid = (field: string, renderedValue: string, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  field,
  message: `Invalid value: ${renderedValue}: ${detail}`
})

const required = (field: string, detail: string): StatusCause => ({
  reason: "FieldValueRequired",
  field,
  message: detail ? `Required value: ${detail}` : "Required value"
})

/** JSON type names as kube-openapi reports them in "must be of type" errors. */
const jsonType = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "array" : typeof u === "number"
    ? (Number.isInteger(u) ? "integer" : "number")
    : typeof u === "object" ? "object" : typeof u

/** A wrong JSON type, worded as kube's schema validation words it for custom resources. */
const typeInvalid = (field: string, expected: string, actual: unknown): StatusCause => {
  const type = goQuote(jsonType(actual))
  return {
    reason: "FieldValueTypeInvalid",
    field,
    message: `Invalid value: ${type}: ${field} in body must be of type ${expected}: ${type}`
  }
}

/** Same bug-compatible trick as kube's maskTrailingDash: a generateName may end in '-'. */
const maskTrailingDash = (name: string): string =>
  name.length > 1 && name.endsWith("-") ? name.slice(0, -2) + "a" : name

/** Reads an optional string field; null and absent mean "not set", as Go's json decoding does. */
const optionalString = (
  meta: Record<string, unknown>,
  key: "name" | "generateName" | "namespace",
  causes: Array<StatusCause>
): string => {
  const v = meta[key]
  if (v === undefined || v === null) return ""
  if (typeof v === "string") return v
  causes.push(typeInvalid(`metadata.${key}`, "string", v))
  return ""
}

/** Reads an optional map of strings, reporting each non-string value; returns the valid entries. */
const stringMap = (
  meta: Record<string, unknown>,
  key: "labels" | "annotations",
  causes: Array<StatusCause>
): ReadonlyArray<readonly [string, string]> => {
  const v = meta[key]
  if (v === undefined || v === null) return []
  if (!isRecord(v)) {
    causes.push(typeInvalid(`metadata.${key}`, "object", v))
    return []
  }
  const entries: Array<readonly [string, string]> = []
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === "string") entries.push([k, val])
    else causes.push(typeInvalid(`metadata.${key}.${k}`, "string", val))
  }
  return entries
}

const finalizerList = (meta: Record<string, unknown>, causes: Array<StatusCause>): ReadonlyArray<string> => {
  const v = meta.finalizers
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) {
    causes.push(typeInvalid("metadata.finalizers", "array", v))
    return []
  }
  const items: Array<string> = []
  v.forEach((item, i) => {
    if (typeof item === "string") items.push(item)
    else causes.push(typeInvalid(`metadata.finalizers[${i}]`, "string", item))
  })
  return items
}

const FINALIZER_ORPHAN = "orphan"
const FINALIZER_FOREGROUND = "foregroundDeletion"

/**
 * Validates `metadata` of an object being created or updated, as kube's ValidateObjectMeta.
 *
 * - `requireName`: the name must be present (after generateName was expanded, or on update).
 *   When false, a missing name is accepted if `generateName` is set, since the server will
 *   generate one; a missing name and generateName is always an error, as in kube.
 * - `namespaced`: the namespace must be a DNS-1123 label; for cluster-scoped kinds it must be empty.
 *
 * Wrong JSON types (kube would fail to decode them) are reported as `FieldValueTypeInvalid`.
 * Causes come in kube's order: generateName, name, namespace, labels, annotations, finalizers.
 */
export const validateObjectMeta = (
  meta: unknown,
  opts: { readonly namespaced: boolean; readonly requireName: boolean }
): ReadonlyArray<StatusCause> => {
  if (meta !== undefined && meta !== null && !isRecord(meta)) return [typeInvalid("metadata", "object", meta)]
  const m = isRecord(meta) ? meta : {}
  const causes: Array<StatusCause> = []

  const generateName = optionalString(m, "generateName", causes)
  if (generateName) {
    for (const msg of dns1123SubdomainErrors(maskTrailingDash(generateName))) {
      causes.push(invalid("metadata.generateName", goQuote(generateName), msg))
    }
  }

  const name = optionalString(m, "name", causes)
  if (name) {
    for (const msg of dns1123SubdomainErrors(name)) causes.push(invalid("metadata.name", goQuote(name), msg))
  } else if (opts.requireName || !generateName) {
    causes.push(required("metadata.name", "name or generateName is required"))
  }

  const namespace = optionalString(m, "namespace", causes)
  if (opts.namespaced) {
    if (!namespace) causes.push(required("metadata.namespace", ""))
    else {
      for (const msg of dns1123LabelErrors(namespace)) causes.push(invalid("metadata.namespace", goQuote(namespace), msg))
    }
  } else if (namespace) {
    causes.push({ reason: "FieldValueForbidden", field: "metadata.namespace", message: "Forbidden: not allowed on this type" })
  }

  for (const [k, v] of stringMap(m, "labels", causes)) {
    for (const msg of qualifiedNameErrors(k)) causes.push(invalid("metadata.labels", goQuote(k), msg))
    for (const msg of labelValueErrors(v)) causes.push(invalid("metadata.labels", goQuote(v), msg))
  }

  const annotations = stringMap(m, "annotations", causes)
  let annotationBytes = 0
  for (const [k, v] of annotations) {
    // kube: "the rule is QualifiedName except that case doesn't matter"
    for (const msg of qualifiedNameErrors(k.toLowerCase())) causes.push(invalid("metadata.annotations", goQuote(k), msg))
    annotationBytes += byteLength(k) + byteLength(v)
  }
  if (annotationBytes > ANNOTATIONS_MAX_BYTES) {
    causes.push({
      reason: "FieldValueTooLong",
      field: "metadata.annotations",
      message: `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes`
    })
  }

  const finalizers = finalizerList(m, causes)
  for (const f of finalizers) {
    for (const msg of qualifiedNameErrors(f)) causes.push(invalid("metadata.finalizers", goQuote(f), msg))
  }
  if (finalizers.includes(FINALIZER_ORPHAN) && finalizers.includes(FINALIZER_FOREGROUND)) {
    causes.push(invalid(
      "metadata.finalizers",
      `[]string{${finalizers.map(goQuote).join(", ")}}`,
      `finalizer ${FINALIZER_ORPHAN} and ${FINALIZER_FOREGROUND} cannot be both set`
    ))
  }
  causes.push(...ownerReferenceErrors(m.ownerReferences))
  return causes
}

/**
 * kube's ValidateOwnerReferences: each reference names its owner completely (apiVersion with a
 * version, kind, name, uid), at most one is the controller. The garbage collector acts on them,
 * so a half reference is refused rather than stored. Paths are unindexed, as kube's.
 */
const ownerReferenceErrors = (refs: unknown): ReadonlyArray<StatusCause> => {
  const field = "metadata.ownerReferences"
  if (refs === undefined || refs === null) return []
  if (!Array.isArray(refs)) return [typeInvalid(field, "array", refs)]
  const causes: Array<StatusCause> = []
  const controllers: Array<string> = []
  for (const ref of refs) {
    if (!isRecord(ref)) {
      causes.push(typeInvalid(field, "object", ref))
      continue
    }
    const text = (key: string) => {
      const v = ref[key]
      if (v === undefined || v === null || typeof v === "string") return v ?? ""
      causes.push(typeInvalid(`${field}.${key}`, "string", v))
      return undefined
    }
    const apiVersion = text("apiVersion")
    const kind = text("kind")
    const name = text("name")
    const uid = text("uid")
    // schema.FromAPIVersionAndKind: the version is what follows the last "/", or the whole apiVersion.
    if (apiVersion !== undefined && apiVersion.slice(apiVersion.lastIndexOf("/") + 1) === "") {
      causes.push(invalid(`${field}.apiVersion`, goQuote(apiVersion), "version must not be empty"))
    }
    for (const [key, v] of [["kind", kind], ["name", name], ["uid", uid]] as const) {
      if (v === "") causes.push(invalid(`${field}.${key}`, '""', "must not be empty"))
    }
    if (ref.controller !== undefined && ref.controller !== null && typeof ref.controller !== "boolean") {
      causes.push(typeInvalid(`${field}.controller`, "boolean", ref.controller))
    }
    if (ref.controller === true) controllers.push(`${String(kind)}/${String(name)}`)
  }
  if (controllers.length > 1) {
    causes.push(invalid(field, "[...]", `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(" and ")}`))
  }
  return causes
}

/** kube's name-generation alphabet: no vowels (no accidental words) and no look-alike characters. */
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
const SUFFIX_LENGTH = 5
/** kube truncates generateName so that base + suffix still fits a 63-character DNS label. */
const MAX_GENERATED_BASE_LENGTH = 63 - SUFFIX_LENGTH

/** The random 5-character suffix kube appends to `metadata.generateName`. */
export const generateNameSuffix = (): string => {
  let s = ""
  for (let i = 0; i < SUFFIX_LENGTH; i++) s += SUFFIX_ALPHABET[Math.floor(Math.random() * SUFFIX_ALPHABET.length)]
  return s
}

/** A name generated from `generateName` exactly as kube's SimpleNameGenerator does (truncate, then suffix). */
export const generateObjectName = (base: string): string =>
  base.slice(0, MAX_GENERATED_BASE_LENGTH) + generateNameSuffix()
