import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  type FieldRequirement,
  formatLabelSelector,
  type LabelRequirement,
  labelSelectorRequirements,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector
} from "../../src/domain/selectors.ts"

const parsed = (s: string): ReadonlyArray<LabelRequirement> => Result.getOrThrow(parseLabelSelector(s))
const parseError = (s: string): string => Result.getOrThrow(Result.flip(parseLabelSelector(s)))
const req = (key: string, operator: LabelRequirement["operator"], ...values: Array<string>): LabelRequirement => ({
  key,
  operator,
  values
})

const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

describe("parseLabelSelector", () => {
  // selector_test.go TestSetSelectorParser (minus the integer comparisons we do not model)
  it.each<[string, ReadonlyArray<LabelRequirement>]>([
    ["", []],
    ["\rx", [req("x", "exists")]],
    ["this-is-a-dns.domain.com/key-with-dash", [req("this-is-a-dns.domain.com/key-with-dash", "exists")]],
    ["this-is-another-dns.domain.com/key-with-dash in (so,what)", [
      req("this-is-another-dns.domain.com/key-with-dash", "in", "so", "what")
    ]],
    ["0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", [
      req("0.1.2.domain/99", "notin", "10.10.100.1", "tick.tack.clock")
    ]],
    ["foo  in\t (abc)", [req("foo", "in", "abc")]],
    ["x notin\n (abc)", [req("x", "notin", "abc")]],
    ["x  notin\t\t\t(abc,def)", [req("x", "notin", "abc", "def")]],
    ["x in (abc,def)", [req("x", "in", "abc", "def")]],
    ["x in (abc,)", [req("x", "in", "", "abc")]],
    ["x in ()", [req("x", "in", "")]],
    ["x notin (abc,,def),bar,z in (),w", [
      req("bar", "exists"),
      req("w", "exists"),
      req("x", "notin", "", "abc", "def"),
      req("z", "in", "")
    ]],
    ["x,y in (a)", [req("x", "exists"), req("y", "in", "a")]],
    ["x=a", [req("x", "=", "a")]],
    ["x==a", [req("x", "=", "a")]],
    ["x=a,y!=b", [req("x", "=", "a"), req("y", "!=", "b")]],
    ["x=a,y!=b,z in (h,i,j)", [req("x", "=", "a"), req("y", "!=", "b"), req("z", "in", "h", "i", "j")]],
    ["x notin ( )", [req("x", "notin", "")]],
    ["x notin (, a)", [req("x", "notin", "", "a")]],
    ["a ", [req("a", "exists")]],
    ["a in (x,y,notin, z,in)", [req("a", "in", "in", "notin", "x", "y", "z")]],
    ["a in (b,b,a)", [req("a", "in", "a", "b")]],
    ["notin=in", [req("notin", "=", "in")]],
    ["in in (notin)", [req("in", "in", "notin")]],
    ["!x", [req("x", "!exists")]],
    ["! x , y", [req("x", "!exists"), req("y", "exists")]],
    ["x=", [req("x", "=", "")]],
    ["x= ,z= ", [req("x", "=", ""), req("z", "=", "")]],
    ["x=a,a=x", [req("a", "=", "x"), req("x", "=", "a")]]
  ])("parses %j", (s, expected) => expect(parsed(s)).toEqual(expected))

  it.each([
    ["x=a||y=b", `unable to parse requirement: values[0][x]: Invalid value: "a||y": ${LABEL_VALUE_MSG}`],
    ["x==a==b", "found '==', expected: ',' or 'end of string'"],
    ["!x=a", "found '=', expected: ',' or 'end of string'"],
    ["x,,y", "found ',', expected: identifier after ','"],
    [",x,y", "found ',', expected: !, identifier, or 'end of string'"],
    ["x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"],
    ["a in (xyz),", "found '', expected: identifier after ','"],
    ["a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"],
    ["a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'"],
    ["a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ["a (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    ["(", "found '(', expected: !, identifier, or 'end of string'"],
    ["x in a", "unable to parse requirement: found 'a' expected: '('"],
    ["x in (a,(", "unable to parse requirement: found '(', expected: ',', or identifier"],
    ["x=(", "unable to parse requirement: found '(', expected: identifier"],
    ["!", "unable to parse requirement: found '', expected: identifier"],
    ["x>1", "unable to parse requirement: integer comparison operator '>' is not supported"],
    ["x<1", "unable to parse requirement: integer comparison operator '<' is not supported"],
    ["Bad Key", "unable to parse requirement: found 'Key', expected: in, notin, =, ==, !=, gt, lt"],
    ["-x", `unable to parse requirement: <nil>: Invalid value: "-x": ${NAME_PART_MSG}`],
    ["a/b/c", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"],
    [`${"a".repeat(64)}=b`, `unable to parse requirement: <nil>: Invalid value: "${"a".repeat(64)}": name part must be no more than 63 characters`],
    ["x=-v", `unable to parse requirement: values[0][x]: Invalid value: "-v": ${LABEL_VALUE_MSG}`],
    [`x=${"v".repeat(64)}`, `unable to parse requirement: values[0][x]: Invalid value: "${"v".repeat(64)}": must be no more than 63 characters`],
    ["x in (ok,-a,-b)", `unable to parse requirement: [values[0][x]: Invalid value: "-a": ${LABEL_VALUE_MSG}, values[1][x]: Invalid value: "-b": ${LABEL_VALUE_MSG}]`]
  ])("rejects %j with kube's message", (s, message) => expect(parseError(s)).toBe(message))
})

describe("matchesLabels", () => {
  const labelset = { foo: "bar", baz: "blah" }
  // selector_test.go TestSelectorMatches / TestRequirementSelectorMatching
  it.each<[string, Record<string, string> | undefined, boolean]>([
    ["", { x: "y" }, true],
    ["", undefined, true],
    ["x=y", { x: "y" }, true],
    ["x=y,z=w", { x: "y", z: "w" }, true],
    ["x!=y,z!=w", { x: "z", z: "a" }, true],
    ["notin=in", { notin: "in" }, true],
    ["x", { x: "z" }, true],
    ["!x", { y: "z" }, true],
    ["x=z", {}, false],
    ["x=y", { x: "z" }, false],
    ["x=y,z=w", { x: "w", z: "w" }, false],
    ["x!=y,z!=w", { x: "z", z: "w" }, false],
    ["x", { y: "z" }, false],
    ["!x", { x: "z" }, false],
    ["foo=bar", labelset, true],
    ["baz=blah", labelset, true],
    ["foo=bar,baz=blah", labelset, true],
    ["foo=blah", labelset, false],
    ["baz=bar", labelset, false],
    ["foo=bar,foobar=bar,baz=blah", labelset, false],
    ["x in (foo),y notin (alpha)", { x: "foo", y: "baz" }, true],
    ["x in (foo),y in (alpha)", { x: "foo", y: "baz" }, false],
    ["x notin (),y", { y: "" }, true],
    ["!x,y", { y: "" }, true],
    ["x notin (),!y", { y: "" }, false],
    ["x in ()", { y: "baz" }, false],
    ["x in ()", { x: "" }, true],
    ["x!=a", undefined, true],
    ["x notin (a)", undefined, true],
    ["x", undefined, false],
    ["!x", undefined, true],
    ["x=", { x: "" }, true],
    ["toString", {}, false],
    ["!constructor", {}, true]
  ])("%j against %j is %s", (s, labels, expected) => expect(matchesLabels(parsed(s), labels)).toBe(expected))
})

describe("formatLabelSelector", () => {
  // selector_test.go TestSelectorParse (round trip without spaces) and TestToString
  it.each([
    ["x=a,y=b,z=c", "x=a,y=b,z=c"],
    ["", ""],
    ["x!=a,y=b", "x!=a,y=b"],
    ["x=", "x="],
    ["x= ", "x="],
    ["x=,z= ", "x=,z="],
    ["!x", "!x"],
    ["x==a", "x=a"],
    ["y in (mno,jkl),x notin (abc),z notin ()", "x notin (abc),y in (jkl,mno),z notin ()"],
    ["x in (def,abc),y notin (jkl),z", "x in (abc,def),y notin (jkl),z"],
    ["z, !y , x!=jkl", "x!=jkl,!y,z"]
  ])("%j formats as %j", (s, expected) => {
    expect(formatLabelSelector(parsed(s))).toBe(expected)
    expect(parsed(formatLabelSelector(parsed(s)))).toEqual(parsed(s))
  })

  it("is deterministic regardless of requirement order in the input", () => {
    expect(formatLabelSelector(parsed("x=a,a=x"))).toBe(formatLabelSelector(parsed("a=x,x=a")))
  })

  it("sorts values of hand-built requirements like kube's String()", () => {
    expect(formatLabelSelector([req("x", "in", "b", "a")])).toBe("x in (a,b)")
  })
})

describe("labelSelectorRequirements (metav1.LabelSelector)", () => {
  const of = (selector: unknown) => Result.getOrThrow(labelSelectorRequirements(selector))
  const failure = (selector: unknown) => Result.getOrThrow(Result.flip(labelSelectorRequirements(selector)))

  it("turns matchLabels and matchExpressions into the requirements of the equivalent selector string", () => {
    expect(formatLabelSelector(of({
      matchLabels: { tier: "web", app: "ark" },
      matchExpressions: [
        { key: "zone", operator: "NotIn", values: ["b", "a", "a"] },
        { key: "env", operator: "In", values: ["prod"] },
        { key: "canary", operator: "DoesNotExist" },
        { key: "owner", operator: "Exists", values: [] }
      ]
    }))).toBe("app=ark,!canary,env in (prod),owner,tier=web,zone notin (a,b)")
  })

  it("matches everything when empty", () => {
    expect(of({})).toEqual([])
    expect(matchesLabels(of({ matchLabels: {} }), { any: "thing" })).toBe(true)
  })

  it("says what is unusable: bad keys and values, unknown operators, values where none belong", () => {
    expect(failure({ matchLabels: { "bad key": "x" } })).toContain('key "bad key"')
    expect(failure({ matchLabels: { ok: "not ok!" } })).toBe('values of "ok": "not ok!" is not a label value')
    expect(failure({ matchExpressions: [{ key: "k", operator: "Gt", values: ["1"] }] })).toContain("is not a label selector requirement")
    expect(failure({ matchExpressions: [{ key: "k", operator: "In", values: [] }] })).toBe('operator In of "k" needs values')
    expect(failure({ matchExpressions: [{ key: "k", operator: "Exists", values: ["v"] }] })).toBe('operator Exists of "k" takes no values')
    expect(failure("role=x")).toBe("the selector is not an object")
  })
})

describe("parseFieldSelector", () => {
  const ok = (s: string, supported?: ReadonlyArray<string>) => Result.getOrThrow(parseFieldSelector(s, supported))
  const err = (s: string, supported?: ReadonlyArray<string>) =>
    Result.getOrThrow(Result.flip(parseFieldSelector(s, supported)))
  const f = (field: FieldRequirement["field"], operator: "=" | "!=", value: string): FieldRequirement => ({
    field,
    operator,
    value
  })

  it.each<[string, ReadonlyArray<FieldRequirement>]>([
    ["", []],
    [",", []],
    ["metadata.name=foo", [f("metadata.name", "=", "foo")]],
    ["metadata.name==foo", [f("metadata.name", "=", "foo")]],
    ["metadata.name!=foo", [f("metadata.name", "!=", "foo")]],
    ["metadata.name=", [f("metadata.name", "=", "")]],
    ["metadata.namespace=ns,metadata.name=n", [f("metadata.name", "=", "n"), f("metadata.namespace", "=", "ns")]],
    ["metadata.name=a\\,b\\=c\\\\d", [f("metadata.name", "=", "a,b=c\\d")]],
    ["metadata.name=a b", [f("metadata.name", "=", "a b")]]
  ])("parses %j", (s, expected) => expect(ok(s)).toEqual(expected))

  it.each([
    ["spec.foo=bar", "field label not supported: spec.foo"],
    ["metadata.name =foo", "field label not supported: metadata.name "],
    ["=foo", "field label not supported: "],
    ["metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ["spec.foo=x,metadata.name", "invalid selector: 'spec.foo=x,metadata.name'; can't understand 'metadata.name'"],
    ["metadata.name=a=b", "invalid field selector: unescaped character in value: 61"],
    ["metadata.name==a==b", "invalid field selector: unescaped character in value: 61"],
    ["metadata.name=a\\b", "invalid field selector: invalid escape sequence: \\b"],
    ["metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"]
  ])("rejects %j with kube's message", (s, message) => expect(err(s)).toBe(message))

  it("only accepts the supported fields (cluster-scoped kinds have no namespace)", () => {
    expect(ok("metadata.name=x", ["metadata.name"])).toEqual([f("metadata.name", "=", "x")])
    expect(err("metadata.namespace=x", ["metadata.name"])).toBe("field label not supported: metadata.namespace")
    expect(err("spec.foo=x", ["spec.foo"])).toBe("field label not supported: spec.foo")
  })
})

describe("matchesFields", () => {
  const obj = { metadata: { name: "a", namespace: "ns" } }
  const fields = (s: string) => Result.getOrThrow(parseFieldSelector(s))
  it.each<[string, { metadata: { name?: string; namespace?: string } }, boolean]>([
    ["", obj, true],
    ["metadata.name=a", obj, true],
    ["metadata.name=b", obj, false],
    ["metadata.name!=b", obj, true],
    ["metadata.name!=a", obj, false],
    ["metadata.name=a,metadata.namespace=ns", obj, true],
    ["metadata.name=a,metadata.namespace=other", obj, false],
    ["metadata.namespace=", { metadata: { name: "a" } }, true],
    ["metadata.namespace!=ns", { metadata: { name: "a" } }, true]
  ])("%j against %j is %s", (s, o, expected) => expect(matchesFields(fields(s), o)).toBe(expected))
})
