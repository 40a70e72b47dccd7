/**
 * The JSONPath of kube (k8s.io/client-go/util/jsonpath) as kube-apiserver runs it for CRD
 * additionalPrinterColumns: one action, parsed and evaluated the way client-go's parser.go and
 * jsonpath.go do. Supported: `.field`, `.*`, `..` (recursive descent), `[n]`, `[-n]`,
 * `[start:end:step]`, `[*]`, `['key']`, unions `[0,1]`/`['a','b']`, filters `[?(@.a == "x")]`
 * (`==`, `!=`, `<`, `>`, `<=`, `>=`, and the existence test `[?(@.a)]`), quoted strings, numbers,
 * `true`/`false`, and the no-op `$`, `@` and spaces; an outer `{…}` is optional.
 *
 * Semantics follow client-go rather than other JSONPath dialects, because the cells kubectl shows
 * must be the ones a real apiserver computes:
 * - `['a.b']` is re-parsed as `.a.b` (two fields); a key with a dot is written `.a\.b`, and every
 *   backslash in a field name is dropped;
 * - missing keys and nulls on the way yield nothing (printer columns run with AllowMissingKeys);
 * - indexing a non-array or out of bounds is an error, which `evaluate` reports as no results,
 *   the way the table convertor turns it into an empty cell;
 * - `[]` means `[0]`, and a zero-length slice stops evaluation with what was found so far;
 * - a filter's text runs to the first `)` outside quotes and is split at the first run of
 *   `!<>=` characters; each side is a path evaluated against one array element. An element is
 *   skipped when either side selects nothing; more than one value on a side, an unknown
 *   operator, or a comparison Go's text/template rejects (null, objects, arrays, mixed kinds
 *   such as a string against a number or an integer against a float, and ordering of booleans)
 *   fails the whole evaluation. `[?(@.a)]` keeps an element when `@.a` selects anything, a null
 *   included, and ignores errors. Filtering a non-array (or null) is an error;
 * - JSON numbers that are integers (below 2^63) are Go int64, others float64, as after a round
 *   trip through etcd; literals follow strconv: `1` is an int, `1.0` a float, so `@.n == 1.0`
 *   fails on an integer `n`. Strings order by UTF-8 bytes;
 * - `..` selects every non-empty object, array and string below and including the current
 *   values, depth first (Go visits map entries in random order; this takes insertion order);
 * - identifiers other than `true`/`false` fail evaluation; `range` (which in client-go also
 *   corrupts the shared parser) selects nothing.
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
  | { readonly _tag: "Recursive" }
  /** `operator` is the raw text between the sides (checked when evaluated), or `exists`. */
  | { readonly _tag: "Filter"; readonly left: Steps; readonly right: Steps; readonly operator: string }
  | { readonly _tag: "Union"; readonly branches: ReadonlyArray<Steps> }
  | { readonly _tag: "Text"; readonly value: string }
  | { readonly _tag: "Int"; readonly value: bigint }
  | { readonly _tag: "Float"; readonly value: number }
  | { readonly _tag: "Bool"; readonly value: boolean }
  | { readonly _tag: "Identifier"; readonly name: string }

export type Steps = ReadonlyArray<Step>

export interface JsonPath {
  readonly source: string
  readonly steps: Steps
}

const INT64_LIMIT = 2 ** 63
const INT64_MAX = 2n ** 63n - 1n

/** client-go's isTerminator: characters that end a field name or identifier ("" is end of input). */
const isTerminator = (c: string): boolean => c === "" || " \t\r\n.,[]$@{}".includes(c)
const isDigit = (c: string): boolean => /^\p{Nd}$/u.test(c)
const isAlphaNumeric = (c: string): boolean => c === "_" || /^[\p{L}\p{Nd}]$/u.test(c)

/** The rune at `pos`, or "" at the end. */
const runeAt = (text: string, pos: number): string => {
  const cp = text.codePointAt(pos)
  return cp === undefined ? "" : String.fromCodePoint(cp)
}

/** strconv.Atoi: undefined when not a decimal int64. */
const atoi = (s: string): bigint | undefined => {
  if (!/^[-+]?\d+$/.test(s)) return undefined
  const n = BigInt(s)
  return n > INT64_MAX || n < -INT64_MAX - 1n ? undefined : n
}

