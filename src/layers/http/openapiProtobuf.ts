/**
 * The OpenAPI v2 document in the protobuf form kube-apiserver also serves (gnostic's
 * `openapi.v2.Document`). kubectl asks only for this form and validates a `kind: List` against it
 * on the client, so `kubectl get -o yaml | kubectl apply -f -` needs it. Only the parts of the
 * message set that openapi.ts emits are written; JSON keys without a place in v2 are left out.
 */

type Json = Readonly<Record<string, unknown>>

/** A protobuf message under construction: fields appended in any order, as the wire format allows. */
class Message {
  private readonly parts: Array<Uint8Array> = []
  size = 0

  private push(bytes: Uint8Array) {
    this.parts.push(bytes)
    this.size += bytes.length
  }

  private varint(n: number) {
    const out: Array<number> = []
    let v = n
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    out.push(v)
    this.push(Uint8Array.from(out))
  }

  private key(field: number, wireType: 0 | 1 | 2) {
    this.varint(field * 8 + wireType)
  }

  string(field: number, value: unknown) {
    if (typeof value !== "string" || value === "") return this
    const bytes = Buffer.from(value, "utf8")
    this.key(field, 2)
    this.varint(bytes.length)
    this.push(bytes)
    return this
  }

  strings(field: number, values: unknown) {
    if (Array.isArray(values)) for (const v of values) this.string(field, v)
    return this
  }

  /** `always` writes false too, as a oneof member must be. */
  bool(field: number, value: unknown, always = false) {
    if (typeof value !== "boolean" || (!value && !always)) return this
    this.key(field, 0)
    this.varint(value ? 1 : 0)
    return this
  }

  /** int64 fields; this document holds no negative ones. */
  int(field: number, value: unknown) {
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) return this
    this.key(field, 0)
    this.varint(value)
    return this
  }

  double(field: number, value: unknown) {
    if (typeof value !== "number" || value === 0) return this
    const bytes = Buffer.alloc(8)
    bytes.writeDoubleLE(value)
    this.key(field, 1)
    this.push(bytes)
    return this
  }

  message(field: number, m: Message | undefined) {
    if (m === undefined) return this
    this.key(field, 2)
    this.varint(m.size)
    for (const p of m.parts) this.push(p)
    return this
  }

  messages(field: number, ms: ReadonlyArray<Message>) {
    for (const m of ms) this.message(field, m)
    return this
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.parts)
  }
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)
const entries = (v: unknown): ReadonlyArray<[string, unknown]> => (isObject(v) ? Object.entries(v) : [])

/** gnostic's `Any`: a value as YAML text (JSON is YAML). */
const any = (value: unknown) => new Message().string(2, JSON.stringify(value))
const named = (name: string, value: Message) => new Message().string(1, name).message(2, value)
const vendorExtensions = (o: Json) => entries(o).filter(([k]) => k.startsWith("x-")).map(([k, v]) => named(k, any(v)))

const schema = (s: Json): Message => {
  const ap = s["additionalProperties"]
  return new Message()
    .string(1, s["$ref"])
    .string(2, s["format"])
    .string(3, s["title"])
    .string(4, s["description"])
    .message(5, s["default"] === undefined ? undefined : any(s["default"]))
    .double(6, s["multipleOf"])
    .double(7, s["maximum"])
    .bool(8, s["exclusiveMaximum"])
    .double(9, s["minimum"])
    .bool(10, s["exclusiveMinimum"])
    .int(11, s["maxLength"])
    .int(12, s["minLength"])
    .string(13, s["pattern"])
    .int(14, s["maxItems"])
    .int(15, s["minItems"])
    .bool(16, s["uniqueItems"])
    .int(17, s["maxProperties"])
    .int(18, s["minProperties"])
    .strings(19, s["required"])
    .messages(20, Array.isArray(s["enum"]) ? s["enum"].map(any) : [])
    .message(21, isObject(ap) ? new Message().message(1, schema(ap)) : typeof ap === "boolean" ? new Message().bool(2, ap, true) : undefined)
    .message(22, s["type"] === undefined ? undefined : new Message().strings(1, [s["type"]].flat()))
    .message(23, s["items"] === undefined ? undefined : new Message().messages(1, [s["items"]].flat().filter(isObject).map(schema)))
    .messages(24, Array.isArray(s["allOf"]) ? s["allOf"].filter(isObject).map(schema) : [])
    .message(25, isObject(s["properties"]) ? new Message().messages(1, entries(s["properties"]).map(([k, v]) => named(k, schema(v as Json)))) : undefined)
    .bool(27, s["readOnly"])
    .message(30, s["example"] === undefined ? undefined : any(s["example"]))
    .messages(31, vendorExtensions(s))
}

