/**
 * Prometheus text exposition format (version 0.0.4) of metric snapshots: Effect has no Prometheus
 * exporter, and the format is small. Series of one metric name are grouped under one HELP/TYPE.
 */
import type { Metric } from "effect"

export const contentType = "text/plain; version=0.0.4; charset=utf-8"

const name = (id: string) => id.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^([0-9])/, "_$1")
const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')

const number = (n: number | bigint) =>
  typeof n === "bigint" ? n.toString() : Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n)

const labels = (attributes: Readonly<Record<string, string>>, extra: ReadonlyArray<readonly [string, string]> = []) => {
  const pairs = [...Object.entries(attributes).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0), ...extra]
  return pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${name(k)}="${escapeLabel(v)}"`).join(",")}}`
}

const promType = (type: Metric.Metric.Type) =>
  type === "Counter" || type === "Frequency" ? "counter" : type === "Gauge" ? "gauge" : type === "Histogram" ? "histogram" : "summary"

const samples = (id: string, s: Metric.Metric.Snapshot): ReadonlyArray<string> => {
  const attrs = (s.attributes ?? {}) as Readonly<Record<string, string>>
  switch (s.type) {
    case "Counter":
      return [`${id}${labels(attrs)} ${number(s.state.count)}`]
    case "Gauge":
      return [`${id}${labels(attrs)} ${number(s.state.value)}`]
    case "Frequency":
      return [...s.state.occurrences].map(([key, n]) => `${id}${labels(attrs, [["key", key]])} ${n}`)
    case "Histogram": {
      const buckets = s.state.buckets.map(([le, n]) => `${id}_bucket${labels(attrs, [["le", number(le)]])} ${n}`)
      const hasInf = s.state.buckets.some(([le]) => le === Infinity)
      return [
        ...buckets,
        ...(hasInf ? [] : [`${id}_bucket${labels(attrs, [["le", "+Inf"]])} ${s.state.count}`]),
        `${id}_sum${labels(attrs)} ${number(s.state.sum)}`,
        `${id}_count${labels(attrs)} ${s.state.count}`
      ]
    }
    case "Summary":
      return [
        ...s.state.quantiles.map(([q, v]) => `${id}${labels(attrs, [["quantile", String(q)]])} ${v === undefined ? "NaN" : number(v)}`),
        `${id}_sum${labels(attrs)} ${number(s.state.sum)}`,
        `${id}_count${labels(attrs)} ${s.state.count}`
      ]
  }
}

/** The exposition of every snapshot, metric names in sorted order. */
export const render = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>): string => {
  const byName = new Map<string, Array<Metric.Metric.Snapshot>>()
  for (const s of snapshots) {
    const id = name(s.id)
    const list = byName.get(id) ?? []
    list.push(s)
    byName.set(id, list)
  }
  const lines: Array<string> = []
  for (const id of [...byName.keys()].sort()) {
    const series = byName.get(id)!
    const first = series[0]!
    if (first.description !== undefined) lines.push(`# HELP ${id} ${escapeHelp(first.description)}`)
    lines.push(`# TYPE ${id} ${promType(first.type)}`)
    for (const s of series) lines.push(...samples(id, s))
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}