const sliceRe = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/
const dictKeyRe = /^'([^']*)'$/
/** parseFilter's split: left side, operator, right side (`.` is any rune: no newline can occur). */
const filterRe = /^([^!<>=]+)([!<>=]+)([\s\S]+?)$/

/** The slice inside `[...]`, as the tail of client-go's parseArray. */
const parseSlice = (text: string): Result.Result<Step, string> => {
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
    if (n === undefined) return Result.fail(`array index ${digits} is not a number`)
    bounds[i] = Number(n)
  }
  return Result.succeed({ _tag: "Slice", start: bounds[0], end: bounds[1], endDerived, step: bounds[2] })
}

const simpleEscapes: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92 }
const utf8 = new TextEncoder()

/** client-go's UnquoteExtend: strconv.Unquote for `"…"` and `'…'` alike. */
const unquote = (quoted: string): string | undefined => {
  const quote = quoted[0]!
  const s = quoted.slice(1, -1)
  if (!s.includes("\\") && !s.includes(quote)) return s
  const bytes: Array<number> = []
  let i = 0
  while (i < s.length) {
    const c = runeAt(s, i)
    if (c === quote) return undefined
    if (c !== "\\") {
      bytes.push(...utf8.encode(c))
      i += c.length
      continue
    }
    const e = s[i + 1]
    if (e === undefined) return undefined
    i += 2
    if (Object.hasOwn(simpleEscapes, e)) {
      bytes.push(simpleEscapes[e]!)
    } else if (e === "'" || e === "\"") {
      if (e !== quote) return undefined
      bytes.push(e.charCodeAt(0))
    } else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8
      const hex = s.slice(i, i + n)
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return undefined
      i += n
      const v = parseInt(hex, 16)
      if (e === "x") bytes.push(v)
      else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return undefined
      else bytes.push(...utf8.encode(String.fromCodePoint(v)))
    } else if (e >= "0" && e <= "7") {
      const oct = e + s.slice(i, i + 2)
      if (!/^[0-7]{3}$/.test(oct)) return undefined
      i += 2
      const v = parseInt(oct, 8)
      if (v > 255) return undefined
      bytes.push(v)
    } else {
      return undefined
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes))
}

interface Stop {
  /** Just past the action: after its `}`, or the end of the text. */
  readonly pos: number
  /** Whether a `}` ended it. */
  readonly closed: boolean
}

type Parsed<A> = Result.Result<A, string>

/**
 * client-go's parseInsideAction from `pos`, appending to `out`: runs to the closing `}` or the end
 * of the text.
 */
const parseInside = (text: string, pos: number, out: Array<Step>): Parsed<Stop> => {
  let i = pos
  for (;;) {
    if (text.startsWith("}", i)) return Result.succeed({ pos: i + 1, closed: true })
    if (text.startsWith("[?(", i)) {
      const r = parseFilter(text, i)
      if (Result.isFailure(r)) return Result.fail(r.failure)
      out.push(r.success.step)
      i = r.success.pos
      continue
    }
    if (text.startsWith("..", i)) {
      if (out.at(-1)?._tag === "Recursive") return Result.fail("invalid multiple recursive descent")
      out.push({ _tag: "Recursive" })
      i += 2
      if (isAlphaNumeric(runeAt(text, i))) i = parseField(text, i, out)
      continue
    }
    const c = runeAt(text, i)
    if (c === "") return Result.succeed({ pos: i, closed: false })
    if (c === "\r" || c === "\n") return Result.fail("unclosed action")
    if (c === " " || c === "@" || c === "$") {
      i++
    } else if (c === "[") {
      const r = parseArray(text, i, out)
      if (Result.isFailure(r)) return Result.fail(r.failure)
      i = r.success
    } else if (c === "\"" || c === "'") {
      let j = i + 1
      for (;;) {
        const d = text[j]
        if (d === undefined || d === "\n") return Result.fail("unterminated quoted string")
        if (d === c && text[j - 1] !== "\\") break
        j++
      }
      const value = unquote(text.slice(i, j + 1))
      if (value === undefined) return Result.fail(`unquote string ${text.slice(i, j + 1)} error`)
      out.push({ _tag: "Text", value })
      i = j + 1
    } else if (c === ".") {
      i = parseField(text, i + 1, out)
    } else if (c === "+" || c === "-" || isDigit(c)) {
      let j = c === "+" || c === "-" ? i + 1 : i
      for (let d = runeAt(text, j); d === "." || isDigit(d); d = runeAt(text, j)) j += d.length
      const raw = text.slice(i, j)
      const int = atoi(raw)
      if (int !== undefined) {
        out.push({ _tag: "Int", value: int })
      } else {
        const float = /^[-+]?(\d+\.?\d*|\.\d+)$/.test(raw) ? Number(raw) : NaN
        if (!Number.isFinite(float)) return Result.fail(`cannot parse number ${raw}`)
        out.push({ _tag: "Float", value: float })
      }
      i = j
    } else if (isAlphaNumeric(c)) {
      let j = i
      for (let d = runeAt(text, j); !isTerminator(d); d = runeAt(text, j)) j += d.length
      const name = text.slice(i, j)
      out.push(name === "true" || name === "false" ? { _tag: "Bool", value: name === "true" } : { _tag: "Identifier", name })
      i = j
    } else {
      return Result.fail(`unrecognized character in action: ${JSON.stringify(c)}`)
    }
  }
}

