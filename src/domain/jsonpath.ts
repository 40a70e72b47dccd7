/**
 * The part of kube's JSONPath (k8s.io/client-go/util/jsonpath) that CRD additionalPrinterColumns
 * use: `.field`, `.*`, `[n]`, `[-n]`, `[start:end:step]`, `[*]`, `['key']`, and the no-op `$`, `@`
 * and spaces; an outer `{…}` is optional. Filters, `..`, unions, quoted text, numbers and
 * `range`/`end` are rejected at parse time.
 *
 * Semantics follow client-go rather than other JSONPath dialects, because the cells kubectl shows
 * must be the ones a real apiserver computes:
 * - `['a.b']` is re-parsed as `.a.b` (two fields); a key with a dot is written `.a\.b`, and every
 *   backslash in a field name is dropped;
 * - missing keys and nulls on the way yield nothing (printer columns run with AllowMissingKeys);
 * - indexing a non-array or out of bounds is an error, which `evaluate` reports as no results,
 *   the way the table convertor turns it into an empty cell;
 * - `[]` means `[0]`, and a zero-length slice stops evaluation with what was found so far.
 */
import { Result } from "effect"
import { isRecord } from "./object.ts"

export type Step =
  | { readonly _tag: "Field"; readonly name: string }
  | { readonly _tag: "Wildcard" }
  | {
    readonly _tag: "Slice"
    /** undefined: not given. */
    readonly start: number | undefined
    readonly end: number | undefined
    /** `[n]` is the slice `[n:n+1]`; kube wraps a derived end of 0 (from `[-1]`) to the length. */
    readonly endDerived: boolean
    readonly step: number | undefined
  }

export interface JsonPath {
  readonly source: string
  readonly steps: ReadonlyArray<Step>
}

/** client-go's isTerminator: characters that end a field name. */
const isTerminator = (c: string): boolean => " \t\r\n.,[]$@{}".includes(c)

const INT64_MAX = 2n ** 63n - 1n

/** strconv.Atoi of one slice bound. */
const atoi = (s: string): Result.Result<number, string> => {
  if (!/^[-+]?\d+$/.test(s)) return Result.fail(`array index ${s} is not a number`)
  const n = BigInt(s)
  return n > INT64_MAX || n < -INT64_MAX - 1n ? Result.fail(`array index ${s} is not a number`) : Result.succeed(Number(n))
}

const sliceRe = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/
const dictKeyRe = /^'([^']*)'$/

/** The inside of `[...]`, as client-go's parseArray. */
const parseBracket = (inner: string): Result.Result<ReadonlyArray<Step>, string> => {
  const text = inner === "*" ? ":" : inner
  if (text.includes(",")) return Result.fail(`unions are not supported: [${inner}]`)
  const key = dictKeyRe.exec(text)
  if (key !== null) return parseSteps(`.${key[1]}`)
  const m = sliceRe.exec(text)
  if (m === null) return Result.fail(`invalid array index ${text}`)
  const bounds: Array<number | undefined> = [undefined, undefined, undefined]
  let endDerived = false
  for (let i = 0; i < 3; i++) {
    const raw = m[i + 1] ?? ""
    if (raw === "") {
      if (i === 1) {
        bounds[1] = (bounds[0] ?? 0) + 1
        endDerived = true
      }
      continue
    }
    const digits = i > 0 ? raw.slice(1) : raw
    if (i > 0 && digits === "") continue
    const n = atoi(digits)
    if (Result.isFailure(n)) return Result.fail(n.failure)
    bounds[i] = n.success
  }
  return Result.succeed([{ _tag: "Slice", start: bounds[0], end: bounds[1], endDerived, step: bounds[2] }])
}

/** The inside of one `{...}` action, as client-go's parseInsideAction restricted to our subset. */
const parseSteps = (text: string): Result.Result<ReadonlyArray<Step>, string> => {
  const steps: Array<Step> = []
  let i = 0
  while (i < text.length) {
    if (text.startsWith("[?(", i)) return Result.fail("filters are not supported")
    if (text.startsWith("..", i)) return Result.fail("recursive descent is not supported")
    const c = text[i]!
    if (c === " " || c === "@" || c === "$") {
      i++
    } else if (c === ".") {
      let j = i + 1
      while (j < text.length && !isTerminator(text[j]!)) j += text[j] === "\\" ? 2 : 1
      j = Math.min(j, text.length)
      const name = text.slice(i + 1, j)
      steps.push(name === "*" ? { _tag: "Wildcard" } : { _tag: "Field", name: name.replaceAll("\\", "") })
      i = j
    } else if (c === "[") {
      const close = text.indexOf("]", i)
      const newline = text.indexOf("\n", i)
      if (close < 0 || (newline >= 0 && newline < close)) return Result.fail("unterminated array")
      const inner = parseBracket(text.slice(i + 1, close))
      if (Result.isFailure(inner)) return inner
      steps.push(...inner.success)
      i = close + 1
    } else if (c === "}") {
      return Result.fail("text after the expression is not supported")
    } else if (c === "\r" || c === "\n") {
      return Result.fail("unclosed action")
    } else if (c === "'" || c === "\"" || c === "+" || c === "-" || /[\p{L}\p{Nd}_]/u.test(c)) {
      return Result.fail(`unsupported expression at ${JSON.stringify(text.slice(i))}`)
    } else {
      return Result.fail(`unrecognized character in action: ${JSON.stringify(c)}`)
    }
  }
  return Result.succeed(steps)
}

