/**
 * The benchmark's regression gate and report: a figure beyond its DESIGN §7 threshold is a miss
 * (`npm run bench -- --check` exits 1 on it), a figure the run did not measure is neither, and
 * the generated page states each verdict and embeds the plots.
 */
import { describe, expect, it } from "vitest"
import { join } from "node:path"
import type { Results } from "../../bench/report.ts"
import { charts, figures, markdown, thresholds, verdicts } from "../../bench/report.ts"

const m = (p50: number, opsPerSec: number) => ({ p50, p99: p50 * 3, opsPerSec, count: 100 })
const watch = (watchers: number, p50: number) => ({ watchers, p50, p99: p50 * 4, serverRssMb: 400 })
const run = (queriesPerSec: number, watchers: ReadonlyArray<number>): Results => ({
  date: "2026-11-24T20:00:00.000Z",
  quick: false,
  machine: { cpus: 2, cpuModel: "test", memoryGiB: 24, node: "v24" },
  objects: 10_000,
  listBytes: 4_000_000,
  serverRssMb: 500,
  ark: { list1: m(12, 80), list10: m(120, 70), get1: m(0.4, 2000), create1: m(0.8, 1000), create50: m(15, 3200) },
  watch: { oneReplica: watchers.map((n) => watch(n, n === 1000 ? 25 : 4)), crossReplica: watch(200, 8) },
  queries: {
    instant: { queries: 5000, seconds: 5000 / queriesPerSec, queriesPerSec, serverRssMb: [300, 300] },
    instantOneReplica: { queries: 5000, seconds: 10, queriesPerSec: 500, serverRssMb: [300] },
    slowEngine: { queries: 10_000, seconds: 20, queriesPerSec: 500, peakInFlight: 900, serverRssMb: [400, 400] },
    inFlight: { queries: 10_000, seconds: 40, queriesPerSec: 250, peakInFlight: 10_000, serverRssMb: [500, 300] },
    demoEngine: { queries: 5000, seconds: 10, queriesPerSec: 500, serverRssMb: [300] },
    completionsEngine: { queries: 5000, seconds: 20, queriesPerSec: 250, serverRssMb: [350] }
  },
  baselines: { rawFetch: m(10, 90), rawFetch10: m(100, 60), rawInsert1: m(0.3, 3000), rawInsert50: m(5, 8000), minimalList: m(3, 300), minimalGet: m(0.1, 9000), minimalWatch: watchers.map((n) => watch(n, 2)) },
  etcd: {
    ark: { list1: m(20, 40), list10: m(200, 40), get1: m(0.7, 1200), create1: m(1.1, 800), create50: m(25, 1800) },
    serverRssMb: 450,
    watch: watchers.map((n) => watch(n, 5)),
    baselines: { rawRange: m(18, 50), rawRange10: m(150, 60), rawPut1: m(0.6, 1500), rawPut50: m(8, 5000) }
  },
  scale: {
    createCurve: [10, 50].map((concurrency) => ({ ...m(5, 2000 + concurrency), concurrency, serverRssMb: 420 })),
    sustained: { offeredPerSec: 1000, achievedPerSec: 999, seconds: 10, p50: 2, p99: 40, serverRssMb: 410 },
    pages: [10_000, 100_000].map((objects) => ({ objects, first: m(7, 140), next: m(9, 110), serverRssMb: 300 })),
    watchersRss: { objects: 100_000, watchers: 1000, serverRssMb: 280 }
  }
})

const root = join(import.meta.dirname, "..", "..")

