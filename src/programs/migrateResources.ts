/**
 * `ark migrate-resources --from <kubeconfig|URL> --to <kubeconfig|URL>`: copies every Ark
 * resource (every ark.mckinsey.com kind of the registry, all namespaces) from one API server to
 * another, e.g. from an etcd/CRD installation to the PostgreSQL one. Names, labels, annotations,
 * finalizers, owner references (pointed at the copies), specs and statuses (through `/status`)
 * are kept; server-owned metadata is assigned anew. Idempotent: an object that exists is updated
 * to match the source, or left alone when it already does. Progress on stderr, summary on stdout.
 */
import { Console, Effect, Schema } from "effect"
import type { KubeObject } from "../domain/object.ts"
import type { ResourceInfo } from "../domain/registry.ts"
import { resources } from "../domain/registry.ts"
import {
  desiredObject,
  needsStatus,
  needsUpdate,
  ownerUids,
  remapOwners,
  updatedObject,
  withSourceStatus
} from "../domain/migration.ts"
import type { KubeRestClient, KubeResponse } from "../layers/KubeRestClient.ts"
import { connect } from "../layers/KubeRestClient.ts"

export interface MigrateResourcesOptions {
  readonly from: string
  readonly to: string
  /** Objects written at once. */
  readonly concurrency: number
}

export class MigrationFailed extends Schema.TaggedError<MigrationFailed>()("MigrationFailed", { message: Schema.String }) {}

const arkGroup = "ark.mckinsey.com"
const kinds = resources.filter((r) => r.group === arkGroup)

type Outcome = "created" | "updated" | "unchanged"

interface Item {
  readonly info: ResourceInfo
  readonly object: KubeObject
}

const collectionPath = (info: ResourceInfo, namespace: string | undefined) =>
  `/apis/${info.group}/${info.version}${info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${info.plural}`

const objectPath = (info: ResourceInfo, o: KubeObject) =>
  `${collectionPath(info, o.metadata.namespace)}/${encodeURIComponent(o.metadata.name!)}`

const describe = (info: ResourceInfo, o: KubeObject) =>
  `${info.plural}/${o.metadata.namespace === undefined ? "" : `${o.metadata.namespace}/`}${o.metadata.name}`

/** The message of a kube Status body, or the body itself. */
const statusMessage = (res: KubeResponse) => {
  try {
    const status = JSON.parse(res.body) as { message?: string }
    return `${res.status}: ${status.message ?? res.body}`
  } catch {
    return `${res.status}: ${res.body.slice(0, 200)}`
  }
}

const expect = (res: KubeResponse, what: string) =>
  res.status >= 200 && res.status < 300
    ? Effect.succeed(JSON.parse(res.body) as KubeObject)
    : Effect.fail(new MigrationFailed({ message: `${what}: ${statusMessage(res)}` }))

/** Every object of a kind on the source, page by page; undefined when the source does not serve the kind. */
const listAll = (source: KubeRestClient, info: ResourceInfo) =>
  Effect.gen(function*() {
    const items: Array<KubeObject> = []
    let next = ""
    do {
      const res = yield* source.request("GET", `${collectionPath(info, undefined)}?limit=500${next === "" ? "" : `&continue=${encodeURIComponent(next)}`}`)
      if (res.status === 404) return undefined
      if (res.status < 200 || res.status >= 300) {
        return yield* new MigrationFailed({ message: `listing ${info.plural} on the source: ${statusMessage(res)}` })
      }
      const page = JSON.parse(res.body) as { items?: ReadonlyArray<KubeObject>; metadata?: { continue?: string } }
      // A list omits each item's apiVersion and kind; the copy needs them.
      for (const o of page.items ?? []) items.push({ ...o, apiVersion: `${info.group}/${info.version}`, kind: info.kind })
      next = page.metadata?.continue ?? ""
    } while (next !== "")
    return items
  })

/** A progress bar on stderr: redrawn in place on a terminal, every tenth otherwise (logs). */
const progressBar = (total: number) => {
  const tty = process.stderr.isTTY === true
  const width = 30
  let done = 0
  let shownTenth = -1
  const draw = () => {
    const filled = total === 0 ? width : Math.round((done / total) * width)
    return `ark: migrating [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`
  }
  return {
    tick: Effect.sync(() => {
      done++
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10)
      if (tty) process.stderr.write(`\r${draw()}`)
      else if (tenth !== shownTenth) {
        shownTenth = tenth
        process.stderr.write(`${draw()}\n`)
      }
    }),
    end: Effect.sync(() => {
      if (tty) process.stderr.write("\n")
    })
  }
}