/** Parses a printer column path such as `.status.phase` or `{.spec.items[0].name}`. */
export const parse = (path: string): Result.Result<JsonPath, string> => {
  const inner = path.startsWith("{") && path.endsWith("}") ? path.slice(1, -1) : path
  return Result.map(parseSteps(inner), (steps) => ({ source: path, steps }))
}

type Values = ReadonlyArray<unknown>

/** evalArray; undefined is one of kube's evaluation errors. */
const evalSlice = (input: Values, s: Extract<Step, { _tag: "Slice" }>): Values | undefined => {
  const out: Array<unknown> = []
  for (const v of input) {
    if (v === null || v === undefined) continue
    if (!Array.isArray(v)) return undefined
    const len = v.length
    let start = s.start ?? 0
    if (start < 0) start += len
    let end = s.end ?? len
    if (end < 0 || (end === 0 && s.endDerived)) end += len
    if (end === start) return out
    if (start >= len || start < 0 || end > len || end < 0 || start > end) return undefined
    const step = s.step ?? 1
    if (step <= 0) return undefined
    for (let k = start; k < end; k += step) out.push(v[k])
  }
  return out
}

const evalStep = (input: Values, s: Step): Values | undefined => {
  switch (s._tag) {
    case "Field":
      return input.flatMap((v) => isRecord(v) && Object.hasOwn(v, s.name) ? [v[s.name]] : [])
    case "Wildcard":
      return input.flatMap((v) =>
        isRecord(v) ? Object.values(v) : Array.isArray(v) ? v : typeof v === "string" ? [...new TextEncoder().encode(v)] : []
      )
    case "Slice":
      return evalSlice(input, s)
  }
}

/**
 * Every value the path selects in `obj`, in order. An unparseable path or an evaluation error
 * (out-of-bounds index, indexing a non-array) selects nothing. `.*` over a string yields its UTF-8
 * bytes, as Go's reflection does.
 */
export const evaluate = (path: JsonPath | string, obj: unknown): Values => {
  const parsed = typeof path === "string" ? parse(path) : Result.succeed(path)
  if (Result.isFailure(parsed)) return []
  let current: Values = [obj]
  for (const s of parsed.success.steps) {
    const next = evalStep(current, s)
    if (next === undefined) return []
    current = next
  }
  return current
}

const INT64_LIMIT = 2 ** 63

/**
 * Go's `%v` of a decoded JSON number: integers as int64, other values as float64 with the
 * shortest digits in `%g` form (exponent when it is < -4 or >= 6, at least two exponent digits).
 */
const goNumber = (n: number): string => {
  if (Number.isInteger(n) && Math.abs(n) < INT64_LIMIT) return BigInt(n).toString()
  const [mantissa, exp] = n.toExponential().split("e") as [string, string]
  const e = Number(exp)
  if (e < -4 || e >= 6) return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`
  return String(n)
}

/** Code-point order, which is Go's byte order of UTF-8 map keys. */
const compareKeys = (a: string, b: string): number => {
  const ca = [...a]
  const cb = [...b]
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i]!.codePointAt(0)! - cb[i]!.codePointAt(0)!
    if (d !== 0) return d
  }
  return ca.length - cb.length
}

const htmlEscapes: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029"
}

/** Go's encoding/json string: HTML-escaped, lone surrogates (invalid UTF-8 in Go) as U+FFFD. */
const goJsonString = (s: string): string =>
  JSON.stringify(s.replace(/[\uD800-\uDFFF]/gu, "\uFFFD")).replace(/[<>&\u2028\u2029]/g, (c) => htmlEscapes[c]!)

/** Go's json.Marshal of a decoded JSON value: object keys sorted, strings HTML-escaped. */
const goJson = (v: unknown): string => {
  if (typeof v === "string") return goJsonString(v)
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`
  if (isRecord(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort(compareKeys)
    return `{${keys.map((k) => `${goJsonString(k)}:${goJson(v[k])}`).join(",")}}`
  }
  return JSON.stringify(v ?? null)
}

/**
 * Text of one selected value as client-go's PrintResults writes it when the printer-column code
 * hands it a bare value: strings raw, numbers and booleans as Go's `%v`, objects and arrays as
 * compact Go JSON, and null as `<no value>` (reflect.ValueOf(nil) is not a valid value).
 */
export const printValue = (v: unknown): string => {
  if (v === null || v === undefined) return "<no value>"
  if (typeof v === "string") return v
  if (typeof v === "number") return goNumber(v)
  if (typeof v === "boolean") return String(v)
  return goJson(v)
}
