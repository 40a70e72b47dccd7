import { describe, expect, it } from "vitest"
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  generateNameSuffix,
  generateObjectName,
  isDns1123Label,
  isDns1123Subdomain,
  labelValueErrors,
  qualifiedNameErrors,
  validateObjectMeta
} from "../../src/domain/validation.ts"

const a = (n: number) => "a".repeat(n)

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

// Value tables from apimachinery pkg/util/validation/validation_test.go
describe("isDns1123Label", () => {
  const good = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", a(63)]
  const bad = [
    "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1",
    "_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2",
    " ", "a ", " a", "a b", "1 ", " 1", "1 2", a(64), "a\n"
  ]
  it.each(good)("accepts %j", (v) => expect(isDns1123Label(v)).toBe(true))
  it.each(bad)("rejects %j", (v) => expect(isDns1123Label(v)).toBe(false))

  it("words errors as kube", () => {
    expect(dns1123LabelErrors("a.b")).toEqual(["must not contain dots"])
    expect(dns1123LabelErrors("Foo")).toEqual([LABEL_MSG])
    expect(dns1123LabelErrors(a(64))).toEqual(["must be no more than 63 characters"])
  })
})

describe("isDns1123Subdomain", () => {
  const good = [
    "a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
    "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "abc.1", "a1.1", "a-1.1",
    "0.a", "01.a", "012.a", "1a.a", "1-a.a", "0.1", "01.1", "012.1", "1a.1", "1-a.1", "1--a--b--2.1",
    "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55", a(253)
  ]
  const bad = [
    "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1",
    "_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2",
    " ", "a ", " a", "a b", "1 ", " 1", "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A",
    "A.1", "aB.1", "A1.1", "1A.1", "0.A", "01.A", "012.A", "1A.a", "1a.A",
    "A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee",
    "a@b", "a,b", "a;b", "a:b", "a%b", "a?b", "a$b", a(254)
  ]
  it.each(good)("accepts %j", (v) => expect(isDns1123Subdomain(v)).toBe(true))
  it.each(bad)("rejects %j", (v) => expect(isDns1123Subdomain(v)).toBe(false))

  it("reports length and format separately", () => {
    expect(dns1123SubdomainErrors("A".repeat(254))).toEqual(["must be no more than 253 characters", SUBDOMAIN_MSG])
  })

  it("counts UTF-8 bytes like Go's len", () => {
    expect(dns1123SubdomainErrors("é".repeat(127))[0]).toBe("must be no more than 253 characters")
  })
})

describe("qualifiedNameErrors", () => {
  const good = [
    "simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple",
    "now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple",
    "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123",
    "example.com/Uppercase_Is_OK_123", "requests.storage-foo", a(63), `${a(253)}/${"b".repeat(63)}`
  ]
  const bad = [
    "nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash",
    "Example.com/abc", "example_com/abc", "example.com/", "/simple", a(64), `${a(254)}/abc`
  ]
  it.each(good)("accepts %j", (v) => expect(qualifiedNameErrors(v)).toEqual([]))
  it.each(bad)("rejects %j", (v) => expect(qualifiedNameErrors(v).length).toBeGreaterThan(0))

  it.each([
    ["only/one/slash", [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    ]],
    ["/simple", ["prefix part must be non-empty"]],
    ["example.com/", ["name part must be non-empty", NAME_PART_MSG]],
    ["Example.com/abc", [`prefix part ${SUBDOMAIN_MSG}`]],
    [a(64), ["name part must be no more than 63 characters"]],
    ["cantendwithadash-", [NAME_PART_MSG]]
  ])("words %j as kube", (v, msgs) => expect(qualifiedNameErrors(v)).toEqual(msgs))
})

describe("labelValueErrors", () => {
  const good = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", a(63), ""]
  const bad = [
    "nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad", "-starts-with-dash",
    "ends-with-dash-", ".starts.with.dot", "ends.with.dot.", a(64)
  ]
  it.each(good)("accepts %j", (v) => expect(labelValueErrors(v)).toEqual([]))
  it.each(bad)("rejects %j", (v) => expect(labelValueErrors(v).length).toBeGreaterThan(0))
  it("words errors as kube", () => {
    expect(labelValueErrors(`-${a(63)}`)).toEqual(["must be no more than 63 characters", LABEL_VALUE_MSG])
  })
})