/** client-go's parseField from just after the `.`; returns where the name ends. */
const parseField = (text: string, pos: number, out: Array<Step>): number => {
  let j = pos
  for (let d = runeAt(text, j); !isTerminator(d); d = runeAt(text, j)) {
    j += d.length
    if (d === "\\") j += runeAt(text, j).length
  }
  const name = text.slice(pos, j)
  out.push(name === "*" ? { _tag: "Wildcard" } : { _tag: "Field", name: name.replaceAll("\\", "") })
  return j
}

/** client-go's parseArray at the `[`: a union, a quoted key or a slice. Returns the end. */
const parseArray = (text: string, pos: number, out: Array<Step>): Parsed<number> => {
  const close = text.indexOf("]", pos)
  const newline = text.indexOf("\n", pos)
  if (close < 0 || (newline >= 0 && newline < close)) return Result.fail("unterminated array")
  const inner = text.slice(pos + 1, close)
  const body = inner === "*" ? ":" : inner
  const parts = body.split(",")
  if (parts.length > 1) {
    const branches: Array<Steps> = []
    for (const part of parts) {
      const branch = parseAction(`[${part.replace(/^ +| +$/g, "")}]`)
      if (Result.isFailure(branch)) return Result.fail(branch.failure)
      branches.push(branch.success)
    }
    out.push({ _tag: "Union", branches })
    return Result.succeed(close + 1)
  }
  const key = dictKeyRe.exec(body)
  if (key !== null) {
    const steps = parseAction(`.${key[1]}`)
    if (Result.isFailure(steps)) return Result.fail(steps.failure)
    out.push(...steps.success)
    return Result.succeed(close + 1)
  }
  const slice = parseSlice(body)
  if (Result.isFailure(slice)) return Result.fail(slice.failure)
  out.push(slice.success)
  return Result.succeed(close + 1)
}

/** client-go's parseFilter at the `[?(`. */
const parseFilter = (text: string, pos: number): Parsed<{ readonly step: Step; readonly pos: number }> => {
  let i = pos + 3
  let begin = false
  let end = false
  let pair = ""
  for (;;) {
    const c = text[i]
    if (c === undefined || c === "\n") return Result.fail("unterminated filter")
    i++
    if (c === "\"" || c === "'") {
      if (!begin) {
        begin = true
        pair = c
      } else if (text[i - 2] !== "\\" && c === pair) {
        end = true
      }
    } else if (c === ")" && begin === end) {
      break
    }
  }
  if (text[i] !== "]") return Result.fail("unclosed array expect ]")
  const expression = text.slice(pos + 3, i - 1)
  const m = filterRe.exec(expression)
  const left = parseAction(m === null ? expression : m[1]!)
  if (Result.isFailure(left)) return Result.fail(left.failure)
  const right = m === null ? Result.succeed<Steps>([]) : parseAction(m[3]!)
  if (Result.isFailure(right)) return Result.fail(right.failure)
  const operator = m === null ? "exists" : m[2]!
  return Result.succeed({ step: { _tag: "Filter", left: left.success, right: right.success, operator }, pos: i + 1 })
}

/**
 * client-go's parseAction: `text` parsed as the template `{text}`, keeping its first action.
 * Whatever follows a `}` in `text` is template text, where any further action must still parse.
 */
