/** A Query's input as its engine receives it: verbatim, or a template over spec.parameters as upstream Ark executes it. */
import { describe, expect, it } from "vitest"
import { resolveQueryInput } from "../../src/domain/queryInput.ts"

describe("resolveQueryInput", () => {
  it("sends the input verbatim without parameters, braces included", () => {
    expect(resolveQueryInput({ input: "What is {{ .city }}?" }, new Map())).toEqual({ _tag: "Resolved", text: "What is {{ .city }}?" })
    expect(resolveQueryInput({ input: [{ role: "user", content: "hi" }] }, new Map())).toEqual({ _tag: "Resolved", text: '[{"role":"user","content":"hi"}]' })
  })

  it("fills {{ .name }} and {{.name}} from the parameters, and prints <no value> for a missing one as text/template does", () => {
    const parameters = [{ name: "city", value: "Lisbon" }, { name: "unit", valueFrom: { configMapKeyRef: { name: "units", key: "default" } } }]
    const values = new Map([["city", "Lisbon"], ["unit", "celsius"]])
    expect(resolveQueryInput({ input: "Weather in {{ .city }} ({{.unit}}), {{ .city }} again; {{ .country }}", parameters }, values)).toEqual({
      _tag: "Resolved",
      text: "Weather in Lisbon (celsius), Lisbon again; <no value>"
    })
  })

  it("trims around {{- and -}} as Go templates do", () => {
    expect(resolveQueryInput({ input: "a  \n {{- .x -}} \n  b", parameters: [{ name: "x", value: "X" }] }, new Map([["x", "X"]]))).toEqual({ _tag: "Resolved", text: "aXb" })
  })

  it("refuses other template actions, with the reason", () => {
    expect(resolveQueryInput({ input: "{{ if .x }}yes{{ end }}", parameters: [{ name: "x", value: "1" }] }, new Map([["x", "1"]]))).toEqual({
      _tag: "Unresolvable",
      message: "template: unsupported action {{ if .x }}: only {{ .name }} of a parameter is supported"
    })
  })
})