describe("benchmark gate", () => {
  it("marks each DESIGN §7 figure met or missed, and a figure not measured as neither", () => {
    const full = verdicts(run(540, [1, 200, 1000]), thresholds(root))
    const by = (figure: string) => full.find((v) => v.figure === figure)!
    expect(by("queriesPerSec")).toMatchObject({ measured: 540, met: true })
    expect(by("listVsRawFetch")).toMatchObject({ measured: 1.2, met: true })
    expect(by("watch1000P50Ms")).toMatchObject({ measured: 25, met: false })
    expect(by("etcdListVsPostgres").met).toBe(true)
    expect(by("pageFlatness")).toMatchObject({ measured: 1, met: true })

    const slower = verdicts(run(400, [1, 200]), thresholds(root))
    expect(slower.find((v) => v.figure === "queriesPerSec")).toMatchObject({ met: false })
    expect(slower.find((v) => v.figure === "watch1000P50Ms")).toMatchObject({ measured: undefined, met: undefined })
  })

  it("every threshold names a figure the run computes", () => {
    const names = Object.keys(figures(run(540, [1, 200, 1000])))
    for (const t of thresholds(root)) expect(names).toContain(t.figure)
  })

  it("renders the page with the verdicts and one plot per chart", () => {
    const results = run(400, [1, 200, 1000])
    const plots = charts(results)
    expect(plots.map(([file]) => file)).toEqual(["bench-watch.svg", "bench-create.svg", "bench-pages.svg"])
    for (const [, svg] of plots) expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<polyline[\s\S]*<\/svg>\n$/)
    const page = markdown(results, verdicts(results, thresholds(root)), plots.map(([file]) => file))
    expect(page).toContain("![bench-pages.svg](bench-pages.svg)")
    expect(page).toMatch(/engine that answers at once.*\*\*400\.0 Queries\/s\*\*.*>= 500\/s: \*\*not met\*\*/)
    expect(page).toMatch(/LIST unpaginated, 1 client \| 1,504 ms.*<= 30 ms: met/)
    expect(page).toMatch(/built-in demo engine.*\| 5,000 in 10\.0 s: 500\.0 Queries\/s \| 300 MB/)
    expect(page).toMatch(/completions engine embedded.*\| 5,000 in 20\.0 s: 250\.0 Queries\/s \| 350 MB/)
  })

  it("compares ark-effect with the peers row by row: a row it does not lead is counted, and each cell shows its ratio to the best", () => {
    const peer = (name: string, list1: number, create50: number) => ({
      name,
      list1: m(list1, 1000 / list1),
      list10: m(list1 * 10, 100 / list1),
      get1: m(1, 1000),
      create1: m(2, 500),
      create50: m(10, create50),
      watch: [{ ...watch(1, 3), events: 200 }, { ...watch(1000, 30), events: 200 }],
      pages: [{ objects: 10_000, first: m(8, 120), next: m(9, 110), serverRssMb: 300 }],
      serverRssMb: 300,
      storeRssMb: name.includes("kube") ? 60 : 0
    })
    const results: Results = {
      ...run(540, [1, 200, 1000]),
      peers: {
        sizes: { objects: 10_000, quick: false, watcherCounts: [1, 1000], watchEvents: 200, pageTotals: [10_000] },
        versions: { kubernetes: "v1.35.4", kine: "v0.17.5", etcd: "3.6.5" },
        rows: [
          peer("ark-effect, PostgreSQL", 10, 4000),
          peer("ark-effect, etcd", 20, 2000),
          // kube on etcd: slower LIST, faster creates; ties elsewhere, which ark does not lead.
          { ...peer("kube-apiserver + CRDs, etcd", 100, 5000), get1: m(0.5, 2000) },
          { ...peer("kube-apiserver + CRDs, kine on PostgreSQL", 200, 300), get1: m(5, 200), create1: m(9, 100), watch: [{ ...watch(1, 9), events: 200 }, { ...watch(1000, 90), events: 200 }], pages: [{ objects: 10_000, first: m(30, 30), next: m(40, 25), serverRssMb: 400 }] }
        ]
      }
    }
    const fs = figures(results)
    // Behind kube on etcd: GET and CREATE c=50; tied on CREATE c=1, both watches and the page (a tie is not a lead).
    expect(fs["peerRowsBehindKubeEtcd"]).toBe(6)
    expect(fs["peerRowsBehindKine"]).toBe(0)
    const page = markdown(results, verdicts(results, thresholds(root)), [])
    expect(page).toContain("| measure | ark-effect, PostgreSQL | ark-effect, etcd | kube-apiserver + CRDs, etcd | kube-apiserver + CRDs, kine on PostgreSQL |")
    expect(page).toContain("| LIST unpaginated, 1 client (P50) | 10.0 ms (best) | 20.0 ms (2.00x) | 100.0 ms (10.0x) | 200.0 ms (20.0x) |")
    expect(page).toContain("| CREATE burst, 50 clients | 4,000 /s (1.25x) | 2,000 /s (2.50x) | 5,000 /s (best) | 300.0 /s (16.7x) |")
    expect(page).toMatch(/ahead of kube-apiserver \+ CRDs on etcd on every row \(<= 0\) \| 6\.00 \| \*\*not met\*\*/)
  })
})
