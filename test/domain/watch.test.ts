import { describe, expect, it } from "vitest"
import type { ChangeFacts, Selection } from "../../src/domain/watch.ts"
import { eventType } from "../../src/domain/watch.ts"

const web: Selection = { labels: [{ key: "app", operator: "=", values: ["web"] }], fields: [] }
const change = (type: ChangeFacts["type"], labels: Record<string, string>, previousLabels?: Record<string, string>): ChangeFacts => ({
  type,
  namespace: "default",
  name: "q",
  labels,
  ...(previousLabels ? { previousLabels } : {})
})

describe("eventType", () => {
  it("passes every change through when nothing is selected", () => {
    const all: Selection = { labels: [], fields: [] }
    expect(eventType(all, change("ADDED", {}))).toBe("ADDED")
    expect(eventType(all, change("MODIFIED", {}, {}))).toBe("MODIFIED")
    expect(eventType(all, change("DELETED", {}))).toBe("DELETED")
  })

  it("turns label transitions into ADDED and DELETED for a label selector", () => {
    expect(eventType(web, change("MODIFIED", { app: "web" }, { app: "db" }))).toBe("ADDED")
    expect(eventType(web, change("MODIFIED", { app: "db" }, { app: "web" }))).toBe("DELETED")
    expect(eventType(web, change("MODIFIED", { app: "web" }, { app: "web" }))).toBe("MODIFIED")
    expect(eventType(web, change("MODIFIED", { app: "db" }, { app: "db" }))).toBeUndefined()
    expect(eventType(web, change("ADDED", { app: "db" }))).toBeUndefined()
    expect(eventType(web, change("DELETED", { app: "web" }))).toBe("DELETED")
  })

  it("filters by namespace and by name", () => {
    expect(eventType({ namespace: "other", labels: [], fields: [] }, change("ADDED", {}))).toBeUndefined()
    const named: Selection = { labels: [], fields: [{ field: "metadata.name", operator: "=", value: "q" }] }
    expect(eventType(named, change("ADDED", {}))).toBe("ADDED")
    expect(eventType({ ...named, fields: [{ field: "metadata.name", operator: "!=", value: "q" }] }, change("ADDED", {}))).toBeUndefined()
  })
})
