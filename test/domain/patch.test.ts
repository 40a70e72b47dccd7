import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { applyJsonPatch, applyMergePatch, type PatchError } from "../../src/domain/patch.ts"

const patched = (doc: unknown, ops: unknown) => Result.getOrThrow(applyJsonPatch(doc, ops))
const failure = (doc: unknown, ops: unknown, maxOps?: number): PatchError =>
  Result.getOrThrow(Result.flip(applyJsonPatch(doc, ops, maxOps)))

const INVALID = "the server rejected our request due to an error in our request"

describe("applyJsonPatch: RFC 6902 appendix A", () => {
  it.each<[string, unknown, unknown, unknown]>([
    ["A.1 adding an object member", { foo: "bar" }, [{ op: "add", path: "/baz", value: "qux" }], { baz: "qux", foo: "bar" }],
    ["A.2 adding an array element", { foo: ["bar", "baz"] }, [{ op: "add", path: "/foo/1", value: "qux" }], {
      foo: ["bar", "qux", "baz"]
    }],
    ["A.3 removing an object member", { baz: "qux", foo: "bar" }, [{ op: "remove", path: "/baz" }], { foo: "bar" }],
    ["A.4 removing an array element", { foo: ["bar", "qux", "baz"] }, [{ op: "remove", path: "/foo/1" }], {
      foo: ["bar", "baz"]
    }],
    ["A.5 replacing a value", { baz: "qux", foo: "bar" }, [{ op: "replace", path: "/baz", value: "boo" }], {
      baz: "boo",
      foo: "bar"
    }],
    [
      "A.6 moving a value",
      { foo: { bar: "baz", waldo: "fred" }, qux: { corge: "grault" } },
      [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }],
      { foo: { bar: "baz" }, qux: { corge: "grault", thud: "fred" } }
    ],
    ["A.7 moving an array element", { foo: ["all", "grass", "cows", "eat"] }, [{ op: "move", from: "/foo/1", path: "/foo/3" }], {
      foo: ["all", "cows", "eat", "grass"]
    }],
    [
      "A.8 testing a value: success",
      { baz: "qux", foo: ["a", 2, "c"] },
      [{ op: "test", path: "/baz", value: "qux" }, { op: "test", path: "/foo/1", value: 2 }],
      { baz: "qux", foo: ["a", 2, "c"] }
    ],
    ["A.10 adding a nested member object", { foo: "bar" }, [{ op: "add", path: "/child", value: { grandchild: {} } }], {
      foo: "bar",
      child: { grandchild: {} }
    }],
    ["A.11 ignoring unrecognized elements", { foo: "bar" }, [{ op: "add", path: "/baz", value: "qux", xyz: 123 }], {
      foo: "bar",
      baz: "qux"
    }],
    ["A.14 ~ escape ordering", { "/": 9, "~1": 10 }, [{ op: "test", path: "/~01", value: 10 }], { "/": 9, "~1": 10 }],
    ["A.16 adding an array value", { foo: ["bar"] }, [{ op: "add", path: "/foo/-", value: ["abc", "def"] }], {
      foo: ["bar", ["abc", "def"]]
    }]
  ])("%s", (_, doc, ops, expected) => expect(patched(doc, ops)).toEqual(expected))

  it.each<[string, unknown, unknown, string]>([
    ["A.9 testing a value: error", { baz: "qux" }, [{ op: "test", path: "/baz", value: "bar" }], "testing value /baz failed: test failed"],
    [
      "A.12 adding to a nonexistent target",
      { foo: "bar" },
      [{ op: "add", path: "/baz/bat", value: "qux" }],
      "add operation does not apply: doc is missing path: \"/baz/bat\": missing value"
    ],
    ["A.15 comparing strings and numbers", { "/": 9, "~1": 10 }, [{ op: "test", path: "/~01", value: "10" }], "testing value /~01 failed: test failed"]
  ])("%s is 422 Invalid", (_, doc, ops, detail) => {
    expect(failure(doc, ops)).toEqual({ reason: "Invalid", code: 422, message: INVALID, detail })
  })
})

