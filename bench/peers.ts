/**
 * The systems a user would run instead of ark-effect, measured in the same run with the same
 * client code and objects: kube-apiserver 1.35 serving Ark's CRDs (`ark crds`) from etcd (the
 * seed's etcd configuration) and from PostgreSQL through kine (as k3s runs it), beside
 * ark-effect on PostgreSQL and on etcd. Every server is reached over TLS with a client
 * certificate of its CA, as kubectl reaches it; the binaries are scripts/kube-peers.sh's.
 */
import { execFileSync, spawn } from "node:child_process"
import { generateKeyPairSync } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { parse, parseAllDocuments } from "yaml"
import { issue, makeCa } from "../test/support/certs.ts"
import { freePort } from "../test/support/net.ts"
import type { ClientTls, Measure, WatchLatency } from "./lib.ts"
import { expectStatus, http, measure, path, query, rssMb, serverNodeFlags, stopChild, useTls, watchLatency } from "./lib.ts"
import type { PagePoint } from "./scale.ts"
import { pageLatency } from "./scale.ts"

const root = join(import.meta.dirname, "..")
type Children = Array<ReturnType<typeof spawn>>

/** The folder scripts/kube-peers.sh builds (and builds first if needed). */
export const peerBinaries = () =>
  new Promise<string>((resolve, reject) => {
    const child = spawn("bash", [join(root, "scripts", "kube-peers.sh")], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout.on("data", (c: Buffer) => (out += c.toString()))
    child.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`scripts/kube-peers.sh exited with ${code}`))))
  })

/** A server under test: where it answers, its process ids (server first, then its store), and how it is reached. */
export interface Server {
  readonly name: string
  readonly url: URL
  readonly pids: ReadonlyArray<number>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const startLogged = (children: Children, command: string, args: ReadonlyArray<string>) => {
  const child = spawn(command, [...args], { stdio: ["ignore", "pipe", "pipe"] })
  children.push(child)
  let log = ""
  const keep = (c: Buffer) => {
    log = (log + c.toString()).slice(-20_000)
  }
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  return { child, log: () => log }
}

/** Polls `probe` until it resolves true, or fails with `what` and the log. */
const waitFor = async (probe: () => Promise<boolean>, what: string, log: () => string, ms = 120_000) => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return
    await sleep(250)
  }
  throw new Error(`${what} did not come up:\n${log()}`)
}

/** The store a peer kube-apiserver keeps its objects in. */
export type PeerStore = { readonly etcd: true } | { readonly kine: string }

/**
 * kube-apiserver on 127.0.0.1 with its watch cache on (the default), RBAC, and Ark's CRDs; over
 * etcd 3.6 on disk, or over kine on the given PostgreSQL database URL. The admin certificate is
 * in system:masters, which kube's API priority and fairness exempts, as ark's in-flight limits
 * are raised for the benchmark.
 */
export const startKubePeer = async (children: Children, dir: string, name: string, store: PeerStore): Promise<Server> => {
  const binaries = await peerBinaries()
  const home = join(dir, name)
  mkdirSync(home, { recursive: true })
  const storeProcess = "etcd" in store ? await startEtcdMember(children, home) : await startKine(children, store.kine)
  const ca = await makeCa(`${name}-ca`)
  const serving = await issue(ca, { cn: "kube-apiserver", hosts: ["127.0.0.1", "localhost"] })
  const admin = await issue(ca, { cn: "bench-admin", o: ["system:masters"] })
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 })
  const file = (n: string, content: string) => {
    writeFileSync(join(home, n), content, { mode: 0o600 })
    return join(home, n)
  }
  const port = await freePort()
  const apiserver = startLogged(children, join(binaries, "kube-apiserver"), [
    "--etcd-servers", storeProcess.endpoint,
    "--bind-address", "127.0.0.1",
    "--advertise-address", "127.0.0.1",
    "--secure-port", String(port),
    "--client-ca-file", file("ca.crt", ca.certPem),
    "--tls-cert-file", file("apiserver.crt", serving.certPem),
    "--tls-private-key-file", file("apiserver.key", serving.keyPem),
    "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
    "--service-account-key-file", file("sa.pub", sa.publicKey.export({ type: "spki", format: "pem" }).toString()),
    "--service-account-signing-key-file", file("sa.key", sa.privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
    "--service-cluster-ip-range", "10.96.0.0/16",
    "--authorization-mode", "RBAC",
    "--max-requests-inflight", "2000",
    "--max-mutating-requests-inflight", "1000",
    "--profiling=false"
  ])
  const url = new URL(`https://127.0.0.1:${port}`)
  const tls: ClientTls = { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem }
  useTls(url, tls)
  const log = () => `kube-apiserver:\n${apiserver.log()}\n${name} store:\n${storeProcess.log()}`
  await waitFor(async () => (await http(url, "GET", "/readyz")).status === 200, `${name} kube-apiserver`, log)

  // Ark's CRDs, as `ark crds | kubectl apply -f -` installs them.
  const crds = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "src/programs/main.ts"), "crds"], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout.on("data", (c: Buffer) => (out += c.toString()))
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`ark crds exited with ${code}`))))
  })
  for (const doc of parseAllDocuments(crds)) {
    const crd = doc.toJS()
    if (crd === null) continue
    expectStatus(201)(await http(url, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", JSON.stringify(crd)))
  }
  await waitFor(async () => (await http(url, "GET", "/apis/ark.mckinsey.com/v1alpha1/queries")).status === 200, `${name} Ark CRDs`, log)
  return { name, url, pids: [apiserver.child.pid!, storeProcess.pid] }
}

/** The admin credentials an `ark serve` with TLS wrote into its data directory's kubeconfig. */
export const arkTls = (kubeconfig: string): ClientTls => {
  const config = parse(readFileSync(kubeconfig, "utf8")) as {
    clusters: Array<{ cluster: { "certificate-authority-data": string } }>
    users: Array<{ user: { "client-certificate-data": string; "client-key-data": string } }>
  }
  const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8")
  return {
    ca: b64(config.clusters[0]!.cluster["certificate-authority-data"]),
    cert: b64(config.users[0]!.user["client-certificate-data"]),
    key: b64(config.users[0]!.user["client-key-data"])
  }
}

/** A namespace (kube-apiserver refuses objects in one that does not exist; ark needs none). */
const namespace = async (base: URL, name: string) => {
  const r = await http(base, "POST", "/api/v1/namespaces", JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }))
  // 201 on kube-apiserver; ark serves no core namespaces (404).
  if (r.status !== 201 && r.status !== 404 && r.status !== 409) throw new Error(`creating namespace ${name}: HTTP ${r.status}`)
}

