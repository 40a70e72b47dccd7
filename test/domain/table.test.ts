import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { evaluate, parse, printValue } from "../../src/domain/jsonpath.ts"
import type { KubeObject } from "../../src/domain/object.ts"
import {
  humanDuration,
  partialObjectMetadata,
  partialObjectMetadataList,
  type PrinterColumn,
  table,
  tableColumns,
  tableRow
} from "../../src/domain/table.ts"

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const YEAR = 365 * DAY

const doc = {
  metadata: { name: "q", annotations: { "x.y": "dotted", plain: "p" } },
  spec: {
    targets: [{ name: "a", weight: 1 }, { name: "b", weight: 2.5 }, { kind: "c" }],
    empty: [],
    nothing: null,
    x: { y: "nested" },
    s: "hé"
  }
}

describe("jsonpath.evaluate (client-go semantics, AllowMissingKeys)", () => {
  it.each<[string, ReadonlyArray<unknown>]>([
    [".metadata.name", ["q"]],
    ["{.metadata.name}", ["q"]],
    ["$.metadata.name", ["q"]],
    [".spec.targets[0].name", ["a"]],
    [".spec.targets[*].name", ["a", "b"]],
    [".spec.targets[-1]", [{ kind: "c" }]],
    [".spec.targets[0:2].weight", [1, 2.5]],
    [".spec.targets[::2].name", ["a"]],
    [".spec.targets[]", [{ name: "a", weight: 1 }]],
    [".spec.targets[1:1]", []],
    [".spec.x.*", ["nested"]],
    [".spec.s.*", [104, 195, 169]],
    // kube re-parses ['x.y'] as .x.y; a dotted key needs a backslash.
    [".metadata.annotations['x.y']", []],
    [".spec['x.y']", ["nested"]],
    [".metadata.annotations.x\\.y", ["dotted"]],
    [".metadata.annotations['plain']", ["p"]],
    // A null is selected; nothing is found through it.
    [".spec.nothing", [null]],
    [".spec.nothing.deeper", []],
    [".spec.missing.deeper", []],
    [".spec.targets.name", []],
    // Evaluation errors select nothing.
    [".spec.targets[3]", []],
    [".spec.targets[-4]", []],
    [".spec.targets[2:1]", []],
    [".spec.empty[0]", []],
    [".spec.s[0]", []],
    [".spec.targets[::0]", []],
    [".spec.empty[*]", []]
  ])("%s", (path, expected) => {
    expect(evaluate(path, doc)).toEqual(expected)
  })

  it.each([".a[?(@.b)", ".a[?(@.b", ".a....b", ".a..*", ".a[0,x]", ".a}", ".a[0", ".a[x]", ".a[-]"])(
    "rejects %s at parse time",
    (path) => {
      expect(Result.isFailure(parse(path))).toBe(true)
      expect(evaluate(path, doc)).toEqual([])
    }
  )

  it("parses [n] as a slice with a derived end", () => {
    expect(Result.getOrThrow(parse(".a[-1]")).steps).toEqual([
      { _tag: "Field", name: "a" },
      { _tag: "Slice", start: -1, end: 0, endDerived: true, step: undefined }
    ])
  })
})

