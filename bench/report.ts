/**
 * What a benchmark run means: the figures DESIGN §7 sets targets for, the regression gate
 * (`--check` against bench/thresholds.json), and docs/benchmarks.md with its SVG plots, all
 * rendered from the run's results.
 */
import type { FirstToken } from "./engine.ts"
import type { RestartRun } from "./restart.ts"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Measure } from "./lib.ts"
import type { PeerResults, PeerRows } from "./peers.ts"
import type { CurvePoint, PagePoint, Sustained } from "./scale.ts"
import type { Chart } from "./svg.ts"
import { lineChart } from "./svg.ts"

interface Watch {
  readonly watchers: number
  readonly p50: number
  readonly p99: number
  readonly serverRssMb: number
}

interface QueueRun {
  readonly queries: number
  readonly seconds: number
  readonly queriesPerSec: number
  readonly peakInFlight?: number
  readonly serverRssMb: ReadonlyArray<number>
}

interface ApiRows {
  readonly create1: Measure
  readonly create50: Measure
  readonly get1: Measure
  readonly list1: Measure
  readonly list10: Measure
}

/** The shape of docs/benchmarks.json (the parts the report reads). */
export interface Results {
  readonly date: string
  readonly quick: boolean
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memoryGiB: number; readonly node: string }
  readonly objects: number
  readonly listBytes: number
  readonly serverRssMb: number
  readonly ark: ApiRows
  readonly watch: { readonly oneReplica: ReadonlyArray<Watch>; readonly crossReplica: Watch }
  readonly queries: {
    /** Two replicas, as deployed: the figure checked against the target. */
    readonly instant: QueueRun
    readonly instantOneReplica: QueueRun
    readonly slowEngine: QueueRun
    readonly inFlight: QueueRun
    /** bench/engine.ts: the built-in engines on one replica. */
    readonly demoEngine: QueueRun
    readonly completionsEngine: QueueRun
    /** Time to first token through ark (stream endpoint) beside the scripted model's own; results from before it have none. */
    readonly firstToken?: FirstToken
  }
  readonly baselines: {
    readonly rawFetch: Measure
    readonly rawFetch10: Measure
    readonly rawInsert1: Measure
    readonly rawInsert50: Measure
    readonly minimalList: Measure
    readonly minimalGet: Measure
    /** bench/minimalWatch.ts: a bare Node HTTP fan-out, per watcher count. */
    readonly minimalWatch: ReadonlyArray<Watch>
  }
  readonly etcd: {
    readonly ark: ApiRows
    readonly serverRssMb: number
    readonly watch: ReadonlyArray<Watch>
    readonly baselines: { readonly rawRange: Measure; readonly rawRange10: Measure; readonly rawPut1: Measure; readonly rawPut50: Measure }
  }
  readonly scale: {
    readonly createCurve: ReadonlyArray<CurvePoint>
    readonly sustained: Sustained
    readonly pages: ReadonlyArray<PagePoint>
    readonly watchersRss: { readonly objects: number; readonly watchers: number; readonly serverRssMb: number }
    readonly restart?: RestartRun
  }
  readonly stress?: { readonly scale: number; readonly seconds: number; readonly passed: boolean }
  /** ark-effect beside kube-apiserver + CRDs on etcd and on kine, over TLS (absent in older results). */
  readonly peers?: PeerResults
}

