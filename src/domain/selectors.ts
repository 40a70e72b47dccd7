/**
 * Label and field selectors with the grammar, normalisation, error messages and matching
 * semantics of apimachinery's `labels.Parse` and `fields.ParseSelector` (v0.31).
 *
 * Deliberate gap: kube's label grammar also has `k>N` / `k<N` (integer comparisons, used by
 * node affinity, practically never in list calls). `LabelOperator` does not model them, so they
 * are rejected with an explicit "not supported" error instead of being silently mismatched.
 */
import { Result } from "effect"
import { labelValueErrors, qualifiedNameErrors } from "./validation.ts"

export type LabelOperator = "=" | "!=" | "in" | "notin" | "exists" | "!exists"

export interface LabelRequirement {
  readonly key: string
  readonly operator: LabelOperator
  /** Sorted and de-duplicated, as kube's parser yields them; one value for `=`/`!=`, none for exists. */
  readonly values: ReadonlyArray<string>
}

export interface FieldRequirement {
  readonly field: "metadata.name" | "metadata.namespace"
  readonly operator: "=" | "!="
  readonly value: string
}

// ---------------------------------------------------------------------------------------------
// Label selector lexer
// ---------------------------------------------------------------------------------------------

type Token =
  | "error"
  | "end"
  | ")"
  | ","
  | "!"
  | "=="
  | "="
  | ">"
  | "<"
  | "identifier"
  | "in"
  | "notin"
  | "!="
  | "("

interface Scanned {
  readonly tok: Token
  readonly lit: string
}

const literalTokens: ReadonlyMap<string, Token> = new Map<string, Token>(
  [")", ",", "!", "==", "=", ">", "<", "in", "notin", "!=", "("].map((t) => [t, t as Token])
)

const isWhitespace = (ch: string) => ch === " " || ch === "\t" || ch === "\r" || ch === "\n"
const isSpecialSymbol = (ch: string) => "=!(),><".includes(ch)

