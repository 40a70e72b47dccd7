/**
 * Filters, recursive descent, unions and literals of client-go's JSONPath. Every expectation here
 * was cross-checked against kubectl 1.32 (`kubectl label --local -f doc.json a=b -o jsonpath={…}`,
 * AllowMissingKeys), where an evaluation error shows as selecting nothing.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { evaluate, parse } from "../../src/domain/jsonpath.ts"

const doc = {
  metadata: { name: "x" },
  status: {
    conditions: [
      { type: "Available", status: "True", n: 3 },
      { type: "Completed", status: "False", n: 10 },
      { status: "Unknown" }
    ],
    ints: [{ a: 1 }, { a: 5 }, { a: 10 }],
    floats: [{ a: 1.5 }, { a: 2.5 }],
    nums: [{ a: 1 }, { a: 2.5 }],
    strs: [{ s: "b" }, { s: "é" }, { s: "a" }],
    mixed: [{ a: "s" }, { a: 1 }],
    bools: [{ b: true }, { b: false }],
    nulls: [{ t: "A" }, { t: null }],
    nested: [{ x: { y: "z" } }, { x: { y: "w" } }, { x: null }, null, "str"],
    arr: [{ l: [1, 2] }, { l: [5] }],
    types: [{ type: "it's" }, { type: "AA" }, { type: "a\"b" }, { type: "é" }],
    notArray: { a: 1 },
    nothing: null,
    deep: { a: { name: "n1", b: [{ name: "n2" }, { c: "q" }] } }
  }
}

const cases = (table: ReadonlyArray<readonly [string, ReadonlyArray<unknown>]>) =>
  it.each(table.map(([path, expected]) => [path, expected] as [string, ReadonlyArray<unknown>]))("%s", (path, expected) => {
    expect(Result.isSuccess(parse(path))).toBe(true)
    expect(evaluate(path, doc)).toEqual(expected)
  })

describe("jsonpath filters", () => {
  describe("match and no match", () => {
    cases([
      [".status.conditions[?(@.type==\"Available\")].status", ["True"]],
      [".status.conditions[?(@.type=='Completed')].status", ["False"]],
      [".status.conditions[?( @.type == \"Available\"  )].status", ["True"]],
      [".status.conditions[?(@.type == \"Nope\")].status", []],
      [".status.conditions[?(@.type != \"Available\")].status", ["False"]],
      [".status.conditions[?(@.type == \"Available\")]", [{ type: "Available", status: "True", n: 3 }]],
      [".status.conditions[?(@.type == \"Available\")]['status']", ["True"]],
      // The right side may be a path too, and the literal may come first.
      [".status.conditions[?(@.type == @.type)].status", ["True", "False"]],
      [".status.ints[?(1 == @.a)].a", [1]]
    ])
  })

  describe("missing fields skip the element", () => {
    cases([
      // The third condition has no type: skipped, not an error.
      [".status.conditions[?(@.type != \"Completed\")].status", ["True"]],
      [".status.ints[?(@.zz == 1)].a", []],
      [".status.ints[?(@.a == @.zz)].a", []],
      [".status.missing[?(@.a == 1)]", []],
      // Null elements and non-objects have no fields either.
      [".status.nested[?(@.x.y == \"w\")].x", [{ y: "w" }]]
    ])
  })

  describe("existence", () => {
    cases([
      [".status.conditions[?(@.type)].status", ["True", "False"]],
      // A null value exists.
      [".status.nested[?(@.x)]", [{ x: { y: "z" } }, { x: { y: "w" } }, { x: null }]],
      [".status.nested[?(@.x.y)]", [{ x: { y: "z" } }, { x: { y: "w" } }]],
      // `@` alone selects every element (a null one included).
      [".status.ints[?(@)].a", [1, 5, 10]],
      // client-go keeps an element whose test path fails, if the failing step returned values.
      [".status.arr[?(@.l[1])].l", [[1, 2], [5]]]
    ])
  })

  describe("numbers", () => {
    cases([
      [".status.ints[?(@.a > 2)].a", [5, 10]],
      [".status.conditions[?(@.n > 5)].type", ["Completed"]],
      [".status.ints[?(@.a >= 5)].a", [5, 10]],
      [".status.ints[?(@.a < 5)].a", [1]],
      [".status.ints[?(@.a <= 5)].a", [1, 5]],
      [".status.ints[?(@.a != 5)].a", [1, 10]],
      [".status.ints[?(@.a==10)].a", [10]],
      [".status.ints[?(@.a > -1)].a", [1, 5, 10]],
      [".status.ints[?(@.a == +1)].a", [1]],
      [".status.floats[?(@.a > 2.0)].a", [2.5]],
      [".status.floats[?(@.a == 1.5)].a", [1.5]],
      // Int and float never compare, in either direction.
      [".status.ints[?(@.a == 5.0)].a", []],
      [".status.ints[?(@.a == 1.)].a", []],
      [".status.floats[?(@.a > 2)].a", []],
      [".status.nums[?(@.a > 0)].a", []]
    ])
  })

  describe("strings, quotes and escapes", () => {
    cases([
      [".status.strs[?(@.s > \"a\")].s", ["b", "é"]],
      [".status.strs[?(@.s >= \"b\")].s", ["b", "é"]],
      [".status.strs[?(@.s < \"z\")].s", ["b", "a"]],
      [".status.types[?(@.type == 'it\\'s')].type", ["it's"]],
      [".status.types[?(@.type == \"it's\")].type", ["it's"]],
      [".status.types[?(@.type == 'a\"b')].type", ["a\"b"]],
      [".status.types[?(@.type == \"a\\\"b\")].type", ["a\"b"]],
      [".status.types[?(@.type == \"A\\x41\")].type", ["AA"]],
      [".status.types[?(@.type == \"\\101A\")].type", ["AA"]],
      [".status.types[?(@.type == \"\\u00e9\")].type", ["é"]],
      // A `)` inside quotes does not end the filter.
      [".status.types[?(@.type == \"A)A\")].type", []]
    ])
  })

  describe("booleans", () => {
    cases([
      [".status.bools[?(@.b == true)].b", [true]],
      [".status.bools[?(@.b != false)].b", [true]]
    ])
  })

  describe("errors fail the whole path, even after a match", () => {
    cases([
      [".status.mixed[?(@.a == \"s\")].a", []],
      [".status.mixed[?(@.a == 1)].a", []],
      [".status.nulls[?(@.t == \"A\")].t", []],
      [".status.bools[?(@.b < true)].b", []],
      [".status.bools[?(@.b == \"true\")].b", []],
      [".status.types[?(@.type == AA)].type", []],
      [".status.ints[?(@.a =! 1)].a", []],
      [".status.arr[?(@.l[*] == 5)].l", []],
      [".status.arr[?(@.l[5] == 5)].l", []],
      [".status.notArray[?(@.a)]", []],
      [".status.nothing[?(@.a)]", []],
      [".status.ints[?(@.a)][?(@.a)]", []]
    ])
  })

  it.each([
    ".a[?(@.b == \"x\")",
    ".a[?(@.b == \"x\"",
    ".a[?(!@.b)]",
    ".a[?(@.b==\"x\"||@.b==\"y\")]",
    ".a[?(@.b == 1.2.3)]",
    ".a[?(@.b == -)]",
    ".a[?(@.b == 'x\\\"')]",
    ".a[?(@.b == \"\\q\")]"
  ])("rejects %s at parse time", (path) => {
    expect(Result.isFailure(parse(path))).toBe(true)
  })

  it("parses both sides as paths against the element", () => {
    expect(Result.getOrThrow(parse(".c[?(@.type==\"Available\")].status")).steps).toEqual([
      { _tag: "Field", name: "c" },
      { _tag: "Filter", left: [{ _tag: "Field", name: "type" }], right: [{ _tag: "Text", value: "Available" }], operator: "==" },
      { _tag: "Field", name: "status" }
    ])
    expect(Result.getOrThrow(parse(".c[?(@.a.b >= 2)]")).steps[1]).toEqual({
      _tag: "Filter",
      left: [{ _tag: "Field", name: "a" }, { _tag: "Field", name: "b" }],
      right: [{ _tag: "Int", value: 2n }],
      operator: ">="
    })
    expect(Result.getOrThrow(parse(".c[?(@.a)]")).steps[1]).toEqual({
      _tag: "Filter",
      left: [{ _tag: "Field", name: "a" }],
      right: [],
      operator: "exists"
    })
  })
})

describe("jsonpath recursive descent, unions and literals", () => {
  cases([
    // Each value comes before its descendants (Go walks a map's entries in random order).
    [".status.deep..name", ["n1", "n2"]],
    [".status.deep..b[0]", [{ name: "n2" }]],
    [".status.deep..c", ["q"]],
    [".status.ints[0,2].a", [1, 10]],
    [".status.deep.a['name','b']", ["n1", [{ name: "n2" }, { c: "q" }]]],
    [".status.ints[0, 5].a", []],
    [".status.ints[0,?(@.a==10)].a", [1, 10]],
    [".status.conditions[*].type \"lit\"", ["lit"]],
    [".status.conditions[0].n 7", [7]],
    [".status.conditions[0].n 99999999999999999999", [1e20]],
    // Identifiers fail evaluation; `range` selects nothing.
    ["metadata.name", []],
    [".metadata.name range", []]
  ])

  it.each([".a....b", ".a..*"])("rejects %s at parse time", (path) => {
    expect(Result.isFailure(parse(path))).toBe(true)
  })
})