/** The seed table's rows of the peer comparison: how to read each, and which way is better. */
const peerMeasures = (r: PeerRows): ReadonlyArray<{ readonly row: string; readonly value: number; readonly better: "lower" | "higher"; readonly unit: string }> => [
  { row: "LIST unpaginated, 1 client (P50)", value: r.list1.p50, better: "lower", unit: "ms" },
  { row: "LIST unpaginated, 10 clients", value: r.list10.opsPerSec, better: "higher", unit: "/s" },
  { row: "GET, 1 client (P50)", value: r.get1.p50, better: "lower", unit: "ms" },
  { row: "CREATE, 1 client (P50)", value: r.create1.p50, better: "lower", unit: "ms" },
  { row: "CREATE burst, 50 clients", value: r.create50.opsPerSec, better: "higher", unit: "/s" },
  ...r.watch.map((w) => ({ row: `watch delivery, ${w.watchers.toLocaleString("en-US")} watchers (P50)`, value: w.p50, better: "lower" as const, unit: "ms" })),
  ...r.pages.map((p) => ({ row: `LIST page (limit 500), ${p.objects.toLocaleString("en-US")} stored (next pages P50)`, value: p.next.p50, better: "lower" as const, unit: "ms" }))
]

/** Rows where the first column (ark-effect on PostgreSQL) is not ahead of the named peer. */
const rowsBehind = (peers: PeerResults | undefined, peer: string) => {
  const ark = peers?.rows[0]
  const other = peers?.rows.find((x) => x.name.startsWith(peer))
  if (ark === undefined || other === undefined) return undefined
  const theirs = peerMeasures(other)
  return peerMeasures(ark).filter((m, i) => {
    const t = theirs[i]
    return t !== undefined && (m.better === "lower" ? m.value >= t.value : m.value <= t.value)
  }).length
}

/** The figures DESIGN §7 names, by the names bench/thresholds.json uses (absent: not measured in this run). */
export const figures = (r: Results): Record<string, number | undefined> => {
  const w1000 = r.watch.oneReplica.find((w) => w.watchers === 1000)
  const pages = [...r.scale.pages].sort((a, b) => a.objects - b.objects)
  const full = r.scale.watchersRss.objects >= 100_000 && r.scale.watchersRss.watchers >= 1000
  return {
    listP50Ms: r.ark.list1.p50,
    listVsRawFetch: r.ark.list1.p50 / r.baselines.rawFetch.p50,
    list10PerSec: r.ark.list10.opsPerSec,
    getP50Ms: r.ark.get1.p50,
    createP50Ms: r.ark.create1.p50,
    create50PerSec: r.ark.create50.opsPerSec,
    create50VsRawInsert: r.ark.create50.opsPerSec / r.baselines.rawInsert50.opsPerSec,
    watch1000P50Ms: w1000?.p50,
    watch1000P99Ms: w1000?.p99,
    pageP50MsMax: pages.length === 0 ? undefined : Math.max(...pages.map((p) => p.first.p50, ...pages.map((p) => p.next.p50))),
    pageFlatness: pages.length < 2 ? undefined : pages[pages.length - 1]!.next.p50 / pages[0]!.next.p50,
    rss100kWatchers1000Mb: full ? r.scale.watchersRss.serverRssMb : undefined,
    restart100kRssMb: r.scale.restart !== undefined && r.scale.restart.stored >= 100_000 ? r.scale.restart.settledRssMb : undefined,
    restartRssVsBefore: r.scale.restart === undefined ? undefined : r.scale.restart.settledRssMb / r.scale.restart.beforeRssMb,
    queriesPerSec: r.queries.instant.queriesPerSec,
    inFlightShare: (r.queries.inFlight.peakInFlight ?? 0) / r.queries.inFlight.queries,
    etcdListVsPostgres: r.etcd.ark.list1.p50 / r.ark.list1.p50,
    watch1000VsMinimal: w1000 === undefined ? undefined : w1000.p50 / (r.baselines.minimalWatch.find((w) => w.watchers === 1000)?.p50 ?? Number.NaN),
    peerRowsBehindKubeEtcd: rowsBehind(r.peers, "kube-apiserver + CRDs, etcd"),
    peerRowsBehindKine: rowsBehind(r.peers, "kube-apiserver + CRDs, kine"),
    stressPassed: r.stress === undefined ? undefined : r.stress.passed ? 1 : 0
  }
}

