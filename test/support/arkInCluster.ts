/**
 * ark-effect installed into a test cluster (./cluster.ts) as the chart installs it: the chart's
 * rendered objects applied to the real kube-apiserver, except what a kubelet would run (the
 * Deployment, the migration Job). The pods are `ark serve` processes inside the cluster's network
 * namespace, with the chart's flags, its serving certificate and its ServiceAccount's token; the
 * Service has no selector (there are no pods to select) and an EndpointSlice names the processes.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "yaml"
import type { ClusterUser, KubeCluster } from "./cluster.ts"
import { startCluster } from "./cluster.ts"
import type { Manifest } from "./helm.ts"
import { helmTemplate, ofKind } from "./helm.ts"

const root = join(import.meta.dirname, "..", "..")
export const release = "ark"
export const namespace = "ark-system"

export interface ArkInstall {
  /** Every object the chart rendered. */
  readonly manifests: ReadonlyArray<Manifest>
  /** The files of the chart's serving certificate Secret (tls.crt, tls.key, ca.crt). */
  readonly tlsDir: string
  /** A kubeconfig with the chart's ServiceAccount token, for processes inside the namespace. */
  readonly serviceAccountKubeconfig: string
}

const apply = async (cluster: KubeCluster, objects: ReadonlyArray<Manifest>) => {
  const r = await cluster.kubectl(["apply", "-f", "-"], { input: objects.map((o) => stringify(o)).join("---\n") })
  if (r.code !== 0) throw new Error(`kubectl apply failed:\n${r.stderr}`)
}

/** Renders the chart (postgresql backend unless `values` say otherwise) and applies it to the cluster. */
export const installChart = async (cluster: KubeCluster, values: ReadonlyArray<string> = []): Promise<ArkInstall> => {
  const manifests = await helmTemplate(release, ["--namespace", namespace, "--set", "storage.backend=postgresql", ...values.flatMap((v) => ["--set", v])])
  const ns = await cluster.kubectl(["create", "namespace", namespace])
  if (ns.code !== 0 && !ns.stderr.includes("AlreadyExists")) throw new Error(ns.stderr)
  const kept = manifests.filter((m) => !["Deployment", "Job", "Service", "CustomResourceDefinition"].includes(m["kind"]))
  // The CRDs (storage.backend=etcd) are too large for client-side apply's annotation; served before anything uses them.
  const crds = ofKind(manifests, "CustomResourceDefinition")
  if (crds.length > 0) {
    const r = await cluster.kubectl(["apply", "--server-side", "-f", "-"], { input: crds.map((o) => stringify(o)).join("---\n") })
    if (r.code !== 0) throw new Error(`kubectl apply --server-side of the CRDs failed:\n${r.stderr}`)
    await cluster.ok(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"])
  }
  await apply(cluster, kept)
  // The chart's Service, without its selector, and ports named as the pods' containers name them.
  const service = ofKind(manifests, "Service")[0]!
  await apply(cluster, [{ ...service, spec: { ...service["spec"], selector: undefined } }])

  const secret = ofKind(manifests, "Secret").find((s) => s["type"] === "kubernetes.io/tls")!
  const tlsDir = mkdtempSync(join(cluster.dir, "ark-tls-"))
  for (const key of ["tls.crt", "tls.key", "ca.crt"]) {
    writeFileSync(join(tlsDir, key), Buffer.from(secret["data"][key], "base64"))
  }
  const serviceAccount = ofKind(manifests, "ServiceAccount")[0]!["metadata"]["name"] as string
  const token = await cluster.kubectl(["create", "token", serviceAccount, "-n", namespace, "--duration", "24h"])
  if (token.code !== 0) throw new Error(`kubectl create token failed:\n${token.stderr}`)
  const serviceAccountKubeconfig = await cluster.kubeconfig("ark-sa", { token: token.stdout.trim() }, "inside")
  return { manifests, tlsDir, serviceAccountKubeconfig }
}

export interface Endpoint {
  readonly address: string
  readonly ports: Readonly<Record<string, number>>
}

/** Points the chart's Service at these processes (one EndpointSlice, as the EndpointSlice controller would write it). */
export const registerEndpoints = async (cluster: KubeCluster, install: ArkInstall, endpoints: ReadonlyArray<Endpoint>) => {
  const service = ofKind(install.manifests, "Service")[0]!
  const ports = Object.entries(endpoints[0]!.ports).map(([name, port]) => ({ name, port, protocol: "TCP" }))
  await apply(cluster, [{
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${service["metadata"]["name"]}-test`,
      namespace,
      labels: { "kubernetes.io/service-name": service["metadata"]["name"], "endpointslice.kubernetes.io/managed-by": "ark-tests" }
    },
    addressType: "IPv4",
    endpoints: endpoints.map((e) => ({ addresses: [e.address], conditions: { ready: true } })),
    ports
  }])
}

export interface ArkReplica {
  readonly address: string
  readonly port: number
  readonly metricsPort: number
  readonly process: ChildProcess
  readonly output: () => string
  /** Ends the replica with SIGTERM (graceful) and waits for it. */
  readonly stop: () => Promise<void>
  /** Ends it with SIGKILL, as a crashed node would. */
  readonly kill: () => Promise<void>
}

export interface ReplicaOptions {
  /** An address of the namespace for this replica (added to lo when it is not the cluster's). */
  readonly address?: string
  readonly port?: number
  readonly metricsPort?: number
  /** Storage flags; default the embedded PostgreSQL in a data directory of its own. */
  readonly storage?: ReadonlyArray<string>
  readonly modules?: string
  readonly args?: ReadonlyArray<string>
  readonly env?: Record<string, string>
  /** What the replica prints once it serves (default: the API server's line). */
  readonly ready?: RegExp
}

/** Starts `ark serve` inside the namespace with the chart's flags and waits for it to serve. */
export const startReplica = async (cluster: KubeCluster, install: ArkInstall, options: ReplicaOptions = {}): Promise<ArkReplica> => {
  const address = options.address ?? cluster.address
  const port = options.port ?? 8443
  const metricsPort = options.metricsPort ?? 8080
  const dataDir = mkdtempSync(join(cluster.dir, "ark-data-"))
  const child = cluster.spawn(process.execPath, [
    "--max-semi-space-size=16",
    "--max-old-space-size=768",
    join(root, "src/programs/main.ts"),
    "serve",
    ...(options.storage ?? ["--storage", "embedded"]),
    "--data-dir", dataDir,
    "--host", address,
    "--port", String(port),
    "--metrics-port", String(metricsPort),
    "--modules", options.modules ?? "apiserver,controller,query-workers,metrics",
    "--tls-cert-file", join(install.tlsDir, "tls.crt"),
    "--tls-private-key-file", join(install.tlsDir, "tls.key"),
    "--authentication-kubeconfig", install.serviceAccountKubeconfig,
    "--authorization-kubeconfig", install.serviceAccountKubeconfig,
    "--pool-size", "10",
    ...(options.args ?? ["--demo-engine"])
  ], {
    stdio: ["ignore", "pipe", "pipe"],
    // Not in a pod: no service-account mount, so the kubeconfig flags are what ark uses.
    env: { ...process.env, KUBERNETES_SERVICE_HOST: "", ARK_LOG_FORMAT: "text", ...options.env }
  })
  let output = ""
  const onData = (c: Buffer) => {
    output = (output + c.toString()).slice(-200_000)
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ark serve did not start:\n${output}`)), 60_000)
    const check = () => {
      if ((options.ready ?? /ark: serving /).test(output)) {
        clearTimeout(timer)
        child.stdout!.off("data", check)
        child.stderr!.off("data", check)
        resolve()
      }
    }
    child.stdout!.on("data", check)
    child.stderr!.on("data", check)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`ark serve exited with ${code}:\n${output}`))
    })
  })
  const end = (signal: NodeJS.Signals) => async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill(signal)
      await exited
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  return { address, port, metricsPort, process: child, output: () => output, stop: end("SIGTERM"), kill: end("SIGKILL") }
}