describe("validateObjectMeta", () => {
  const namespaced = { namespaced: true, requireName: true }
  const cluster = { namespaced: false, requireName: true }

  it("accepts a well-formed namespaced object", () => {
    expect(validateObjectMeta({
      name: "my-agent.v1",
      namespace: "default",
      labels: { "app.kubernetes.io/name": "ark", tier: "" },
      annotations: { "Example.com/Some-Key": "anything goes here" },
      finalizers: ["ark.mckinsey.com/cleanup", "foregroundDeletion"]
    }, namespaced)).toEqual([])
  })

  it("rejects an invalid name with kube's cause", () => {
    expect(validateObjectMeta({ name: "Foo", namespace: "default" }, namespaced)).toEqual([{
      reason: "FieldValueInvalid",
      field: "metadata.name",
      message: `Invalid value: "Foo": ${SUBDOMAIN_MSG}`
    }])
  })

  it("reports both length and format for an over-long invalid name", () => {
    expect(validateObjectMeta({ name: "A".repeat(254) }, cluster).map((c) => c.message)).toEqual([
      `Invalid value: "${"A".repeat(254)}": must be no more than 253 characters`,
      `Invalid value: "${"A".repeat(254)}": ${SUBDOMAIN_MSG}`
    ])
  })

  it.each([
    [{}, { namespaced: false, requireName: false }],
    [{ name: "" }, { namespaced: false, requireName: false }],
    [{ generateName: "foo-" }, cluster],
    [{ name: null }, cluster]
  ])("requires a name: %j %j", (meta, opts) => {
    expect(validateObjectMeta(meta, opts)).toEqual([{
      reason: "FieldValueRequired",
      field: "metadata.name",
      message: "Required value: name or generateName is required"
    }])
  })

  it("accepts a missing name when generateName is set and the name is not yet required", () => {
    expect(validateObjectMeta({ generateName: "foo-" }, { namespaced: false, requireName: false })).toEqual([])
  })

  // objectmeta_test.go TestValidateObjectMetaTrimsTrailingSlash, plus kube's maskTrailingDash quirk
  it.each([["foo-", true], ["a-", true], ["foo.", false], ["-foo", false], ["Foo-", false]])(
    "validates generateName %j as a prefix (valid: %s)",
    (generateName, valid) => {
      const causes = validateObjectMeta({ name: "test", generateName }, cluster)
      expect(causes.length === 0).toBe(valid)
      if (!valid) expect(causes[0]).toMatchObject({ reason: "FieldValueInvalid", field: "metadata.generateName" })
    }
  )

  // objectmeta_test.go TestValidateObjectMetaNamespaces
  it("requires the namespace to be a DNS label", () => {
    expect(validateObjectMeta({ name: "test", namespace: "foo.bar" }, namespaced)).toEqual([{
      reason: "FieldValueInvalid",
      field: "metadata.namespace",
      message: "Invalid value: \"foo.bar\": must not contain dots"
    }])
    const long = `${a(63)}B`
    expect(validateObjectMeta({ name: "test", namespace: long }, namespaced).map((c) => c.message)).toEqual([
      `Invalid value: "${long}": must be no more than 63 characters`,
      `Invalid value: "${long}": ${LABEL_MSG}`
    ])
  })

  it("requires a namespace for namespaced kinds", () => {
    expect(validateObjectMeta({ name: "test" }, namespaced)).toEqual([
      { reason: "FieldValueRequired", field: "metadata.namespace", message: "Required value" }
    ])
  })

  it("forbids a namespace on cluster-scoped kinds", () => {
    expect(validateObjectMeta({ name: "test", namespace: "default" }, cluster)).toEqual([
      { reason: "FieldValueForbidden", field: "metadata.namespace", message: "Forbidden: not allowed on this type" }
    ])
  })

  it("reports label keys and values on metadata.labels", () => {
    expect(validateObjectMeta({ name: "x", labels: { "bad key": "ok", good: "-bad" } }, cluster)).toEqual([
      { reason: "FieldValueInvalid", field: "metadata.labels", message: `Invalid value: "bad key": ${NAME_PART_MSG}` },
      { reason: "FieldValueInvalid", field: "metadata.labels", message: `Invalid value: "-bad": ${LABEL_VALUE_MSG}` }
    ])
  })

  it("accepts prefixed label keys up to the limits and rejects beyond them", () => {
    const ok = { [`${a(253)}/${"b".repeat(63)}`]: "c".repeat(63) }
    expect(validateObjectMeta({ name: "x", labels: ok }, cluster)).toEqual([])
    const tooLong = { [`${a(254)}/b`]: "c".repeat(64) }
    expect(validateObjectMeta({ name: "x", labels: tooLong }, cluster).map((c) => c.message)).toEqual([
      `Invalid value: "${a(254)}/b": prefix part must be no more than 253 characters`,
      `Invalid value: "${"c".repeat(64)}": must be no more than 63 characters`
    ])
  })

  // objectmeta_test.go TestValidateAnnotations
  describe("annotations", () => {
    const LIMIT = 262144
    it.each([
      { simple: "bar" }, { "now-with-dashes/simple": "bar" }, { "1.2.3.4/5678": "bar" }, { UpperCase123: "bar" },
      { "Example.COM/Key": "case does not matter for annotation keys" },
      { a: "b".repeat(LIMIT - 1) },
      { a: "b".repeat(LIMIT / 2 - 1), c: "d".repeat(LIMIT / 2 - 1) }
    ])("accepts %#", (annotations) => {
      expect(validateObjectMeta({ name: "x", annotations }, cluster)).toEqual([])
    })

    it.each([
      [{ "nospecialchars^=@": "bar" }, "name part must consist of"],
      [{ "cantendwithadash-": "bar" }, "name part must consist of"],
      [{ "only/one/slash": "bar" }, "a qualified name must consist of"],
      [{ [a(254)]: "bar" }, "name part must be no more than 63 characters"]
    ])("rejects bad keys %#", (annotations, expected) => {
      const causes = validateObjectMeta({ name: "x", annotations }, cluster)
      expect(causes).toHaveLength(1)
      expect(causes[0]!.field).toBe("metadata.annotations")
      expect(causes[0]!.message).toContain(expected)
    })

    it.each([
      { a: "b".repeat(LIMIT) },
      { a: "b".repeat(LIMIT / 2), c: "d".repeat(LIMIT / 2) }
    ])("rejects a total size over 256 KiB %#", (annotations) => {
      expect(validateObjectMeta({ name: "x", annotations }, cluster)).toEqual([{
        reason: "FieldValueTooLong",
        field: "metadata.annotations",
        message: "Too long: must have at most 262144 bytes"
      }])
    })

    it("counts multi-byte characters as bytes", () => {
      expect(validateObjectMeta({ name: "x", annotations: { a: "é".repeat(LIMIT / 2) } }, cluster)).toHaveLength(1)
    })
  })

  describe("finalizers", () => {
    it("requires qualified names", () => {
      expect(validateObjectMeta({ name: "x", finalizers: ["ok", "not/a/name"] }, cluster)).toEqual([{
        reason: "FieldValueInvalid",
        field: "metadata.finalizers",
        message:
          "Invalid value: \"not/a/name\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
      }])
    })

    // objectmeta_test.go TestValidateFinalizersPreventConflictingFinalizers
    it("rejects orphan together with foregroundDeletion", () => {
      expect(validateObjectMeta({ name: "x", finalizers: ["orphan", "foregroundDeletion"] }, cluster)).toEqual([{
        reason: "FieldValueInvalid",
        field: "metadata.finalizers",
        message:
          "Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer orphan and foregroundDeletion cannot be both set"
      }])
    })
  })

  describe("wrong JSON types", () => {
    it("rejects metadata that is not an object", () => {
      expect(validateObjectMeta("x", cluster)).toEqual([{
        reason: "FieldValueTypeInvalid",
        field: "metadata",
        message: "Invalid value: \"string\": metadata in body must be of type object: \"string\""
      }])
    })

    it.each([
      [{ name: 5 }, "metadata.name", "string", "integer"],
      [{ name: "x", generateName: true }, "metadata.generateName", "string", "boolean"],
      [{ name: "x", labels: ["a"] }, "metadata.labels", "object", "array"],
      [{ name: "x", labels: { a: 1.5 } }, "metadata.labels.a", "string", "number"],
      [{ name: "x", annotations: "a=b" }, "metadata.annotations", "object", "string"],
      [{ name: "x", annotations: { a: { b: "c" } } }, "metadata.annotations.a", "string", "object"],
      [{ name: "x", finalizers: "a" }, "metadata.finalizers", "array", "string"],
      [{ name: "x", finalizers: ["a", null] }, "metadata.finalizers[1]", "string", "null"]
    ])("%j: %s must be %s", (meta, field, expected, actual) => {
      expect(validateObjectMeta(meta, cluster)).toContainEqual({
        reason: "FieldValueTypeInvalid",
        field,
        message: `Invalid value: "${actual}": ${field} in body must be of type ${expected}: "${actual}"`
      })
    })

    it("treats null maps and lists as absent", () => {
      expect(validateObjectMeta({ name: "x", labels: null, annotations: null, finalizers: null }, cluster)).toEqual([])
    })
  })
})

describe("name generation", () => {
  it("draws 5 characters from kube's alphabet", () => {
    for (let i = 0; i < 200; i++) expect(generateNameSuffix()).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/)
  })

  it("is random", () => {
    expect(new Set(Array.from({ length: 50 }, generateNameSuffix)).size).toBeGreaterThan(45)
  })

  it("truncates the base to 58 characters like kube's SimpleNameGenerator", () => {
    expect(generateObjectName("agent-")).toMatch(/^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
    const name = generateObjectName(a(100))
    expect(name).toHaveLength(63)
    expect(name.startsWith(a(58))).toBe(true)
    expect(isDns1123Label(name)).toBe(true)
  })
})
