/**
 * The protobuf bodies client-go sends for core kinds (kubectl create secret / configmap send
 * `application/vnd.kubernetes.protobuf` and do not fall back to JSON), decoded into the JSON
 * object the rest of the server handles: kube's envelope (`k8s\0` + runtime.Unknown), then a
 * v1 Secret or ConfigMap with the ObjectMeta fields a client sets. Other kinds are refused.
 */

/** A protobuf wire-format reader over one message's bytes. */
const reader = (bytes: Uint8Array) => {
  let at = 0
  const varint = (): number => {
    let result = 0
    let shift = 0
    for (let i = 0; i < 10; i++) {
      if (at >= bytes.length) throw new Error("truncated varint")
      const b = bytes[at++]!
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
      shift += 7
    }
    throw new Error("varint too long")
  }
  const take = (n: number) => {
    if (at + n > bytes.length) throw new Error("truncated field")
    const out = bytes.subarray(at, at + n)
    at += n
    return out
  }
  /** Each field as (number, wire type, value): varints as numbers, length-delimited as bytes. */
  const fields = function*(): Generator<{ readonly field: number; readonly value: number | Uint8Array }> {
    while (at < bytes.length) {
      const tag = varint()
      const field = Math.floor(tag / 8)
      switch (tag & 7) {
        case 0:
          yield { field, value: varint() }
          break
        case 1:
          take(8)
          break
        case 2:
          yield { field, value: take(varint()) }
          break
        case 5:
          take(4)
          break
        default:
          throw new Error(`unsupported wire type ${tag & 7}`)
      }
    }
  }
  return fields()
}

const utf8 = new TextDecoder("utf-8", { fatal: true })
const str = (v: number | Uint8Array) => {
  if (typeof v === "number") throw new Error("expected a string field")
  return utf8.decode(v)
}
const bytesOf = (v: number | Uint8Array) => {
  if (typeof v === "number") throw new Error("expected a bytes field")
  return v
}

/** A map entry (key = 1, value = 2), its value as a string or as base64 of its bytes. */
const entry = (v: number | Uint8Array, value: "string" | "base64"): [string, string] => {
  let key = ""
  let text = ""
  for (const f of reader(bytesOf(v))) {
    if (f.field === 1) key = str(f.value)
    else if (f.field === 2) text = value === "string" ? str(f.value) : Buffer.from(bytesOf(f.value)).toString("base64")
  }
  return [key, text]
}

const ownerReference = (v: number | Uint8Array) => {
  const o: Record<string, unknown> = {}
  const names: Record<number, string> = { 1: "kind", 3: "name", 4: "uid", 5: "apiVersion" }
  for (const f of reader(bytesOf(v))) {
    if (names[f.field] !== undefined) o[names[f.field]!] = str(f.value)
    else if (f.field === 6) o["controller"] = f.value === 1
    else if (f.field === 7) o["blockOwnerDeletion"] = f.value === 1
  }
  return o
}

const objectMeta = (v: number | Uint8Array) => {
  const meta: Record<string, unknown> = {}
  const strings: Record<number, string> = { 1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion" }
  const labels: Record<string, string> = {}
  const annotations: Record<string, string> = {}
  const finalizers: Array<string> = []
  const owners: Array<Record<string, unknown>> = []
  for (const f of reader(bytesOf(v))) {
    if (strings[f.field] !== undefined) meta[strings[f.field]!] = str(f.value)
    else if (f.field === 11) labels[entry(f.value, "string")[0]] = entry(f.value, "string")[1]
    else if (f.field === 12) annotations[entry(f.value, "string")[0]] = entry(f.value, "string")[1]
    else if (f.field === 13) owners.push(ownerReference(f.value))
    else if (f.field === 14) finalizers.push(str(f.value))
  }
  if (Object.keys(labels).length > 0) meta["labels"] = labels
  if (Object.keys(annotations).length > 0) meta["annotations"] = annotations
  if (finalizers.length > 0) meta["finalizers"] = finalizers
  if (owners.length > 0) meta["ownerReferences"] = owners
  return meta
}

/** Field numbers of each kind's body (k8s.io/api/core/v1/generated.proto). */
const kinds: Record<string, { readonly maps: Record<number, readonly [string, "string" | "base64"]>; readonly strings: Record<number, string>; readonly bools: Record<number, string> }> = {
  Secret: { maps: { 2: ["data", "base64"], 4: ["stringData", "string"] }, strings: { 3: "type" }, bools: { 5: "immutable" } },
  ConfigMap: { maps: { 2: ["data", "string"], 3: ["binaryData", "base64"] }, strings: {}, bools: { 4: "immutable" } }
}

const envelope = [0x6b, 0x38, 0x73, 0x00]

/** A protobuf body as a JSON object; throws with a message for the client when it cannot be. */
export const decodeProtobufObject = (body: Uint8Array): Record<string, unknown> => {
  if (body.length < 4 || envelope.some((b, i) => body[i] !== b)) throw new Error("the protobuf body does not start with kube's envelope")
  let apiVersion = ""
  let kind = ""
  let raw: Uint8Array | undefined
  for (const f of reader(body.subarray(4))) {
    if (f.field === 1) {
      for (const t of reader(bytesOf(f.value))) {
        if (t.field === 1) apiVersion = str(t.value)
        else if (t.field === 2) kind = str(t.value)
      }
    } else if (f.field === 2) raw = bytesOf(f.value)
  }
  const shape = apiVersion === "v1" ? kinds[kind] : undefined
  if (shape === undefined) throw new Error(`protobuf bodies are accepted for v1 Secrets and ConfigMaps only, not ${apiVersion} ${kind}`)
  const out: Record<string, unknown> = { apiVersion, kind }
  for (const f of reader(raw ?? new Uint8Array())) {
    if (f.field === 1) out["metadata"] = objectMeta(f.value)
    else if (shape.maps[f.field] !== undefined) {
      const [name, type] = shape.maps[f.field]!
      const [key, value] = entry(f.value, type)
      out[name] = { ...(out[name] as Record<string, string> | undefined), [key]: value }
    } else if (shape.strings[f.field] !== undefined) out[shape.strings[f.field]!] = str(f.value)
    else if (shape.bools[f.field] !== undefined) out[shape.bools[f.field]!] = f.value === 1
  }
  return out
}