export interface Threshold {
  readonly figure: string
  readonly op: "<=" | ">="
  readonly value: number
  readonly target: string
}

export interface Verdict extends Threshold {
  readonly measured: number | undefined
  readonly met: boolean | undefined
}

export const thresholds = (root: string): ReadonlyArray<Threshold> =>
  JSON.parse(readFileSync(join(root, "bench", "thresholds.json"), "utf8"))

/** Each threshold against this run; `met` is undefined for a figure the run did not measure. */
export const verdicts = (r: Results, ts: ReadonlyArray<Threshold>): ReadonlyArray<Verdict> => {
  const fs = figures(r)
  return ts.map((t) => {
    const measured = fs[t.figure]
    const met = measured === undefined ? undefined : t.op === "<=" ? measured <= t.value : measured >= t.value
    return { ...t, measured, met }
  })
}

const f = (n: number) => n < 10 ? n.toFixed(2) : n < 1000 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US")
const pct = (n: number) => `${Math.round(n * 100)}%`
const verdictText = (v: Verdict | undefined) => v === undefined || v.met === undefined ? "not measured" : v.met ? "met" : "**not met**"

/** The plots, by file name. */
export const charts = (r: Results): ReadonlyArray<readonly [string, string]> => {
  const watchSeries = (name: string, ws: ReadonlyArray<Watch>, group: number) => [
    { name: `${name} P50`, points: ws.map((w) => [w.watchers, w.p50] as const), group },
    { name: `${name} P99`, points: ws.map((w) => [w.watchers, w.p99] as const), group, dashed: true }
  ]
  const out: Array<readonly [string, Chart]> = [
    ["bench-watch.svg", {
      title: "Watch delivery latency vs watchers",
      xLabel: "watchers on one replica",
      yLabel: "ms from create to event",
      series: [
        ...watchSeries("PostgreSQL", r.watch.oneReplica, 0),
        ...watchSeries("etcd", r.etcd.watch, 1),
        ...watchSeries("minimal HTTP fan-out", r.baselines.minimalWatch, 2)
      ]
    }],
    ["bench-create.svg", {
      title: "CREATE throughput vs clients (PostgreSQL)",
      xLabel: "concurrent clients",
      yLabel: "creates per second",
      series: [{ name: "creates/s", points: r.scale.createCurve.map((p) => [p.concurrency, p.opsPerSec] as const) }],
      logX: true
    }]
  ]
  if (r.scale.pages.length > 1) {
    out.push(["bench-pages.svg", {
      title: "LIST page (limit 500) latency vs stored objects",
      xLabel: "Queries stored",
      yLabel: "ms",
      logX: true,
      series: [
        { name: "first page P50", points: r.scale.pages.map((p) => [p.objects, p.first.p50] as const), group: 0 },
        { name: "first page P99", points: r.scale.pages.map((p) => [p.objects, p.first.p99] as const), group: 0, dashed: true },
        { name: "next pages P50", points: r.scale.pages.map((p) => [p.objects, p.next.p50] as const), group: 1 },
        { name: "next pages P99", points: r.scale.pages.map((p) => [p.objects, p.next.p99] as const), group: 1, dashed: true }
      ]
    }])
  }
  return out.map(([file, chart]) => [file, lineChart(chart)] as const)
}

