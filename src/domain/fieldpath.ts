/**
 * Sets of field paths, as server-side apply records ownership (structured-merge-diff's fieldpath):
 * each path element in its FieldsV1 spelling, `f:<field>`, `k:<key fields as JSON>` (list-map
 * item), `v:<JSON value>` (set item) or `i:<index>`, and a set as a trie whose nodes may also be
 * members themselves (FieldsV1's `.`). Sets here are values: the operations return new sets.
 */
import { Result } from "effect"
import { isRecord } from "./object.ts"

/** One path element, spelled as in FieldsV1: `f:spec`, `k:{"type":"Ready"}`, `v:"x"`, `i:0`. */
export type PathElement = string
export type FieldPath = ReadonlyArray<PathElement>

export interface FieldSet {
  readonly members: ReadonlySet<PathElement>
  readonly children: ReadonlyMap<PathElement, FieldSet>
}

/** JSON as Go's encoder writes it (HTML-safe escapes), so FieldsV1 keys match kube's byte for byte. */
export const goJson = (value: unknown): string =>
  JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029")

export const fieldElement = (name: string): PathElement => `f:${name}`

/** A list-map item by its key fields, which FieldsV1 writes sorted by name. */
export const keyElement = (fields: ReadonlyArray<readonly [string, unknown]>): PathElement =>
  `k:{${[...fields].sort(([a], [b]) => compareStrings(a, b)).map(([k, v]) => `${goJson(k)}:${goJson(v)}`).join(",")}}`

export const valueElement = (value: unknown): PathElement => `v:${goJson(value)}`

export const indexElement = (index: number): PathElement => `i:${index}`

export const emptySet: FieldSet = { members: new Set(), children: new Map() }

export const isEmpty = (s: FieldSet): boolean => s.members.size === 0 && s.children.size === 0

/** A set of the given paths. */
export const fromPaths = (paths: Iterable<FieldPath>): FieldSet => {
  const root = mutable()
  for (const p of paths) insertInto(root, p)
  return root
}

interface MutableSet {
  readonly members: Set<PathElement>
  readonly children: Map<PathElement, MutableSet>
}

const mutable = (): MutableSet => ({ members: new Set(), children: new Map() })

/** Adds a path to a set under construction. */
export const insertInto = (s: MutableSet, path: FieldPath): void => {
  if (path.length === 0) return
  let node = s
  for (let i = 0; i < path.length - 1; i++) {
    const pe = path[i]!
    let child = node.children.get(pe)
    if (child === undefined) node.children.set(pe, child = mutable())
    node = child
  }
  node.members.add(path[path.length - 1]!)
}

/** A new, empty set to build with insertInto. */
export const builder = (): MutableSet => mutable()

export const has = (s: FieldSet, path: FieldPath): boolean => {
  if (path.length === 0) return false
  let node: FieldSet | undefined = s
  for (let i = 0; i < path.length - 1; i++) {
    node = node.children.get(path[i]!)
    if (node === undefined) return false
  }
  return node.members.has(path[path.length - 1]!)
}

/** The subset under a path element (structured-merge-diff's WithPrefix). */
export const child = (s: FieldSet, pe: PathElement): FieldSet => s.children.get(pe) ?? emptySet

const build = (members: Set<PathElement>, children: Map<PathElement, FieldSet>): FieldSet => ({ members, children })

// The set operations below run on every write (managed fields), so they loop instead of spreading
// into intermediate arrays, and return an operand unchanged where the result would equal it.

export const union = (a: FieldSet, b: FieldSet): FieldSet => {
  if (isEmpty(a)) return b
  if (isEmpty(b)) return a
  const children = new Map(a.children)
  for (const [pe, c] of b.children) {
    const ac = a.children.get(pe)
    children.set(pe, ac === undefined ? c : union(ac, c))
  }
  const members = new Set(a.members)
  for (const m of b.members) members.add(m)
  return build(members, children)
}

export const difference = (a: FieldSet, b: FieldSet): FieldSet => {
  if (isEmpty(a) || isEmpty(b)) return a
  const children = new Map<PathElement, FieldSet>()
  for (const [pe, c] of a.children) {
    const bc = b.children.get(pe)
    const d = bc === undefined ? c : difference(c, bc)
    if (!isEmpty(d)) children.set(pe, d)
  }
  const members = new Set<PathElement>()
  for (const m of a.members) if (!b.members.has(m)) members.add(m)
  return build(members, children)
}

export const intersection = (a: FieldSet, b: FieldSet): FieldSet => {
  if (isEmpty(a) || isEmpty(b)) return emptySet
  const children = new Map<PathElement, FieldSet>()
  for (const [pe, c] of a.children) {
    const other = b.children.get(pe)
    if (other === undefined) continue
    const i = intersection(c, other)
    if (!isEmpty(i)) children.set(pe, i)
  }
  const members = new Set<PathElement>()
  for (const m of a.members) if (b.members.has(m)) members.add(m)
  return build(members, children)
}