/** The name ark's serving certificate carries (the chart's Service). */
export const serviceName = `${release}.${namespace}.svc`

/** A kubeconfig for `user` that reaches this replica directly (not through the aggregator). */
export const directKubeconfig = async (cluster: KubeCluster, install: ArkInstall, replica: ArkReplica, user: ClusterUser) => {
  const port = await cluster.forward(replica.address, replica.port)
  return cluster.kubeconfig(`direct-${replica.port}`, user, {
    server: `https://127.0.0.1:${port}`,
    caPem: readFileSync(join(install.tlsDir, "ca.crt"), "utf8"),
    serverName: serviceName
  })
}

/** What the EndpointSlice lists for a replica: its API and metrics ports, named as the chart's Service names them. */
export const endpointOf = (replica: ArkReplica): Endpoint => ({ address: replica.address, ports: { https: replica.port, metrics: replica.metricsPort } })

/** Waits (bounded) until kube-apiserver reports both of the chart's APIServices Available. */
export const waitForApiServices = async (cluster: KubeCluster, ms = 60_000) => {
  const deadline = Date.now() + ms
  for (const version of ["v1alpha1", "v1prealpha1"]) {
    let last = ""
    while (last !== "True") {
      if (Date.now() > deadline) throw new Error(`APIService ${version}.ark.mckinsey.com is not Available (${last})`)
      const r = await cluster.kubectl(["get", "apiservice", `${version}.ark.mckinsey.com`, "-o", "jsonpath={.status.conditions[?(@.type=='Available')].status}"])
      last = r.stdout
      if (last !== "True") await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}

export interface ArkCluster {
  readonly cluster: KubeCluster
  readonly install: ArkInstall
  readonly ark: ArkReplica
  readonly stop: () => Promise<void>
}

/** A test cluster with the chart installed and one replica (embedded PostgreSQL) registered behind its Service. */
export const startArkCluster = async (): Promise<ArkCluster> => {
  const cluster = await startCluster()
  try {
    const install = await installChart(cluster)
    const ark = await startReplica(cluster, install)
    await registerEndpoints(cluster, install, [endpointOf(ark)])
    return { cluster, install, ark, stop: () => ark.stop().finally(cluster.stop) }
  } catch (e) {
    await cluster.stop()
    throw e
  }
}