/** docs/benchmarks.md, entirely from the run's results. */
export const markdown = (r: Results, vs: ReadonlyArray<Verdict>, chartFiles: ReadonlyArray<string>, notes = ""): string => {
  const v = (figure: string) => vs.find((x) => x.figure === figure)
  const a = r.ark
  const b = r.baselines
  const e = r.etcd
  const w = (n: number) => r.watch.oneReplica.find((x) => x.watchers === n)
  const ew = (n: number) => e.watch.find((x) => x.watchers === n)
  const lat = (m: { p50: number; p99: number } | undefined) => m === undefined ? "-" : `${f(m.p50)} / ${f(m.p99)} ms`
  const q = r.queries
  const lines = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench` (this file, `docs/benchmarks.json` and the plots are rewritten by every",
    "full run; `--quick` writes `docs/benchmarks-quick.*`). Every scenario runs against real `ark serve`",
    "processes over HTTP, like a client, with baselines measured **in the same run on the same machine**:",
    "raw SQL through node-postgres, raw etcd reads and puts through etcd3, and a minimal Node HTTP server",
    "returning the same bytes. The machines are shared and noisy, so read the ratios first.",
    "",
    `Run of ${r.date}${r.quick ? " (quick size)" : ""}: ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB,`,
    `Node ${r.machine.node}, embedded PostgreSQL 18 and Debian's etcd 3.4, all on loopback; the benchmark`,
    "client runs on the same cores as the servers and the databases.",
    "",
    `## The seed's table, re-measured (${r.objects.toLocaleString("en-US")} Queries, ${(r.listBytes / 1e6).toFixed(2)} MB list)`,
    "",
    "| measure | upstream Ark (seed) | PostgreSQL layer P50 / P99 | etcd layer P50 / P99 | baseline, same run | target (DESIGN §7) |",
    "|---|---|---|---|---|---|",
    `| LIST unpaginated, 1 client | 1,504 ms (PG), 2,980 ms (etcd) | ${lat(a.list1)} | ${lat(e.ark.list1)} | raw SQL fetch ${f(b.rawFetch.p50)} ms (ours ${f(a.list1.p50 / b.rawFetch.p50)}x); raw etcd range ${f(e.baselines.rawRange.p50)} ms (ours ${f(e.ark.list1.p50 / e.baselines.rawRange.p50)}x); minimal HTTP ${f(b.minimalList.p50)} ms | <= 30 ms: ${verdictText(v("listP50Ms"))}; <= 2x raw: ${verdictText(v("listVsRawFetch"))} |`,
    `| LIST unpaginated, 10 clients | 12.5/s (PG), 6.1/s (etcd) | ${f(a.list10.opsPerSec)}/s | ${f(e.ark.list10.opsPerSec)}/s | raw SQL fetch ${f(b.rawFetch10.opsPerSec)}/s; raw etcd range ${f(e.baselines.rawRange10.opsPerSec)}/s | >= 50/s: ${verdictText(v("list10PerSec"))} |`,
    `| GET, 1 client | 106 ms (PG), 103 ms (etcd) | ${lat(a.get1)} | ${lat(e.ark.get1)} | minimal HTTP ${f(b.minimalGet.p50)} ms | <= 1 ms: ${verdictText(v("getP50Ms"))} |`,
    `| CREATE, 1 client | 106 ms (PG), 107 ms (etcd) | ${lat(a.create1)} | ${lat(e.ark.create1)} | raw INSERT ${f(b.rawInsert1.p50)} ms; raw etcd put ${f(e.baselines.rawPut1.p50)} ms | <= 3 ms: ${verdictText(v("createP50Ms"))} |`,
    `| CREATE burst, 50 clients | ~230/s | ${f(a.create50.opsPerSec)}/s | ${f(e.ark.create50.opsPerSec)}/s | raw INSERT ${f(b.rawInsert50.opsPerSec)}/s (ours ${pct(a.create50.opsPerSec / b.rawInsert50.opsPerSec)}); raw etcd put ${f(e.baselines.rawPut50.opsPerSec)}/s (ours ${pct(e.ark.create50.opsPerSec / e.baselines.rawPut50.opsPerSec)}) | >= 3,000/s: ${verdictText(v("create50PerSec"))}; >= ${pct(v("create50VsRawInsert")?.value ?? 0)} raw: ${verdictText(v("create50VsRawInsert"))} |`,
    ...[1, 200, 1000].filter((n) => w(n) !== undefined).map((n) =>
      `| watch delivery, ${n.toLocaleString("en-US")} watcher${n === 1 ? "" : "s"} | ${n === 1 ? "73 ms" : n === 200 ? "80 ms" : "-"} | ${lat(w(n))} | ${lat(ew(n))} | minimal HTTP fan-out ${lat(b.minimalWatch.find((x) => x.watchers === n))} | ${n === 1000 ? `<= 10 / <= 50 ms: P50 ${verdictText(v("watch1000P50Ms"))}, P99 ${verdictText(v("watch1000P99Ms"))}` : ""} |`),
    `| watch delivery across replicas, ${r.watch.crossReplica.watchers} watchers | - | ${lat(r.watch.crossReplica)} | | | |`,
    `| server RSS after the LIST phase | - | ${r.serverRssMb} MB | ${e.serverRssMb} MB | | |`,
    "",
    `etcd vs PostgreSQL, LIST 10k: etcd takes ${f(e.ark.list1.p50 / a.list1.p50)}x as long (${verdictText(v("etcdListVsPostgres"))}: PostgreSQL ahead).`,
    "",
    ...peerSection(r.peers),
    // Written by hand (bench/notes.md): profiles, what was changed, and why a row is still behind.
    ...(notes.trim() === "" ? [] : [notes.trim(), ""]),
    "## Scale",
    "",
    ...chartFiles.map((file) => `![${file}](${file})`),
    "",
    "| measure | result | target (DESIGN §7) |",
    "|---|---|---|",
    ...r.scale.createCurve.map((p) => `| CREATE burst, ${p.concurrency} clients | ${f(p.opsPerSec)}/s, ${lat(p)}, server RSS ${p.serverRssMb} MB | |`),
    `| CREATE at an offered ${f(r.scale.sustained.offeredPerSec)}/s (open loop, ${f(r.scale.sustained.seconds)} s) | achieved ${f(r.scale.sustained.achievedPerSec)}/s, ${lat(r.scale.sustained)}, server RSS ${r.scale.sustained.serverRssMb} MB${(r.scale.sustained.errors ?? 0) > 0 ? `, ${r.scale.sustained.errors} requests unanswered (connection reset)` : ""} (upstream Ark sustains ~180/s) | |`,
    ...r.scale.pages.map((p) => `| LIST page (limit 500), ${p.objects.toLocaleString("en-US")} Queries stored | first page ${lat(p.first)}; next pages ${lat(p.next)}; server RSS ${p.serverRssMb} MB | <= 15 ms, flat: ${verdictText(v("pageP50MsMax"))}, ${verdictText(v("pageFlatness"))} |`),
    `| server RSS, ${r.scale.watchersRss.objects.toLocaleString("en-US")} Queries stored + ${r.scale.watchersRss.watchers.toLocaleString("en-US")} watchers | ${r.scale.watchersRss.serverRssMb} MB | <= 300 MB: ${verdictText(v("rss100kWatchers1000Mb"))} |`,
    ...(r.scale.restart === undefined ? [] : [
      `| restart, every module, ${r.scale.restart.stored.toLocaleString("en-US")} Agents stored | ready in ${f(r.scale.restart.readySeconds)} s, settled in ${f(r.scale.restart.settledSeconds)} s, ${f(r.scale.restart.cpuSeconds)} CPU s; RSS settled ${r.scale.restart.settledRssMb} MB (peak ${r.scale.restart.peakRssMb} MB; ${r.scale.restart.beforeRssMb} MB before the restart) | no larger than before, <= 300 MB: ${verdictText(v("restartRssVsBefore"))}, ${verdictText(v("restart100kRssMb"))} |`
    ]),
    "",
    "## Queries end to end",
    "",
    "Real A2A engines (@a2a-js/sdk servers) in the benchmark process; `ark serve` replicas with query",
    "workers on one PostgreSQL (one replica first, then two, which on these two cores share them with",
    "PostgreSQL, the engine and the client); Queries created over HTTP at 100 clients; timed until the",
    "queue is empty and every Query is `done`.",
    "",
    "| scenario | result | memory | target (DESIGN §7) |",
    "|---|---|---|---|",
    `| engine that answers at once, default concurrency, one replica | ${q.instantOneReplica.queries.toLocaleString("en-US")} in ${f(q.instantOneReplica.seconds)} s: ${f(q.instantOneReplica.queriesPerSec)} Queries/s | ${q.instantOneReplica.serverRssMb.join(" / ")} MB | |`,
    `| engine that answers at once, default concurrency, two replicas | ${q.instant.queries.toLocaleString("en-US")} in ${f(q.instant.seconds)} s: **${f(q.instant.queriesPerSec)} Queries/s** | ${q.instant.serverRssMb.join(" / ")} MB | >= 500/s: ${verdictText(v("queriesPerSec"))} |`,
    `| engine that answers after 1 s, \`--query-concurrency 6000\` | ${q.slowEngine.queries.toLocaleString("en-US")} in ${f(q.slowEngine.seconds)} s (${f(q.slowEngine.queriesPerSec)}/s); peak ${q.slowEngine.peakInFlight} calls in flight | ${q.slowEngine.serverRssMb.join(" / ")} MB | |`,
    `| backlog of ${q.inFlight.queries.toLocaleString("en-US")}, then two worker replicas; engine answers after 30 s | **peak ${q.inFlight.peakInFlight?.toLocaleString("en-US")} calls in flight at once**; all done in ${f(q.inFlight.seconds)} s | ${q.inFlight.serverRssMb.join(" / ")} MB | 10,000 in flight: ${verdictText(v("inFlightShare"))} |`,
    `| built-in demo engine (in the replica), one replica | ${q.demoEngine.queries.toLocaleString("en-US")} in ${f(q.demoEngine.seconds)} s: ${f(q.demoEngine.queriesPerSec)} Queries/s | ${q.demoEngine.serverRssMb.join(" / ")} MB | |`,
    `| completions engine embedded in the replica (reads Query, Agent, Model through the API), instant scripted model, one replica | ${q.completionsEngine.queries.toLocaleString("en-US")} in ${f(q.completionsEngine.seconds)} s: ${f(q.completionsEngine.queriesPerSec)} Queries/s | ${q.completionsEngine.serverRssMb.join(" / ")} MB | |`,
    ...(q.firstToken !== undefined
      ? [`| time to first token: Query create to its first chunk on the stream endpoint, vs the scripted model's own first chunk (median of ${q.firstToken.samples}) | ${f(q.firstToken.arkMs)} ms through ark, ${f(q.firstToken.providerMs)} ms from the model | | |`]
      : []),
    "",
    "With a 1 s engine the calls open at once are the rate at which Queries start times one second",
    "(Little's law), so that row shows the start rate; the backlog row shows that every Query of a",
    "10,000 backlog is in flight at once, with the workers' memory.",
    "",
    ...(r.stress === undefined ? [] : [`The watch stress checker at ${r.stress.scale}x its \`npm test\` size ${r.stress.passed ? "passed" : "**failed**"} in ${f(r.stress.seconds)} s.`, ""]),
    "## Regression gate",
    "",
    "`npm run bench -- --check` compares these figures with `bench/thresholds.json` and exits 1 on a miss:",
    "",
    "| target | measured | verdict |",
    "|---|---|---|",
    ...vs.map((x) => `| ${x.target} (${x.op} ${x.value}) | ${x.measured === undefined ? "-" : f(x.measured)} | ${verdictText(x)} |`),
    ""
  ]
  return lines.join("\n")
}