/** Tokenises like kube's Lexer: identifiers run until whitespace or a special symbol; symbols are longest-match. */
const scan = (s: string): ReadonlyArray<Scanned> => {
  const items: Array<Scanned> = []
  let pos = 0
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++
    if (pos >= s.length) {
      items.push({ tok: "end", lit: "" })
      return items
    }
    const start = pos
    if (isSpecialSymbol(s[pos]!)) {
      let last: Scanned | undefined
      while (pos < s.length && isSpecialSymbol(s[pos]!)) {
        const tok = literalTokens.get(s.slice(start, pos + 1))
        if (tok !== undefined) last = { tok, lit: s.slice(start, pos + 1) }
        else if (last !== undefined) break
        pos++
      }
      items.push(last ?? { tok: "error", lit: `error expected: keyword found '${s.slice(start, pos)}'` })
    } else {
      while (pos < s.length && !isSpecialSymbol(s[pos]!) && !isWhitespace(s[pos]!)) pos++
      const lit = s.slice(start, pos)
      items.push({ tok: literalTokens.get(lit) ?? "identifier", lit })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Label selector parser
// ---------------------------------------------------------------------------------------------

/** kube's error for a failed regex/length check in a selector: a field.Error with a nil path. */
const invalidValue = (path: string, value: string, errs: ReadonlyArray<string>) =>
  `${path}: Invalid value: ${JSON.stringify(value)}: ${errs.join("; ")}`

/** Mirrors utilerrors.Aggregate's rendering: a single error bare, several in brackets. */
const aggregate = (errs: ReadonlyArray<string>) => errs.length === 1 ? errs[0]! : `[${errs.join(", ")}]`

const sortedUnique = (values: Iterable<string>): ReadonlyArray<string> => [...new Set(values)].sort()

const byKey = (a: LabelRequirement, b: LabelRequirement) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0

class LabelParser {
  private position = 0
  private readonly items: ReadonlyArray<Scanned>
  constructor(items: ReadonlyArray<Scanned>) {
    this.items = items
  }

  /** In a values position `in`/`notin` are plain identifiers (`notin=in` is a valid selector). */
  private lookahead(values: boolean): Scanned {
    const item = this.items[this.position]!
    return values && (item.tok === "in" || item.tok === "notin") ? { tok: "identifier", lit: item.lit } : item
  }

  private consume(values: boolean): Scanned {
    const item = this.lookahead(values)
    this.position++
    return item
  }

  parse(): Result.Result<ReadonlyArray<LabelRequirement>, string> {
    const reqs: Array<LabelRequirement> = []
    for (;;) {
      const { tok, lit } = this.lookahead(true)
      if (tok === "end") return Result.succeed(reqs.sort(byKey))
      if (tok !== "identifier" && tok !== "!") {
        return Result.fail(`found '${lit}', expected: !, identifier, or 'end of string'`)
      }
      const r = this.parseRequirement()
      if (Result.isFailure(r)) return Result.fail(`unable to parse requirement: ${r.failure}`)
      reqs.push(r.success)
      const next = this.consume(true)
      if (next.tok === "end") return Result.succeed(reqs.sort(byKey))
      if (next.tok !== ",") return Result.fail(`found '${next.lit}', expected: ',' or 'end of string'`)
      const after = this.lookahead(true)
      if (after.tok !== "identifier" && after.tok !== "!") {
        return Result.fail(`found '${after.lit}', expected: identifier after ','`)
      }
    }
  }

  private parseRequirement(): Result.Result<LabelRequirement, string> {
    const first = this.consume(true)
    const negated = first.tok === "!"
    const { tok, lit: key } = negated ? this.consume(true) : first
    if (tok !== "identifier") return Result.fail(`found '${key}', expected: identifier`)
    const keyErrs = qualifiedNameErrors(key)
    if (keyErrs.length > 0) return Result.fail(invalidValue("<nil>", key, keyErrs))
    const next = this.lookahead(true).tok
    if (negated || next === "end" || next === ",") {
      // kube: `!k` followed by an operator is reported by the caller as "expected ',' or 'end of string'"
      return Result.succeed({ key, operator: negated ? "!exists" : "exists", values: [] })
    }
    const op = this.consume(false)
    let operator: LabelOperator
    let values: Result.Result<ReadonlyArray<string>, string>
    switch (op.tok) {
      case "in":
      case "notin":
        operator = op.tok
        values = this.parseValues()
        break
      case "=":
      case "==":
      case "!=":
        operator = op.tok === "!=" ? "!=" : "="
        values = this.parseExactValue()
        break
      case ">":
      case "<":
        return Result.fail(`integer comparison operator '${op.lit}' is not supported`)
      default:
        return Result.fail(`found '${op.lit}', expected: in, notin, =, ==, !=, gt, lt`)
    }
    if (Result.isFailure(values)) return Result.fail(values.failure)
    const valueErrs = values.success.flatMap((v, i) => {
      const errs = labelValueErrors(v)
      return errs.length > 0 ? [invalidValue(`values[${i}][${key}]`, v, errs)] : []
    })
    if (valueErrs.length > 0) return Result.fail(aggregate(valueErrs))
    return Result.succeed({ key, operator, values: values.success })
  }

  /** `( v1, v2 )`; empty members are the empty string, so `()` means `("")` as in kube. */
  private parseValues(): Result.Result<ReadonlyArray<string>, string> {
    const open = this.consume(true)
    if (open.tok !== "(") return Result.fail(`found '${open.lit}' expected: '('`)
    const first = this.lookahead(true)
    if (first.tok === ")") {
      this.consume(true)
      return Result.succeed([""])
    }
    if (first.tok !== "identifier" && first.tok !== ",") {
      return Result.fail(`found '${first.lit}', expected: ',', ')' or identifier`)
    }
    const values: Array<string> = []
    for (;;) {
      const { tok, lit } = this.consume(true)
      if (tok === "identifier") {
        values.push(lit)
        const next = this.lookahead(true)
        if (next.tok === ")") break
        if (next.tok !== ",") return Result.fail(`found '${next.lit}', expected: ',' or ')'`)
      } else if (tok === ",") {
        if (values.length === 0) values.push("")
        const next = this.lookahead(true).tok
        if (next === ")") {
          values.push("")
          break
        }
        if (next === ",") {
          this.consume(true)
          values.push("")
        }
      } else {
        return Result.fail(`found '${lit}', expected: ',', or identifier`)
      }
    }
    this.consume(true) // the ')' the loop stopped at
    return Result.succeed(sortedUnique(values))
  }

  /** The single value after `=`, `==` or `!=`; nothing before `,` or the end means "". */
  private parseExactValue(): Result.Result<ReadonlyArray<string>, string> {
    const next = this.lookahead(true).tok
    if (next === "end" || next === ",") return Result.succeed([""])
    const { tok, lit } = this.consume(true)
    return tok === "identifier" ? Result.succeed([lit]) : Result.fail(`found '${lit}', expected: identifier`)
  }
}

/**
 * Parses a `labelSelector` query parameter. Requirements come back sorted by key (as kube, so
 * equal selectors format identically); the failure is kube's error text, for a 400 BadRequest.
 */
export const parseLabelSelector = (s: string): Result.Result<ReadonlyArray<LabelRequirement>, string> =>
  new LabelParser(scan(s)).parse()

const requirementMatches = (r: LabelRequirement, labels: Record<string, string> | undefined): boolean => {
  const has = labels !== undefined && Object.hasOwn(labels, r.key)
  switch (r.operator) {
    case "=":
    case "in":
      return has && r.values.includes(labels[r.key]!)
    case "!=":
    case "notin":
      return !has || !r.values.includes(labels[r.key]!)
    case "exists":
      return has
    case "!exists":
      return !has
  }
}

/** True when every requirement holds; `!=` and `notin` also match objects without the label. */
export const matchesLabels = (
  reqs: ReadonlyArray<LabelRequirement>,
  labels: Record<string, string> | undefined
): boolean => reqs.every((r) => requirementMatches(r, labels))

/** kube's `Selector.String()`: `!k`, `k`, `k=v`, `k!=v`, `k in (a,b)`, `k notin (a)`, comma-joined. */
export const formatLabelSelector = (reqs: ReadonlyArray<LabelRequirement>): string =>
  reqs.map((r) => {
    switch (r.operator) {
      case "exists":
        return r.key
      case "!exists":
        return `!${r.key}`
      case "=":
      case "!=":
        return `${r.key}${r.operator}${r.values[0] ?? ""}`
      case "in":
      case "notin":
        return `${r.key} ${r.operator} (${sortedUnique(r.values).join(",")})`
    }
  }).join(",")

const labelSelectorOperators: Record<string, LabelOperator> = { In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!exists" }

/**
 * metav1.LabelSelector (`matchLabels`, `matchExpressions`) as requirements, as apimachinery's
 * `LabelSelectorAsSelector`: an empty selector matches everything; the failure says which key,
 * operator or value is not usable.
 */
export const labelSelectorRequirements = (selector: unknown): Result.Result<ReadonlyArray<LabelRequirement>, string> => {
  if (typeof selector !== "object" || selector === null || Array.isArray(selector)) return Result.fail("the selector is not an object")
  const { matchLabels, matchExpressions } = selector as { matchLabels?: unknown; matchExpressions?: unknown }
  const reqs: Array<LabelRequirement> = []
  const problem = (key: string, values: ReadonlyArray<unknown>): string | undefined => {
    const keyErrs = qualifiedNameErrors(key)
    if (keyErrs.length > 0) return `key "${key}": ${keyErrs.join("; ")}`
    const bad = values.find((v) => typeof v !== "string" || labelValueErrors(v).length > 0)
    return bad === undefined ? undefined : `values of "${key}": ${JSON.stringify(bad)} is not a label value`
  }
  for (const [key, value] of Object.entries(typeof matchLabels === "object" && matchLabels !== null ? matchLabels : {})) {
    const err = problem(key, [value])
    if (err !== undefined) return Result.fail(err)
    reqs.push({ key, operator: "=", values: [value as string] })
  }
  for (const e of Array.isArray(matchExpressions) ? matchExpressions : []) {
    const { key, operator, values = [] } = (e ?? {}) as { key?: unknown; operator?: unknown; values?: unknown }
    const op = typeof operator === "string" ? labelSelectorOperators[operator] : undefined
    if (typeof key !== "string" || op === undefined || !Array.isArray(values)) return Result.fail(`expression ${JSON.stringify(e)} is not a label selector requirement`)
    const err = problem(key, values)
    if (err !== undefined) return Result.fail(err)
    const needsValues = op === "in" || op === "notin"
    if (needsValues !== values.length > 0) return Result.fail(`operator ${operator} of "${key}" ${needsValues ? "needs" : "takes no"} values`)
    reqs.push({ key, operator: op, values: sortedUnique(values as ReadonlyArray<string>) })
  }
  return Result.succeed(reqs.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

// ---------------------------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------------------------

const FIELD_LABELS: ReadonlyArray<FieldRequirement["field"]> = ["metadata.name", "metadata.namespace"]

/** Splits on unescaped commas; escapes stay in the terms for unescapeValue. */
const splitTerms = (s: string): ReadonlyArray<string> => {
  if (s.length === 0) return []
  const terms: Array<string> = []
  let start = 0
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++
    else if (s[i] === ",") {
      terms.push(s.slice(start, i))
      start = i + 1
    }
  }
  terms.push(s.slice(start))
  return terms
}

/** The first `!=`, `==` or `=` splits a term; the left side allows no escaping. */
const splitTerm = (term: string): { lhs: string; op: "=" | "!="; rhs: string } | undefined => {
  for (let i = 0; i < term.length; i++) {
    for (const op of ["!=", "==", "="] as const) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op: op === "!=" ? "!=" : "=", rhs: term.slice(i + op.length) }
    }
  }
  return undefined
}

/** kube's UnescapeValue: `\\`, `\,` and `\=` are escapes; bare `,`/`=` and other escapes are errors. */
const unescapeValue = (s: string): Result.Result<string, string> => {
  let out = ""
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === "\\") {
      const next = s[i + 1]
      if (next === undefined) return Result.fail("invalid field selector: invalid escape sequence: \\")
      if (next !== "\\" && next !== "," && next !== "=") {
        return Result.fail(`invalid field selector: invalid escape sequence: \\${next}`)
      }
      out += next
      i++
    } else if (c === "," || c === "=") {
      // Go prints the rune with %v, i.e. as its code point
      return Result.fail(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`)
    } else {
      out += c
    }
  }
  return Result.succeed(out)
}

/**
 * Parses a `fieldSelector` query parameter. Custom resources only select on `metadata.name` and,
 * when namespaced, `metadata.namespace`; pass `supported` to narrow that (e.g. `["metadata.name"]`
 * for cluster-scoped kinds). Syntax errors are reported before unsupported fields, as in kube.
 */
export const parseFieldSelector = (
  s: string,
  supported: ReadonlyArray<string> = FIELD_LABELS
): Result.Result<ReadonlyArray<FieldRequirement>, string> => {
  const parsed: Array<{ lhs: string; op: "=" | "!="; value: string }> = []
  for (const part of [...splitTerms(s)].sort()) {
    if (part === "") continue
    const term = splitTerm(part)
    if (term === undefined) return Result.fail(`invalid selector: '${s}'; can't understand '${part}'`)
    const value = unescapeValue(term.rhs)
    if (Result.isFailure(value)) return Result.fail(value.failure)
    parsed.push({ lhs: term.lhs, op: term.op, value: value.success })
  }
  const reqs: Array<FieldRequirement> = []
  for (const { lhs, op, value } of parsed) {
    const field = FIELD_LABELS.find((f) => f === lhs && supported.includes(f))
    if (field === undefined) return Result.fail(`field label not supported: ${lhs}`)
    reqs.push({ field, operator: op, value })
  }
  return Result.succeed(reqs)
}

/** True when every field requirement holds; an absent name/namespace compares as "". */
export const matchesFields = (
  reqs: ReadonlyArray<FieldRequirement>,
  obj: { readonly metadata: { readonly name?: string; readonly namespace?: string } }
): boolean =>
  reqs.every((r) => {
    const actual = (r.field === "metadata.name" ? obj.metadata.name : obj.metadata.namespace) ?? ""
    return (actual === r.value) === (r.operator === "=")
  })