describe("applyJsonPatch: pointers and operations", () => {
  const doc = { a: { b: [1, 2, 3], "c/d": "slash", "e~f": "tilde", "": "empty" }, n: null }

  it.each<[string, unknown, unknown]>([
    ["~1 unescapes to /", [{ op: "replace", path: "/a/c~1d", value: "x" }], { ...doc, a: { ...doc.a, "c/d": "x" } }],
    ["~0 unescapes to ~", [{ op: "remove", path: "/a/e~0f" }], { ...doc, a: { b: [1, 2, 3], "c/d": "slash", "": "empty" } }],
    ["the empty key is addressable", [{ op: "replace", path: "/a/", value: 0 }], { ...doc, a: { ...doc.a, "": 0 } }],
    ["'-' appends", [{ op: "add", path: "/a/b/-", value: 4 }], { ...doc, a: { ...doc.a, b: [1, 2, 3, 4] } }],
    ["add at the array length appends", [{ op: "add", path: "/a/b/3", value: 4 }], { ...doc, a: { ...doc.a, b: [1, 2, 3, 4] } }],
    ["add replaces an existing member", [{ op: "add", path: "/n", value: 1 }], { ...doc, n: 1 }],
    ["a null member exists", [{ op: "test", path: "/n", value: null }, { op: "remove", path: "/n" }], { a: doc.a }],
    ["add at the root replaces the document", [{ op: "add", path: "", value: [1] }], [1]],
    ["replace at the root replaces the document", [{ op: "replace", path: "", value: { x: 1 } }], { x: 1 }],
    ["test compares objects regardless of key order", [{ op: "test", path: "", value: { n: null, a: { "": "empty", "e~f": "tilde", "c/d": "slash", b: [1, 2, 3.0] } } }], doc],
    ["copy deep-copies", [{ op: "copy", from: "/a/b", path: "/c" }, { op: "add", path: "/c/0", value: 0 }], {
      ...doc,
      c: [0, 1, 2, 3]
    }],
    ["move onto itself is a no-op", [{ op: "move", from: "/a", path: "/a" }], doc],
    ["move to the root", [{ op: "move", from: "/a/b", path: "" }], [1, 2, 3]],
    ["move within an array removes first", [{ op: "move", from: "/a/b/0", path: "/a/b/-" }], { ...doc, a: { ...doc.a, b: [2, 3, 1] } }],
    ["operations see earlier results", [{ op: "add", path: "/x", value: {} }, { op: "add", path: "/x/y", value: 1 }], { ...doc, x: { y: 1 } }],
    ["__proto__ is an ordinary member", [{ op: "add", path: "/__proto__", value: { polluted: true } }], JSON.parse(
      `{"a":${JSON.stringify(doc.a)},"n":null,"__proto__":{"polluted":true}}`
    )]
  ])("%s", (_, ops, expected) => expect(patched(doc, ops)).toEqual(expected))

  it("does not mutate the document or the operations", () => {
    const input = { a: { b: [1] } }
    const ops = [{ op: "add", path: "/v", value: { w: [] } }, { op: "add", path: "/v/w/-", value: 1 }, { op: "remove", path: "/a/b/0" }]
    const snapshot = structuredClone({ input, ops })
    expect(patched(input, ops)).toEqual({ a: { b: [] }, v: { w: [1] } })
    expect({ input, ops }).toEqual(snapshot)
  })

  it("does not reach inherited members such as __proto__", () => {
    expect(failure({}, [{ op: "add", path: "/__proto__/polluted", value: true }])).toMatchObject({
      code: 422,
      detail: "add operation does not apply: doc is missing path: \"/__proto__/polluted\": missing value"
    })
    expect(failure({}, [{ op: "test", path: "/constructor", value: {} }])).toMatchObject({ code: 422 })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it.each<[string, unknown, string]>([
    ["unknown op", [{ op: "merge", path: "/a" }], "Unexpected kind: merge"],
    ["missing op", [{ path: "/a" }], "Unexpected kind: unknown"],
    ["null operation", [null], "Unexpected kind: unknown"],
    ["missing path", [{ op: "remove" }], "remove operation failed to decode path: missing value"],
    ["non-string path", [{ op: "remove", path: 1 }], "remove operation failed to decode path: missing value"],
    ["path without leading slash", [{ op: "remove", path: "a" }], "remove operation failed to decode path: invalid JSON pointer: \"a\""],
    ["bad ~ escape", [{ op: "remove", path: "/a/e~2f" }], "remove operation failed to decode path: invalid JSON pointer escape: \"/a/e~2f\""],
    ["missing value", [{ op: "add", path: "/x" }], "add operation, missing value field: missing value"],
    ["missing from", [{ op: "copy", path: "/x" }], "copy operation failed to decode from: missing value"],
    ["remove a missing member", [{ op: "remove", path: "/zz" }], "remove operation does not apply: doc is missing path: \"/zz\": missing value"],
    ["remove the root", [{ op: "remove", path: "" }], "remove operation does not apply: doc is missing path: \"\": missing value"],
    ["replace a missing member", [{ op: "replace", path: "/zz", value: 1 }], "replace operation does not apply: doc is missing key: /zz: missing value"],
    ["replace past the end", [{ op: "replace", path: "/a/b/3", value: 1 }], "replace operation does not apply: doc is missing key: /a/b/3: missing value"],
    ["add past the end", [{ op: "add", path: "/a/b/4", value: 1 }], "error in add for path: '/a/b/4': Unable to access invalid index: 4: invalid index referenced"],
    ["negative index", [{ op: "add", path: "/a/b/-1", value: 1 }], "error in add for path: '/a/b/-1': Unable to access invalid index: -1: invalid index referenced"],
    ["leading zero index", [{ op: "remove", path: "/a/b/01" }], "remove operation does not apply: doc is missing path: \"/a/b/01\": missing value"],
    ["'-' outside add", [{ op: "remove", path: "/a/b/-" }], "remove operation does not apply: doc is missing path: \"/a/b/-\": missing value"],
    ["through a scalar", [{ op: "add", path: "/a/c~1d/x", value: 1 }], "add operation does not apply: doc is missing path: \"/a/c~1d/x\": missing value"],
    ["test a missing member", [{ op: "test", path: "/zz", value: null }], "test operation does not apply: is missing path: /zz: missing value"],
    ["move into its own child", [{ op: "move", from: "/a", path: "/a/x" }], "move operation does not apply: path /a/x is inside from /a"],
    ["move from a missing member", [{ op: "move", from: "/zz", path: "/y" }], "move operation does not apply: doc is missing from path: /zz: missing value"],
    ["copy to a missing parent", [{ op: "copy", from: "/a", path: "/zz/y" }], "copy operation does not apply: doc is missing destination path: /zz/y: missing value"],
    ["a later op fails after earlier ones applied", [{ op: "add", path: "/x", value: 1 }, { op: "test", path: "/x", value: 2 }], "testing value /x failed: test failed"]
  ])("%s is 422 Invalid", (_, ops, detail) => {
    expect(failure(doc, ops)).toEqual({ reason: "Invalid", code: 422, message: INVALID, detail })
  })

  it.each<[string, unknown, string]>([
    ["an object", { op: "add", path: "/a", value: 1 }, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"],
    ["a string", "[]", "json: cannot unmarshal string into Go value of type jsonpatch.Patch"],
    ["a non-object operation", [{ op: "remove", path: "/n" }, 5], "json: cannot unmarshal number into Go value of type jsonpatch.Operation"],
    ["an array operation", [["add"]], "json: cannot unmarshal array into Go value of type jsonpatch.Operation"],
    ["a boolean operation", [true], "json: cannot unmarshal bool into Go value of type jsonpatch.Operation"]
  ])("a patch that is %s is 400 BadRequest", (_, ops, message) => {
    expect(failure(doc, ops)).toEqual({ reason: "BadRequest", code: 400, message })
  })

  it("treats a null patch as no operations, as Go's decoder does", () => {
    expect(patched(doc, null)).toEqual(doc)
  })

  it("rejects more than maxOps operations with 413 RequestEntityTooLarge", () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: "test", path: "/n", value: null }))
    expect(failure(doc, ops)).toEqual({
      reason: "RequestEntityTooLarge",
      code: 413,
      message: "The allowed maximum operations in a JSON patch is 10000, got 10001"
    })
    expect(patched(doc, ops.slice(1))).toEqual(doc)
    expect(failure(doc, ops.slice(0, 3), 2)).toMatchObject({ code: 413, message: "The allowed maximum operations in a JSON patch is 2, got 3" })
  })
})