describe("jsonpath.printValue (PrintResults of one value)", () => {
  it.each<[unknown, string]>([
    ["text", "text"],
    ["", ""],
    [true, "true"],
    [42, "42"],
    [1e18, "1000000000000000000"],
    [1e20, "1e+20"],
    [1e21, "1e+21"],
    [2.5, "2.5"],
    [100000.5, "100000.5"],
    [1234567.5, "1.2345675e+06"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [null, "<no value>"],
    [[1, 2.25, 1e-7], "[1,2.25,1e-7]"],
    [{ z: "<&>\u2028", B: true, a: [1], "é": 1 }, "{\"B\":true,\"a\":[1],\"z\":\"\\u003c\\u0026\\u003e\\u2028\",\"é\":1}"]
  ])("%j → %s", (value, text) => {
    expect(printValue(value)).toBe(text)
  })
})

describe("humanDuration (apimachinery duration_test.go)", () => {
  it.each<[number, string]>([
    [SECOND, "1s"],
    [70 * SECOND, "70s"],
    [190 * SECOND, "3m10s"],
    [70 * MINUTE, "70m"],
    [47 * HOUR, "47h"],
    [49 * HOUR, "2d1h"],
    [(8 * 24 + 2) * HOUR, "8d"],
    [367 * DAY, "367d"],
    [(365 * 2 * 24 + 25) * HOUR, "2y1d"],
    [(365 * 8 * 24 + 2) * HOUR, "8y"]
  ])("TestHumanDuration %d ms → %s", (ms, want) => {
    expect(humanDuration(ms)).toBe(want)
  })

  it.each<[number, string]>([
    [-2 * SECOND, "<invalid>"],
    [-2 * SECOND + 1e-6, "0s"],
    [0, "0s"],
    [SECOND - 1, "0s"],
    [2 * MINUTE - 1, "119s"],
    [2 * MINUTE, "2m"],
    [2 * MINUTE + SECOND, "2m1s"],
    [10 * MINUTE - 1, "9m59s"],
    [10 * MINUTE, "10m"],
    [10 * MINUTE + SECOND, "10m"],
    [3 * HOUR - 1, "179m"],
    [3 * HOUR, "3h"],
    [3 * HOUR + MINUTE, "3h1m"],
    [8 * HOUR - 1, "7h59m"],
    [8 * HOUR, "8h"],
    [8 * HOUR + 59 * MINUTE, "8h"],
    [2 * DAY - 1, "47h"],
    [2 * DAY, "2d"],
    [2 * DAY + HOUR, "2d1h"],
    [8 * DAY - 1, "7d23h"],
    [8 * DAY, "8d"],
    [8 * DAY + 23 * HOUR, "8d"],
    [2 * YEAR - 1, "729d"],
    [2 * YEAR, "2y"],
    [2 * YEAR + 23 * HOUR, "2y"],
    [2 * YEAR + 23 * HOUR + 59 * MINUTE, "2y"],
    [2 * YEAR + DAY - 1, "2y"],
    [2 * YEAR + DAY, "2y1d"],
    [3 * YEAR, "3y"],
    [4 * YEAR, "4y"],
    [5 * YEAR, "5y"],
    [6 * YEAR, "6y"],
    [7 * YEAR, "7y"],
    [8 * YEAR - 1, "7y364d"],
    [8 * YEAR, "8y"],
    [8 * YEAR + 364 * DAY, "8y"],
    [9 * YEAR, "9y"]
  ])("TestHumanDurationBoundaries %d ms → %s", (ms, want) => {
    expect(humanDuration(ms)).toBe(want)
  })
})

const created = "2024-05-01T12:00:00Z"
const NOW = Date.parse(created) + 5 * MINUTE + 10 * SECOND

const query: KubeObject = {
  apiVersion: "ark.mckinsey.com/v1alpha1",
  kind: "Query",
  metadata: {
    name: "q1",
    namespace: "default",
    uid: "u-1",
    resourceVersion: "42",
    generation: 3,
    creationTimestamp: created,
    labels: { app: "ark" },
    finalizers: ["ark/cleanup"],
    somethingExtra: "dropped from partial metadata"
  },
  spec: { input: "hi", timeout: "5m" },
  status: { phase: "done", tokenUsage: { totalTokens: 12.9 }, duration: 3, ready: true, targets: [{ name: "t" }] }
}

const queryColumns: ReadonlyArray<PrinterColumn> = [
  { name: "Phase", type: "string", jsonPath: ".status.phase" },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  { name: "Tokens", type: "integer", jsonPath: ".status.tokenUsage.totalTokens", priority: 1 },
  { name: "Error", type: "string", jsonPath: ".status.error", description: "Why it failed" },
  { name: "Duration", type: "number", jsonPath: ".status.duration", format: "float" },
  { name: "Ready", type: "boolean", jsonPath: ".status.ready" },
  { name: "Targets", type: "string", jsonPath: ".status.targets" }
]

describe("tableColumns", () => {
  it("is Name then exactly the CRD's columns, with kube's defaults for description/format/priority", () => {
    const defs = tableColumns(queryColumns)
    expect(defs.map((d) => [d.name, d.type, d.format, d.priority])).toEqual([
      ["Name", "string", "name", 0],
      ["Phase", "string", "", 0],
      ["Age", "date", "", 0],
      ["Tokens", "integer", "", 1],
      ["Error", "string", "", 0],
      ["Duration", "number", "float", 0],
      ["Ready", "boolean", "", 0],
      ["Targets", "string", "", 0]
    ])
    expect(defs[0]!.description).toMatch(/^Name must be unique within a namespace\. /)
    expect(defs[1]!.description).toBe("Custom resource definition column (in JSONPath format): .status.phase")
    expect(defs[4]!.description).toBe("Why it failed")
  })

  it("defaults to Name and Age when the CRD has no printer columns", () => {
    const defs = tableColumns([])
    expect(defs.map((d) => [d.name, d.type, d.format, d.priority])).toEqual([
      ["Name", "string", "name", 0],
      ["Age", "date", "", 0]
    ])
    expect(defs[1]!.description).toMatch(/^CreationTimestamp is a timestamp representing the server time/)
  })

  it("stops at the first column whose path does not parse, as tableconvertor.New does", () => {
    const defs = tableColumns([
      { name: "A", type: "string", jsonPath: ".a" },
      { name: "B", type: "string", jsonPath: ".b[?(@.x == \"y\")" },
      { name: "C", type: "string", jsonPath: ".c" }
    ])
    expect(defs.map((d) => d.name)).toEqual(["Name", "A"])
    expect(tableRow([{ name: "A", type: "string", jsonPath: ".a" }, { name: "B", type: "string", jsonPath: "[" }], {
      metadata: { name: "n" },
      a: "x"
    }, "None", "v1", NOW).cells).toEqual(["n", "x"])
  })
})

describe("tableRow", () => {
  it("formats each column type as kube's cellForJSONValue, null when nothing is selected", () => {
    expect(tableRow(queryColumns, query, "None", "v1", NOW).cells).toEqual([
      "q1",
      "done",
      "5m10s",
      12, // integer columns truncate floats
      null,
      3,
      true,
      "[{\"name\":\"t\"}]"
    ])
  })

  it("uses the default Age column when there are no printer columns", () => {
    expect(tableRow([], query, "None", "v1", NOW).cells).toEqual(["q1", "5m10s"])
    expect(tableRow([], query, "None", "v1", Date.parse(created) + 3 * DAY).cells).toEqual(["q1", "3d"])
  })

  it.each<[unknown, unknown]>([
    ["not a time", "<invalid>"],
    ["2024-02-30T00:00:00Z", "<invalid>"],
    ["2024-05-01 12:00:00Z", "<invalid>"],
    ["", "<unknown>"],
    ["0001-01-01T00:00:00Z", "<unknown>"],
    ["2024-05-01T14:00:00+02:00", "5m10s"],
    ["2024-05-01T12:05:10.5Z", "0s"],
    ["2024-05-01T12:05:12Z", "<invalid>"],
    ["0002-01-01T00:00:00Z", "292y"],
    [1714564800, null],
    [null, null]
  ])("date cell of %j is %j", (value, cell) => {
    const col: PrinterColumn = { name: "When", type: "date", jsonPath: ".when" }
    expect(tableRow([col], { metadata: { name: "n" }, when: value }, "None", "v1", NOW).cells).toEqual(["n", cell])
  })

  it.each<[PrinterColumn["type"], unknown, unknown]>([
    ["string", null, "<no value>"],
    ["string", 7, "7"],
    ["string", false, "false"],
    ["integer", "7", null],
    ["integer", -2.7, -2],
    ["number", 7, 7],
    ["number", true, null],
    ["boolean", "true", null],
    ["integer", null, null]
  ])("%s cell of %j is %j", (type, value, cell) => {
    expect(tableRow([{ name: "V", type, jsonPath: ".v" }], { metadata: { name: "n" }, v: value }, "None", "v1", NOW).cells)
      .toEqual(["n", cell])
  })

  it("evaluates filter columns, keeping the columns after them", () => {
    const columns: ReadonlyArray<PrinterColumn> = [
      { name: "Available", type: "string", jsonPath: ".status.conditions[?(@.type==\"Available\")].status" },
      { name: "Completed", type: "string", jsonPath: ".status.conditions[?(@.type=='Completed')].status" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }
    ]
    expect(tableColumns(columns).map((d) => d.name)).toEqual(["Name", "Available", "Completed", "Age"])
    const withConditions: KubeObject = {
      ...query,
      status: { conditions: [{ type: "Ready", status: "False" }, { type: "Available", status: "True" }] }
    }
    expect(tableRow(columns, withConditions, "None", "v1", NOW).cells).toEqual(["q1", "True", null, "5m10s"])
    expect(tableRow(columns, { ...query, status: {} }, "None", "v1", NOW).cells).toEqual(["q1", null, null, "5m10s"])
    // A comparison Go's text/template rejects (here a null type) empties the cell, not the row.
    const badType: KubeObject = { ...query, status: { conditions: [{ type: "Available", status: "True" }, { type: null }] } }
    expect(tableRow(columns, badType, "None", "v1", NOW).cells).toEqual(["q1", null, null, "5m10s"])
  })

  it("takes only the first value a path selects", () => {
    const col: PrinterColumn = { name: "First", type: "string", jsonPath: ".items[*].name" }
    expect(tableRow([col], { metadata: { name: "n" }, items: [{ name: "a" }, { name: "b" }] }, "None", "v1", NOW).cells)
      .toEqual(["n", "a"])
  })

  it("attaches PartialObjectMetadata, the whole object or null per includeObject", () => {
    expect(tableRow(queryColumns, query, "None", "v1", NOW).object).toBeNull()
    expect(tableRow(queryColumns, query, "Object", "v1", NOW).object).toBe(query)
    expect(tableRow(queryColumns, query, "Metadata", "v1", NOW).object).toEqual({
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: {
        name: "q1",
        namespace: "default",
        uid: "u-1",
        resourceVersion: "42",
        generation: 3,
        creationTimestamp: created,
        labels: { app: "ark" },
        finalizers: ["ark/cleanup"]
      }
    })
  })
})

describe("partialObjectMetadata", () => {
  it("keeps ObjectMeta fields only, in Go struct order, with timestamps as UTC seconds", () => {
    const partial = partialObjectMetadata({
      metadata: {
        labels: { a: "1" },
        name: "n",
        annotations: { bad: 1 } as unknown as Record<string, string>,
        deletionTimestamp: "2024-05-01T14:00:00.75+02:00",
        deletionGracePeriodSeconds: 0,
        creationTimestamp: "garbage",
        generation: 0,
        ownerReferences: [{ kind: "Team", name: "t", uid: "u", controller: true } as never],
        finalizers: []
      }
    })
    expect(partial.metadata).toEqual({
      name: "n",
      deletionTimestamp: "2024-05-01T12:00:00Z",
      deletionGracePeriodSeconds: 0,
      labels: { a: "1" },
      ownerReferences: [{ apiVersion: "", kind: "Team", name: "t", uid: "u", controller: true }]
    })
    expect(Object.keys(partial.metadata)).toEqual([
      "name",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
      "labels",
      "ownerReferences"
    ])
  })

  it("lists carry ListMeta and null items when empty, as a nil Go slice encodes", () => {
    expect(partialObjectMetadataList([query], { resourceVersion: "42", continue: "" })).toEqual({
      kind: "PartialObjectMetadataList",
      apiVersion: "meta.k8s.io/v1",
      metadata: { resourceVersion: "42" },
      items: [partialObjectMetadata(query)]
    })
    expect(partialObjectMetadataList([], {})).toEqual({
      kind: "PartialObjectMetadataList",
      apiVersion: "meta.k8s.io/v1",
      metadata: {},
      items: null
    })
  })
})

describe("table", () => {
  it("is a meta.k8s.io/v1 Table with ListMeta, column definitions and one row per object", () => {
    const other: KubeObject = { ...query, metadata: { ...query.metadata, name: "q2" }, status: { phase: "running" } }
    const t = table(queryColumns, [query, other], { resourceVersion: "50", continue: "tok", remainingItemCount: 3 }, "None", "v1", NOW)
    expect(t.kind).toBe("Table")
    expect(t.apiVersion).toBe("meta.k8s.io/v1")
    expect(t.metadata).toEqual({ resourceVersion: "50", continue: "tok", remainingItemCount: 3 })
    expect(t.columnDefinitions).toEqual(tableColumns(queryColumns))
    expect(t.rows).toEqual([
      { cells: ["q1", "done", "5m10s", 12, null, 3, true, "[{\"name\":\"t\"}]"], object: null },
      { cells: ["q2", "running", "5m10s", null, null, null, null, null], object: null }
    ])
  })

  it("speaks the negotiated meta.k8s.io version, down to the rows' partial metadata", () => {
    const t = table(queryColumns, [query], {}, "Metadata", "v1beta1", NOW)
    expect(t.apiVersion).toBe("meta.k8s.io/v1beta1")
    expect(t.rows[0]!.object).toEqual({ ...partialObjectMetadata(query), apiVersion: "meta.k8s.io/v1beta1" })
    const list = partialObjectMetadataList([query], {}, "v1beta1")
    expect([list.apiVersion, list.items?.[0]?.apiVersion]).toEqual(["meta.k8s.io/v1beta1", "meta.k8s.io/v1beta1"])
  })

  it("has empty rows and omits empty ListMeta fields for an empty list", () => {
    expect(table([], [], { resourceVersion: "7", continue: "" }, "Metadata", "v1", NOW)).toEqual({
      kind: "Table",
      apiVersion: "meta.k8s.io/v1",
      metadata: { resourceVersion: "7" },
      columnDefinitions: tableColumns([]),
      rows: []
    })
  })
})