export interface PeerRows {
  readonly name: string
  readonly list1: Measure
  readonly list10: Measure
  readonly get1: Measure
  readonly create1: Measure
  readonly create50: Measure
  readonly watch: ReadonlyArray<WatchLatency>
  readonly pages: ReadonlyArray<PagePoint>
  /** The server's RSS after the rows (MB), and its store's (etcd, kine; 0 when in process or shared). */
  readonly serverRssMb: number
  readonly storeRssMb: number
}

export interface PeerSizes {
  readonly objects: number
  readonly quick: boolean
  readonly watcherCounts: ReadonlyArray<number>
  readonly watchEvents: number
  /** Objects in the LIST rows' namespace at which LIST pages are measured, ascending (those above `objects` are created first). */
  readonly pageTotals: ReadonlyArray<number>
}

/** The seed's table on one server: the same requests, bodies and sizes for every peer. */
export const peerRows = async (server: Server, sizes: PeerSizes): Promise<PeerRows> => {
  const base = server.url
  const label = `${server.name}: `
  const { objects: N, quick } = sizes
  for (const ns of ["bench", "c1", "c50", ...sizes.watcherCounts.map((n) => `watch-${n}`)]) await namespace(base, ns)
  await measure(N, 50, (i) => http(base, "POST", path("bench"), query("bench", `q-${i}`)).then(expectStatus(201)), `${label}seed`)
  const create1 = await measure(quick ? 200 : 1000, 1, (i) => http(base, "POST", path("c1"), query("c1", `q-${i}`)).then(expectStatus(201)), `${label}create c=1`)
  const create50 = await measure(quick ? 1000 : 5000, 50, (i) => http(base, "POST", path("c50"), query("c50", `q-${i}`)).then(expectStatus(201)), `${label}create c=50`)
  const get1 = await measure(quick ? 500 : 2000, 1, (i) => http(base, "GET", `${path("bench")}/q-${(i * 7919) % N}`).then(expectStatus(200)), `${label}get c=1`)
  const list1 = await measure(quick ? 10 : 30, 1, () => http(base, "GET", path("bench")).then(expectStatus(200)), `${label}list c=1`)
  const list10 = await measure(quick ? 30 : 100, 10, () => http(base, "GET", path("bench")).then(expectStatus(200)), `${label}list c=10`)
  const watch = []
  for (const n of sizes.watcherCounts) watch.push(await watchLatency(base, base, `watch-${n}`, n, sizes.watchEvents, server.pids[0]!))
  // LIST pages (limit 500) as the namespace of the LIST rows grows, every object created through the API.
  const pages = []
  let stored = N
  for (const total of sizes.pageTotals) {
    if (total > stored) {
      const from = stored
      await measure(total - from, 100, (i) => http(base, "POST", path("bench"), query("bench", `q-${from + i}`)).then(expectStatus(201)), `${label}seeding to ${total}`)
      stored = total
    }
    pages.push(await pageLatency(base, server.pids[0]!, "bench", stored, quick ? 20 : 50))
  }
  return {
    name: server.name,
    list1,
    list10,
    get1,
    create1,
    create50,
    watch,
    pages,
    serverRssMb: Math.round(rssMb(server.pids[0]!)),
    storeRssMb: server.pids[1] === undefined ? 0 : Math.round(rssMb(server.pids[1]))
  }
}

