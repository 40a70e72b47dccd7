/**
 * The text a Query sends to its engine, resolved as upstream Ark resolves it: `spec.input` as
 * is, or, when `spec.parameters` are given, `spec.input` as a Go text/template executed over the
 * parameters' values (`{{ .city }}`), which the caller has read (literals, ConfigMaps, Secrets).
 * This server supports the template actions that parameters call for (a field of the parameter
 * map, with `{{-` / `-}}` trimming) and refuses any other action.
 */

export interface QueryParameter {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: unknown
}

export type ResolvedInput =
  | { readonly _tag: "Resolved"; readonly text: string }
  | { readonly _tag: "Unresolvable"; readonly message: string }

const resolved = (text: string): ResolvedInput => ({ _tag: "Resolved", text })
const unresolvable = (message: string): ResolvedInput => ({ _tag: "Unresolvable", message })

/** A Go template action: `{{`, optional `-`, the body, optional `-`, `}}`. */
const action = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g
const field = /^\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*$/

/** Executes `template` over `data` as text/template does for a map (a missing key prints "<no value>"). */
export const executeTemplate = (template: string, data: ReadonlyMap<string, string>): ResolvedInput => {
  let out = ""
  let last = 0
  for (const m of template.matchAll(action)) {
    const [whole, trimLeft, body, trimRight] = m
    const ref = field.exec(body!)
    if (ref === null) return unresolvable(`template: unsupported action ${whole}: only {{ .name }} of a parameter is supported`)
    let before = template.slice(last, m.index)
    if (trimLeft !== undefined) before = before.trimEnd()
    out += before + (data.get(ref[1]!) ?? "<no value>")
    last = m.index + whole.length
    if (trimRight !== undefined) {
      const rest = template.slice(last)
      last += rest.length - rest.trimStart().length
    }
  }
  return resolved(out + template.slice(last))
}

/** `values`: each parameter's value, resolved by the caller. */
export const resolveQueryInput = (
  spec: { readonly input?: unknown; readonly parameters?: ReadonlyArray<QueryParameter> },
  values: ReadonlyMap<string, string>
): ResolvedInput => {
  const input = typeof spec.input === "string" ? spec.input : JSON.stringify(spec.input ?? "")
  return (spec.parameters ?? []).length === 0 ? resolved(input) : executeTemplate(input, values)
}