/** Only the top-level elements `keep` accepts, with everything under them. */
export const filterTop = (s: FieldSet, keep: (pe: PathElement) => boolean): FieldSet => {
  const members = new Set<PathElement>()
  for (const m of s.members) if (keep(m)) members.add(m)
  const children = new Map<PathElement, FieldSet>()
  for (const [pe, c] of s.children) if (keep(pe)) children.set(pe, c)
  return members.size === s.members.size && children.size === s.children.size ? s : build(members, children)
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const typeRank = (v: unknown): number =>
  typeof v === "number" ? 0 : typeof v === "string" ? 1 : typeof v === "boolean" ? 2 : Array.isArray(v) ? 3 : isRecord(v) ? 4 : 5

/** structured-merge-diff's total order of values: numbers, strings, booleans, lists, maps, null. */
const compareValues = (a: unknown, b: unknown): number => {
  const ra = typeRank(a)
  const rb = typeRank(b)
  if (ra !== rb) return ra - rb
  if (typeof a === "number") return (a as number) - (b as number) < 0 ? -1 : a === b ? 0 : 1
  if (typeof a === "string") return compareStrings(a, b as string)
  if (typeof a === "boolean") return a === b ? 0 : a ? 1 : -1
  return compareStrings(JSON.stringify(a), JSON.stringify(b))
}

const peRank: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 }

/** structured-merge-diff's order of path elements: fields, then keys, values, indexes. */
export const comparePathElements = (a: PathElement, b: PathElement): number => {
  const ta = a[0]!
  const tb = b[0]!
  if (ta !== tb) return (peRank[ta] ?? 4) - (peRank[tb] ?? 4)
  const ca = a.slice(2)
  const cb = b.slice(2)
  switch (ta) {
    case "f":
      return compareStrings(ca, cb)
    case "i":
      return Number(ca) - Number(cb)
    case "v":
      return compareValues(JSON.parse(ca), JSON.parse(cb))
    default: {
      const fa = Object.entries(JSON.parse(ca) as Record<string, unknown>)
      const fb = Object.entries(JSON.parse(cb) as Record<string, unknown>)
      for (let i = 0; i < Math.min(fa.length, fb.length); i++) {
        const c = compareStrings(fa[i]![0], fb[i]![0]) || compareValues(fa[i]![1], fb[i]![1])
        if (c !== 0) return c
      }
      return fa.length - fb.length
    }
  }
}

const sorted = (pes: Iterable<PathElement>) => [...pes].sort(comparePathElements)

/** Every path in the set, as structured-merge-diff iterates them: a node's members, then its children. */
export const paths = (s: FieldSet, prefix: FieldPath = []): Array<FieldPath> => [
  ...sorted(s.members).map((m) => [...prefix, m]),
  ...sorted(s.children.keys()).flatMap((pe) => paths(s.children.get(pe)!, [...prefix, pe]))
]

/** Go's `%v` of a key or set value in a path string (strings quoted). */
const goValue = (v: unknown): string =>
  typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(goValue).join(",")}]` : isRecord(v)
    ? Object.entries(v).map(([k, x]) => `${k}=${goValue(x)}`).join("")
    : String(v)

/** A path as kube prints it in conflicts: `.spec.tools`, `.status.conditions[type="Ready"]`, `[="a"]`, `[0]`. */
export const pathString = (path: FieldPath): string =>
  path.map((pe) => {
    const content = pe.slice(2)
    switch (pe[0]) {
      case "f":
        return `.${content}`
      case "k":
        return `[${Object.entries(JSON.parse(content) as Record<string, unknown>).map(([k, v]) => `${k}=${goValue(v)}`).join(",")}]`
      case "v":
        return `[=${goValue(JSON.parse(content))}]`
      default:
        return `[${content}]`
    }
  }).join("")

/** The FieldsV1 document of a set: each element a key, `{}` for a member leaf, `.` for a member with children. */
export const toFieldsV1 = (s: FieldSet): Record<string, unknown> => {
  const elements = [...s.members]
  for (const pe of s.children.keys()) if (!s.members.has(pe)) elements.push(pe)
  const out: Record<string, unknown> = {}
  for (const pe of elements.sort(comparePathElements)) {
    const c = s.children.get(pe)
    out[pe] = c === undefined ? {} : toFieldsV1Node(c, s.members.has(pe))
  }
  return out
}

/** A child's FieldsV1 node: `.` first when the element is a member too, as kube writes it. */
const toFieldsV1Node = (c: FieldSet, member: boolean): Record<string, unknown> => {
  if (!member) return toFieldsV1(c)
  const node: Record<string, unknown> = { ".": {} }
  const rest = toFieldsV1(c)
  for (const k in rest) node[k] = rest[k]
  return node
}

const validElement = (pe: string): boolean => {
  if (!/^[fkvi]:/.test(pe)) return false
  if (pe[0] === "f") return true
  if (pe[0] === "i") return /^i:\d+$/.test(pe)
  try {
    const v: unknown = JSON.parse(pe.slice(2))
    return pe[0] === "v" || isRecord(v)
  } catch {
    return false
  }
}

/** Reads a FieldsV1 document; fails on what kube would not decode. */
export const fromFieldsV1 = (doc: unknown): Result.Result<FieldSet, string> => {
  const read = (node: unknown, into: MutableSet): string | undefined => {
    if (!isRecord(node)) return "FieldsV1 nodes must be objects"
    for (const [pe, value] of Object.entries(node)) {
      if (pe === ".") continue
      if (!validElement(pe)) return `invalid path element ${JSON.stringify(pe)}`
      if (!isRecord(value)) return "FieldsV1 nodes must be objects"
      const keys = Object.keys(value)
      if (keys.length === 0 || keys.includes(".")) into.members.add(pe)
      if (keys.some((k) => k !== ".")) {
        const c = mutable()
        const error = read(value, c)
        if (error !== undefined) return error
        into.children.set(pe, c)
      }
    }
    return undefined
  }
  const root = mutable()
  const error = read(doc, root)
  return error === undefined ? Result.succeed(root) : Result.fail(error)
}