/** Field numbers of the non-body parameter sub-schemas this document uses (they differ by location). */
const nonBody = {
  query: { oneof: 3, type: 6, format: 7, uniqueItems: 20, extensions: 23 },
  path: { oneof: 4, type: 5, format: 6, uniqueItems: 19, extensions: 22 }
} as const

const parameter = (p: Json) => {
  const at = p["in"]
  if (at === "body") {
    const body = new Message()
      .string(1, p["description"])
      .string(2, p["name"])
      .string(3, at)
      .bool(4, p["required"])
      .message(5, isObject(p["schema"]) ? schema(p["schema"]) : undefined)
      .messages(6, vendorExtensions(p))
    return new Message().message(1, new Message().message(1, body))
  }
  const f = at === "path" ? nonBody.path : nonBody.query
  const sub = new Message()
    .bool(1, p["required"])
    .string(2, at)
    .string(3, p["description"])
    .string(4, p["name"])
    .string(f.type, p["type"])
    .string(f.format, p["format"])
    .bool(f.uniqueItems, p["uniqueItems"])
    .messages(f.extensions, vendorExtensions(p))
  return new Message().message(1, new Message().message(2, new Message().message(f.oneof, sub)))
}

const parameters = (v: unknown) => (Array.isArray(v) ? v.filter(isObject).map(parameter) : [])

const response = (r: Json) =>
  new Message().message(
    1,
    new Message()
      .string(1, r["description"])
      .message(2, isObject(r["schema"]) ? new Message().message(1, schema(r["schema"])) : undefined)
      .messages(5, vendorExtensions(r))
  )

const operation = (o: Json) =>
  new Message()
    .strings(1, o["tags"])
    .string(2, o["summary"])
    .string(3, o["description"])
    .string(5, o["operationId"])
    .strings(6, o["produces"])
    .strings(7, o["consumes"])
    .messages(8, parameters(o["parameters"]))
    .message(9, new Message().messages(1, entries(o["responses"]).map(([code, r]) => named(code, response(r as Json)))))
    .bool(11, o["deprecated"])
    .messages(13, vendorExtensions(o))

const methods = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 } as const

const pathItem = (item: Json) => {
  const m = new Message()
  for (const [method, field] of Object.entries(methods)) {
    const op = item[method]
    if (isObject(op)) m.message(field, operation(op))
  }
  return m.messages(9, parameters(item["parameters"])).messages(10, vendorExtensions(item))
}

/** The protobuf encoding of an OpenAPI v2 (swagger 2.0) document given as JSON. */
export const openApiV2Protobuf = (doc: Json): Uint8Array => {
  const info = isObject(doc["info"]) ? doc["info"] : {}
  return new Message()
    .string(1, doc["swagger"])
    .message(2, new Message().string(1, info["title"]).string(2, info["version"]).string(3, info["description"]))
    .message(8, new Message().messages(2, entries(doc["paths"]).map(([path, item]) => named(path, pathItem(item as Json)))))
    .message(9, new Message().messages(1, entries(doc["definitions"]).map(([name, s]) => named(name, schema(s as Json)))))
    .bytes()
}