const parseAction = (text: string): Parsed<Steps> => {
  const input = `{${text}}`
  let first: Steps | undefined
  let pos = 0
  for (;;) {
    const open = input.indexOf("{", pos)
    if (open < 0) return Result.succeed(first ?? [])
    const steps: Array<Step> = []
    const stop = parseInside(input, open + 1, steps)
    if (Result.isFailure(stop)) return Result.fail(stop.failure)
    if (!stop.success.closed) return Result.fail("unclosed action")
    first ??= steps
    pos = stop.success.pos
  }
}

/** Parses a printer column path such as `.status.phase` or `{.spec.items[0].name}`. */
export const parse = (path: string): Result.Result<JsonPath, string> => {
  const inner = path.startsWith("{") && path.endsWith("}") ? path.slice(1, -1) : path
  const steps: Array<Step> = []
  const stop = parseInside(inner, 0, steps)
  if (Result.isFailure(stop)) return Result.fail(stop.failure)
  if (stop.success.closed) return Result.fail("text after the expression is not supported")
  return Result.succeed({ source: path, steps })
}

type Values = ReadonlyArray<unknown>

/** A float literal: JSON numbers that are integers are int64 to Go, so `1.0` needs a mark. */
class GoFloat {
  readonly value: number
  constructor(value: number) {
    this.value = value
  }
}

/** A Go map: a JSON object (a GoFloat is a scalar). */
const isMap = (v: unknown): v is Record<string, unknown> => isRecord(v) && !(v instanceof GoFloat)

/** What one step yields; `failed` is one of kube's evaluation errors, with the values it returns. */
interface Outcome {
  readonly values: Values
  readonly failed: boolean
}

const ok = (values: Values): Outcome => ({ values, failed: false })
const failed = (values: Values): Outcome => ({ values, failed: true })

interface Context {
  /** `range` was evaluated: client-go then treats the results as a range body and returns none. */
  range: boolean
}

/** evalArray. */
const evalSlice = (input: Values, s: Extract<Step, { _tag: "Slice" }>): Outcome => {
  const out: Array<unknown> = []
  for (const v of input) {
    if (v === null || v === undefined) continue
    if (!Array.isArray(v)) return failed(input)
    const len = v.length
    let start = s.start ?? 0
    if (start < 0) start += len
    let end = s.end ?? len
    if (end < 0 || (end === 0 && s.endDerived)) end += len
    if (end === start) return ok(out)
    if (start >= len || start < 0 || end > len || end < 0 || start > end) return failed(input)
    const step = s.step ?? 1
    if (step <= 0) return failed(input)
    for (let k = start; k < end; k += step) out.push(v[k])
  }
  return ok(out)
}

/** What Go's reflection iterates in a value: map values, array elements, a string's UTF-8 bytes. */
const children = (v: unknown): Values =>
  isMap(v) ? Object.values(v) : Array.isArray(v) ? v : typeof v === "string" ? [...utf8.encode(v)] : []

/** evalRecursive: each value that has children, then its descendants, depth first. */
const evalRecursive = (input: Values): Values => {
  const out: Array<unknown> = []
  const visit = (values: Values): void => {
    for (const v of values) {
      if (v === null || v === undefined) continue
      const cs = children(v)
      if (cs.length === 0) continue
      out.push(v)
      visit(cs)
    }
  }
  visit(input)
  return out
}

/** text/template's basic kinds; undefined is errBadComparisonType. */
type Basic =
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }

const basic = (u: unknown): Basic | undefined => {
  if (typeof u === "boolean") return { kind: "bool", value: u }
  if (typeof u === "bigint") return { kind: "int", value: u }
  if (u instanceof GoFloat) return { kind: "float", value: u.value }
  if (typeof u === "number") {
    return Number.isInteger(u) && Math.abs(u) < INT64_LIMIT ? { kind: "int", value: BigInt(u) } : { kind: "float", value: u }
  }
  if (typeof u === "string") return { kind: "string", value: u }
  return undefined
}

/** template.Equal; undefined is an error. */
const equal = (a: Basic | undefined, b: Basic | undefined): boolean | undefined =>
  a === undefined || b === undefined || a.kind !== b.kind ? undefined : a.value === b.value