/** An etcd member of the peers' build (3.6, on disk), for ark's etcd column and kube's. */
const startEtcdMember = async (children: Children, home: string) => {
  const binaries = await peerBinaries()
  const port = await freePort()
  const member = startLogged(children, join(binaries, "etcd"), [
    "--data-dir", join(home, "etcd"),
    "--listen-client-urls", `http://127.0.0.1:${port}`,
    "--advertise-client-urls", `http://127.0.0.1:${port}`,
    "--listen-peer-urls", `http://127.0.0.1:${await freePort()}`,
    "--log-level", "warn"
  ])
  return { endpoint: `http://127.0.0.1:${port}`, pid: member.child.pid!, log: member.log }
}

/** kine serving the etcd API on a PostgreSQL database, as k3s runs it. */
const startKine = async (children: Children, databaseUrl: string) => {
  const binaries = await peerBinaries()
  const port = await freePort()
  const kine = startLogged(children, join(binaries, "kine"), ["--endpoint", databaseUrl, "--listen-address", `127.0.0.1:${port}`])
  return { endpoint: `http://127.0.0.1:${port}`, pid: kine.child.pid!, log: kine.log }
}

/** `ark serve` over TLS (its generated PKI), with the benchmark's in-flight limits. */
export const startArkTls = (children: Children, name: string, args: ReadonlyArray<string>) =>
  new Promise<Server>((resolve, reject) => {
    const child = spawn(process.execPath, [
      ...serverNodeFlags, join(root, "src/programs/main.ts"), "serve", "--port", "0", "--modules", "apiserver",
      "--max-mutating-requests-inflight", "1000", "--max-requests-inflight", "2000", ...args
    ], { stdio: ["ignore", "pipe", "inherit"] })
    children.push(child)
    let out = ""
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /ark: serving (\S+) \(kubeconfig: (.+)\)/.exec(out)
      if (m === null) return
      const url = new URL(m[1]!)
      useTls(url, arkTls(m[2]!))
      resolve({ name, url, pids: [child.pid!] })
    })
    child.once("exit", (code) => reject(new Error(`ark serve (${name}) exited ${code}`)))
  })

export interface PeerResults {
  readonly sizes: PeerSizes
  readonly versions: { readonly kubernetes: string; readonly kine: string; readonly etcd: string }
  /** ark-effect on PostgreSQL, ark-effect on etcd, kube-apiserver + CRDs on etcd, on kine (PostgreSQL). */
  readonly rows: ReadonlyArray<PeerRows>
}

/**
 * The four columns, one after another (each server stopped before the next starts, so none
 * competes with another for the two cores): same client, same objects, same sizes.
 */
export const peerRun = async (children: Children, dir: string, databaseUrl: (db: string) => string, sizes: PeerSizes): Promise<PeerResults> => {
  const rows: Array<PeerRows> = []
  /** The server first, then its store, each waited for (a bounded time). */
  const stop = async (pids: ReadonlyArray<number>) => {
    for (const pid of pids) {
      const child = children.find((c) => c.pid === pid)
      if (child !== undefined) await stopChild(child)
    }
  }
  const run = async (server: Server) => {
    process.stderr.write(`peer: ${server.name} at ${server.url.origin}\n`)
    rows.push(await peerRows(server, sizes))
    await stop(server.pids)
  }
  await run(await startArkTls(children, "ark-effect, PostgreSQL", ["--storage", "postgresql", "--postgres-url", databaseUrl("peer_ark"), "--data-dir", join(dir, "peer-ark-pg")]))
  const etcd = await startEtcdMember(children, join(dir, "peer-ark-etcd"))
  const arkEtcd = await startArkTls(children, "ark-effect, etcd", ["--storage", "etcd", "--etcd-endpoints", etcd.endpoint, "--data-dir", join(dir, "peer-ark-etcd")])
  await run({ ...arkEtcd, pids: [...arkEtcd.pids, etcd.pid] })
  await run(await startKubePeer(children, dir, "kube-apiserver + CRDs, etcd", { etcd: true }))
  const kine = new URL(databaseUrl("peer_kine"))
  kine.searchParams.set("sslmode", "disable")
  await run(await startKubePeer(children, dir, "kube-apiserver + CRDs, kine on PostgreSQL", { kine: kine.toString() }))
  const binaries = await peerBinaries()
  return {
    sizes,
    versions: {
      kubernetes: binaries.replace(/.*kubernetes-/, ""),
      kine: readFileSync(join(binaries, "kine.version"), "utf8").trim(),
      etcd: /etcd Version: (\S+)/.exec(execFileSync(join(binaries, "etcd"), ["--version"], { encoding: "utf8" }))?.[1] ?? "unknown"
    },
    rows
  }
}