/** The four-column table: each row's figure per server, and its ratio to the best of the row. */
export const peerSection = (peers: PeerResults | undefined): ReadonlyArray<string> => {
  if (peers === undefined || peers.rows.length === 0) return []
  const columns = peers.rows.map(peerMeasures)
  const cell = (m: { value: number; unit: string }, best: number, better: "lower" | "higher") => {
    const ratio = better === "lower" ? m.value / best : best / m.value
    return `${f(m.value)} ${m.unit}${ratio <= 1.0001 ? " (best)" : ` (${f(ratio)}x)`}`
  }
  const rss = peers.rows.map((r) => `${r.serverRssMb} MB${r.storeRssMb > 0 ? ` + store ${r.storeRssMb} MB` : ""}`)
  return [
    "## Against the real peers (same run, same client, over TLS)",
    "",
    `Four servers, each started alone on this machine, loaded with the same ${peers.sizes.objects.toLocaleString("en-US")} Queries through its API by the`,
    "same client code, measured, then stopped before the next starts; every one reached over TLS with a client",
    "certificate of its CA (kube's in system:masters, which API priority and fairness exempts; ark's in-flight",
    "limits raised to the same 2,000 / 1,000). Each cell: the figure, and its ratio to the best of the row.",
    "",
    "How each was configured (binaries built by `npm run kube:bin`, scripts/kube-peers.sh, from the Go module proxy):",
    "",
    "- **ark-effect, PostgreSQL**: `ark serve --modules apiserver --storage postgresql --postgres-url .../peer_ark",
    "  --max-requests-inflight 2000 --max-mutating-requests-inflight 1000` with its generated PKI, on the run's",
    "  embedded PostgreSQL 18 (its own database).",
    `- **ark-effect, etcd**: the same with \`--storage etcd\`, on etcd ${peers.versions.etcd} (the peers' build, on disk, as below).`,
    `- **kube-apiserver + CRDs, etcd**: kube-apiserver ${peers.versions.kubernetes} (k8s.io/kubernetes at that tag, \`CGO_ENABLED=0\`),`,
    "  `--etcd-servers http://127.0.0.1:<port> --bind-address 127.0.0.1 --secure-port <port> --client-ca-file`,",
    "  `--tls-cert-file/--tls-private-key-file`, service-account issuer and keys, `--service-cluster-ip-range 10.96.0.0/16",
    "  --authorization-mode RBAC --max-requests-inflight 2000 --max-mutating-requests-inflight 1000 --profiling=false`;",
    "  everything else at its default, so the **watch cache is on** (`--watch-cache=true`, default sizes) and LIST",
    "  and watch are served from it. Ark's CRDs from `ark crds`, POSTed as `kubectl apply` would. Its store:",
    `  etcd ${peers.versions.etcd} (go.etcd.io/etcd/server/v3 at the version Kubernetes pins), one member, data on disk,`,
    "  `--listen-client-urls http://127.0.0.1:<port> --log-level warn`, defaults otherwise.",
    `- **kube-apiserver + CRDs, kine on PostgreSQL**: the same kube-apiserver, with \`--etcd-servers\` at kine ${peers.versions.kine}`,
    "  (`go install github.com/k3s-io/kine@" + peers.versions.kine + "`, no cgo), run as k3s runs it:",
    "  `kine --endpoint postgres://.../peer_kine?sslmode=disable --listen-address 127.0.0.1:<port>`, on the run's embedded",
    "  PostgreSQL 18 (the server of the ark-effect column, its own database).",
    "",
    `| measure | ${peers.rows.map((r) => r.name).join(" | ")} |`,
    `|---|${peers.rows.map(() => "---").join("|")}|`,
    ...columns[0]!.map((m, i) => {
      const row = columns.map((c) => c[i]!)
      const best = m.better === "lower" ? Math.min(...row.map((x) => x.value)) : Math.max(...row.map((x) => x.value))
      return `| ${m.row} | ${row.map((x) => cell(x, best, m.better)).join(" | ")} |`
    }),
    `| server RSS after the rows | ${rss.join(" | ")} |`,
    ""
  ]
}
