/**
 * Line charts as standalone SVG text, for docs/benchmarks.md: a few series of (x, y) points,
 * linear or logarithmic x, linear y from 0, axis ticks and a legend. No dependencies.
 */

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
  /** Drawn dashed (e.g. P99 next to a solid P50). */
  readonly dashed?: boolean
  /** Series of one group share a color (default: each its own). */
  readonly group?: number
}

export interface Chart {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: ReadonlyArray<Series>
  readonly logX?: boolean
}

const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const label = (n: number) => n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : `${Math.round(n * 100) / 100}`

/** A "nice" step (1, 2 or 5 times a power of ten) giving about five ticks up to `max`. */
const niceStep = (max: number) => {
  const raw = max / 5
  const power = 10 ** Math.floor(Math.log10(raw))
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!
}

export const lineChart = (c: Chart): string => {
  const width = 640
  const height = 360
  const left = 70
  const right = 170
  const top = 40
  const bottom = 50
  const xs = [...new Set(c.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b)
  const fx = c.logX ? Math.log10 : (x: number) => x
  const x0 = fx(xs[0]!)
  const x1 = fx(xs[xs.length - 1]!)
  const yMax = Math.max(...c.series.flatMap((s) => s.points.map((p) => p[1])), 1e-9)
  const step = niceStep(yMax)
  const yTop = Math.ceil(yMax / step) * step
  const px = (x: number) => left + (x1 === x0 ? 0.5 : (fx(x) - x0) / (x1 - x0)) * (width - left - right)
  const py = (y: number) => top + (1 - y / yTop) * (height - top - bottom)
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(c.title)}</text>`
  ]
  for (let y = 0; y <= yTop + step / 2; y += step) {
    out.push(`<line x1="${left}" x2="${width - right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`)
    out.push(`<text x="${left - 6}" y="${py(y) + 4}" text-anchor="end">${label(y)}</text>`)
  }
  for (const x of xs) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${top}" y2="${height - bottom}" stroke="#eee"/>`)
    out.push(`<text x="${px(x)}" y="${height - bottom + 16}" text-anchor="middle">${label(x)}</text>`)
  }
  out.push(`<line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="#333"/>`)
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="#333"/>`)
  out.push(`<text x="${(left + width - right) / 2}" y="${height - 12}" text-anchor="middle">${escape(c.xLabel)}</text>`)
  out.push(`<text x="16" y="${(top + height - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + height - bottom) / 2})">${escape(c.yLabel)}</text>`)
  c.series.forEach((s, i) => {
    const color = colors[(s.group ?? i) % colors.length]
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : ""
    const pts = [...s.points].sort((a, b) => a[0] - b[0]).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`)
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.join(" ")}"/>`)
    for (const p of pts) {
      const [x, y] = p.split(",")
      out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${color}"/>`)
    }
    const ly = top + 10 + i * 18
    out.push(`<line x1="${width - right + 12}" x2="${width - right + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`)
    out.push(`<text x="${width - right + 42}" y="${ly + 4}">${escape(s.name)}</text>`)
  })
  out.push("</svg>")
  return out.join("\n") + "\n"
}