describe("applyMergePatch: RFC 7386 appendix A", () => {
  it.each<[unknown, unknown, unknown]>([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }]
  ])("%j merged with %j is %j", (doc, patch, expected) => expect(applyMergePatch(doc, patch)).toEqual(expected))

  it("merges Kubernetes metadata the way kubectl patch --type merge expects", () => {
    const obj = { metadata: { name: "a", labels: { x: "1", y: "2" } }, spec: { replicas: 1, tools: ["a"] } }
    expect(applyMergePatch(obj, { metadata: { labels: { x: null, z: "3" } }, spec: { tools: ["b"] } })).toEqual({
      metadata: { name: "a", labels: { y: "2", z: "3" } },
      spec: { replicas: 1, tools: ["b"] }
    })
  })

  it("does not mutate its inputs", () => {
    const doc = { a: { b: 1, c: 2 } }
    const patch = { a: { b: null, d: { e: null } } }
    const snapshot = structuredClone({ doc, patch })
    expect(applyMergePatch(doc, patch)).toEqual({ a: { c: 2, d: {} } })
    expect({ doc, patch }).toEqual(snapshot)
  })

  it("keeps __proto__ as an ordinary member", () => {
    const result = applyMergePatch({}, JSON.parse(`{"__proto__":{"polluted":true}}`)) as Record<string, unknown>
    expect(Object.hasOwn(result, "__proto__")).toBe(true)
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