/** template.Less; undefined is an error. */
const less = (a: Basic | undefined, b: Basic | undefined): boolean | undefined => {
  if (a === undefined || b === undefined || a.kind !== b.kind) return undefined
  if (a.kind === "int" && b.kind === "int") return a.value < b.value
  if (a.kind === "float" && b.kind === "float") return a.value < b.value
  if (a.kind === "string" && b.kind === "string") return compareKeys(a.value, b.value) < 0
  return undefined
}

const lessEqual = (a: Basic | undefined, b: Basic | undefined): boolean | undefined => {
  const lt = less(a, b)
  return lt === undefined ? undefined : lt || equal(a, b)
}

const not = (b: boolean | undefined): boolean | undefined => b === undefined ? undefined : !b

/** One filter comparison as evalFilter runs it; undefined is an error. */
const compare = (operator: string, left: unknown, right: unknown): boolean | undefined => {
  const a = basic(left)
  const b = basic(right)
  switch (operator) {
    case "<":
      return less(a, b)
    case ">":
      return not(lessEqual(a, b))
    case "==":
      return equal(a, b)
    case "!=":
      return not(equal(a, b))
    case "<=":
      return lessEqual(a, b)
    case ">=":
      return not(less(a, b))
    default:
      return undefined
  }
}

/** evalFilter: the elements of each input array that pass. */
const evalFilter = (input: Values, f: Extract<Step, { _tag: "Filter" }>, ctx: Context): Outcome => {
  const out: Array<unknown> = []
  for (const v of input) {
    if (!Array.isArray(v)) return failed(input)
    for (const element of v) {
      const lefts = evalList([element], f.left, ctx)
      if (f.operator === "exists") {
        if (lefts.values.length > 0) out.push(element)
        continue
      }
      if (lefts.failed || lefts.values.length > 1) return failed(input)
      if (lefts.values.length === 0) continue
      const rights = evalList([element], f.right, ctx)
      if (rights.failed || rights.values.length > 1) return failed(input)
      if (rights.values.length === 0) continue
      const pass = compare(f.operator, lefts.values[0], rights.values[0])
      if (pass === undefined) return failed(out)
      if (pass) out.push(element)
    }
  }
  return ok(out)
}

const evalStep = (input: Values, s: Step, ctx: Context): Outcome => {
  switch (s._tag) {
    case "Field":
      return ok(input.flatMap((v) => isMap(v) && Object.hasOwn(v, s.name) ? [v[s.name]] : []))
    case "Wildcard":
      return ok(input.flatMap((v) => v === null || v === undefined ? [] : children(v)))
    case "Slice":
      return evalSlice(input, s)
    case "Recursive":
      return ok(evalRecursive(input))
    case "Filter":
      return evalFilter(input, s, ctx)
    case "Union": {
      const out: Array<unknown> = []
      for (const branch of s.branches) {
        const r = evalList(input, branch, ctx)
        if (r.failed) return failed(input)
        out.push(...r.values)
      }
      return ok(out)
    }
    case "Text":
      return ok([s.value])
    case "Int":
    case "Bool":
      return ok(input.map(() => s.value))
    case "Float": {
      const f = new GoFloat(s.value)
      return ok(input.map(() => f))
    }
    case "Identifier":
      if (s.name === "range") {
        ctx.range = true
        return ok(input)
      }
      return failed(s.name === "end" ? [] : input)
  }
}

/** evalList: the steps in turn; a failure stops with what the failing step returned. */
const evalList = (input: Values, steps: Steps, ctx: Context): Outcome => {
  let current = input
  for (const s of steps) {
    const next = evalStep(current, s, ctx)
    if (next.failed) return next
    current = next.values
  }
  return ok(current)
}

/** Literals as plain JSON values. */
const plain = (v: unknown): unknown => v instanceof GoFloat ? v.value : typeof v === "bigint" ? Number(v) : v

/**
 * Every value the path selects in `obj`, in order. An unparseable path or an evaluation error
 * (out-of-bounds index, indexing or filtering a non-array, a bad comparison) selects nothing.
 * `.*` over a string yields its UTF-8 bytes, as Go's reflection does.
 */
export const evaluate = (path: JsonPath | string, obj: unknown): Values => {
  const parsed = typeof path === "string" ? parse(path) : Result.succeed(path)
  if (Result.isFailure(parsed)) return []
  const ctx: Context = { range: false }
  const result = evalList([obj], parsed.success.steps, ctx)
  return result.failed || ctx.range ? [] : result.values.map(plain)
}

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