export const migrateResources = (o: MigrateResourcesOptions) =>
  Effect.gen(function*() {
    const source = yield* connect(o.from)
    const target = yield* connect(o.to)

    const items: Array<Item> = []
    const unserved: Array<string> = []
    for (const info of kinds) {
      const listed = yield* listAll(source, info)
      if (listed === undefined) unserved.push(info.plural)
      else for (const object of listed) items.push({ info, object })
    }

    /** Source uid -> the copy's uid, filled as objects are written (owner references use it). */
    const uids = new Map<string, string>()
    const sourceUids = new Set(items.map((i) => i.object.metadata.uid).filter((u): u is string => u !== undefined))

    const copy = ({ info, object }: Item) =>
      Effect.gen(function*() {
        const src = remapOwners(object, uids)
        const name = describe(info, object)
        const created = yield* target.request("POST", collectionPath(info, object.metadata.namespace), desiredObject(src))
        let outcome: Outcome
        let copied: KubeObject
        if (created.status === 409 && (JSON.parse(created.body) as { reason?: string }).reason === "AlreadyExists") {
          const current = yield* expect(yield* target.request("GET", objectPath(info, object)), `reading ${name} on the destination`)
          if (needsUpdate(src, current)) {
            copied = yield* expect(yield* target.request("PUT", objectPath(info, object), updatedObject(src, current)), `updating ${name}`)
            outcome = "updated"
          } else {
            copied = current
            outcome = "unchanged"
          }
        } else {
          copied = yield* expect(created, `creating ${name}`)
          outcome = "created"
        }
        if (info.status !== undefined && needsStatus(src, copied)) {
          copied = yield* expect(
            yield* target.request("PUT", `${objectPath(info, object)}/status`, withSourceStatus(src, copied)),
            `writing the status of ${name}`
          )
          if (outcome === "unchanged") outcome = "updated"
        }
        if (object.metadata.uid !== undefined && copied.metadata.uid !== undefined) uids.set(object.metadata.uid, copied.metadata.uid)
        return outcome
      })

    const progress = progressBar(items.length)
    const tally = new Map<string, Record<Outcome | "failed", number>>()
    const failures: Array<string> = []
    const record = (item: Item, outcome: Outcome | "failed") => {
      const row = tally.get(item.info.plural) ?? { created: 0, updated: 0, unchanged: 0, failed: 0 }
      row[outcome]++
      tally.set(item.info.plural, row)
    }
    const run = (item: Item) =>
      copy(item).pipe(
        Effect.tap((outcome) => Effect.sync(() => record(item, outcome))),
        Effect.catch((e) =>
          Effect.sync(() => {
            record(item, "failed")
            failures.push(e.message)
          })
        ),
        Effect.andThen(progress.tick)
      )

    // Owners before their dependents, so each owner reference can name the copy; what is left
    // (owners that are not copied, or a cycle) goes last with the references as they are.
    let pending = items
    while (pending.length > 0) {
      const ready = pending.filter((i) => ownerUids(i.object).every((u) => !sourceUids.has(u) || uids.has(u)))
      const wave = ready.length > 0 ? ready : pending
      yield* Effect.forEach(wave, run, { concurrency: o.concurrency, discard: true })
      const written = new Set(wave)
      pending = pending.filter((i) => !written.has(i))
      // A failed owner never gets a copy's uid: its dependents must not wait for ever.
      for (const i of wave) if (i.object.metadata.uid !== undefined && !uids.has(i.object.metadata.uid)) sourceUids.delete(i.object.metadata.uid)
    }
    yield* progress.end

    const header = ["RESOURCE", "CREATED", "UPDATED", "UNCHANGED", "FAILED"]
    const rows = kinds.filter((k) => tally.has(k.plural)).map((k) => {
      const t = tally.get(k.plural)!
      return [`${k.plural}.${k.group}`, String(t.created), String(t.updated), String(t.unchanged), String(t.failed)]
    })
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
    const total = (k: Outcome | "failed") => [...tally.values()].reduce((n, t) => n + t[k], 0)
    yield* Console.log([line(header), ...rows.map(line)].join("\n"))
    if (unserved.length > 0) yield* Console.log(`not served by the source (skipped): ${unserved.join(", ")}`)
    yield* Console.log(
      `ark: ${items.length} objects from ${source.server} to ${target.server}: ${total("created")} created, ${total("updated")} updated, ${total("unchanged")} unchanged, ${total("failed")} failed`
    )
    if (failures.length > 0) {
      for (const f of failures) yield* Console.error(`ark: ${f}`)
      return yield* new MigrationFailed({ message: `${failures.length} objects could not be copied` })
    }
  })
