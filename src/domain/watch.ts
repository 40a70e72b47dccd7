/**
 * Which watch event a committed change is for one watcher, as kube's watch cache decides it:
 * an object that starts matching a label selector is ADDED for that watcher, one that stops
 * matching is DELETED, and namespace and field selectors never change over an object's life.
 */
import type { FieldRequirement, LabelRequirement } from "./selectors.ts"
import { matchesFields, matchesLabels } from "./selectors.ts"

export interface Selection {
  readonly namespace?: string
  readonly labels: ReadonlyArray<LabelRequirement>
  readonly fields: ReadonlyArray<FieldRequirement>
}

export interface ChangeFacts {
  readonly type: "ADDED" | "MODIFIED" | "DELETED"
  readonly namespace: string
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly previousLabels?: Readonly<Record<string, string>>
}

export const eventType = (s: Selection, c: ChangeFacts): "ADDED" | "MODIFIED" | "DELETED" | undefined => {
  if (s.namespace !== undefined && s.namespace !== "" && c.namespace !== s.namespace) return undefined
  if (s.fields.length > 0 && !matchesFields(s.fields, { metadata: { name: c.name, namespace: c.namespace } })) {
    return undefined
  }
  const now = matchesLabels(s.labels, c.labels)
  if (c.type !== "MODIFIED" || s.labels.length === 0) return now ? c.type : undefined
  const before = c.previousLabels === undefined ? now : matchesLabels(s.labels, c.previousLabels)
  if (now && before) return "MODIFIED"
  if (now) return "ADDED"
  if (before) return "DELETED"
  return undefined
}
