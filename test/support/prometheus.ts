/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: every line must
 * be a HELP/TYPE comment or a sample `name{labels} value`, a metric's TYPE must come before its
 * samples and appear once, histogram buckets must be cumulative and end with +Inf = _count.
 */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>
  readonly samples: ReadonlyArray<Sample>
  /** The value of the one sample with this name whose labels include `labels` (undefined: none). */
  readonly value: (name: string, labels?: Record<string, string>) => number | undefined
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const types = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

const parseValue = (text: string, line: string): number => {
  if (text === "+Inf") return Infinity
  if (text === "-Inf") return -Infinity
  if (text === "NaN") return NaN
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`)
  return Number(text)
}

const parseLabels = (text: string, line: string): Record<string, string> => {
  const labels: Record<string, string> = {}
  let i = 0
  while (i < text.length) {
    const eq = text.indexOf("=", i)
    if (eq < 0) throw new Error(`bad labels in: ${line}`)
    const name = text.slice(i, eq)
    if (!labelName.test(name) || name in labels) throw new Error(`bad label name "${name}" in: ${line}`)
    if (text[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`)
    let j = eq + 2
    let value = ""
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j]
        value += next === "n" ? "\n" : next === "\\" ? "\\" : next === '"' ? '"' : (() => {
          throw new Error(`bad escape in: ${line}`)
        })()
      } else value += text[j]
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`)
    labels[name] = value
    i = j + 1
    if (text[i] === ",") i++
    else if (i < text.length) throw new Error(`bad label separator in: ${line}`)
  }
  return labels
}

/** The family a sample belongs to (histogram and summary samples carry suffixes). */
const familyOf = (name: string, declared: ReadonlyMap<string, string>) => {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length)
    if (name.endsWith(suffix) && (declared.get(base) === "histogram" || declared.get(base) === "summary")) return base
  }
  return name
}

export const parsePrometheus = (text: string): Exposition => {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition must end with a newline")
  const declared = new Map<string, string>()
  const samples: Array<Sample> = []
  const seen = new Set<string>()
  for (const line of text.split("\n").slice(0, -1)) {
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (m === null) throw new Error(`bad comment: ${line}`)
      if (!metricName.test(m[2]!)) throw new Error(`bad metric name: ${line}`)
      if (m[1] === "TYPE") {
        if (!types.has(m[3]!) || declared.has(m[2]!)) throw new Error(`bad or repeated TYPE: ${line}`)
        if (samples.some((s) => familyOf(s.name, declared) === m[2])) throw new Error(`TYPE after samples: ${line}`)
        declared.set(m[2]!, m[3]!)
      }
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`bad sample line: ${JSON.stringify(line)}`)
    const labels = m[2] === undefined ? {} : parseLabels(m[2], line)
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`
    if (seen.has(key)) throw new Error(`repeated series: ${line}`)
    seen.add(key)
    samples.push({ name: m[1]!, labels, value: parseValue(m[3]!, line) })
  }
  // Histograms: cumulative buckets per series, ending in +Inf equal to _count.
  for (const [name, type] of declared) {
    if (type !== "histogram") continue
    const series = new Map<string, Array<Sample>>()
    for (const s of samples.filter((s) => s.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels
      if (le === undefined) throw new Error(`bucket without le: ${name}`)
      const k = JSON.stringify(Object.entries(rest).sort())
      series.set(k, [...(series.get(k) ?? []), s])
    }
    for (const [k, buckets] of series) {
      const counts = buckets.map((b) => b.value)
      if (counts.some((c, i) => i > 0 && c < counts[i - 1]!)) throw new Error(`buckets of ${name} ${k} are not cumulative`)
      const inf = buckets.find((b) => b.labels["le"] === "+Inf")
      const count = samples.find((s) => s.name === `${name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === k)
      if (inf === undefined || count === undefined || inf.value !== count.value) throw new Error(`${name} ${k}: +Inf bucket must equal _count`)
    }
  }
  const value = (name: string, labels: Record<string, string> = {}) => {
    const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`)
    return matching[0]?.value
  }
  return { types: declared, samples, value }
}
