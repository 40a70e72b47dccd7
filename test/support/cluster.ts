/**
 * A real Kubernetes control plane for a test file: etcd, kube-apiserver and kube-controller-manager
 * (built from the Go module proxy by scripts/kube-peers.sh), configured as kubeadm configures them,
 * in a network namespace of their own.
 *
 * Why a namespace: Kubernetes refuses loopback addresses in EndpointSlices, so the aggregator (and a
 * webhook's Service) can only reach ark at another address. In the namespace `lo` also carries
 * 10.250.0.1/32; kube-apiserver and ark listen there, and no packet leaves the namespace. The test
 * process stays outside and reaches servers inside through Unix sockets (netnsForwarder.ts), so
 * kubectl and client-node run as they always do, against https://127.0.0.1:<port>.
 *
 * Everything started here is stopped by its pid and the namespace deleted on `stop`, and also when
 * the test process exits without calling it; namespaces left by a test process that died are
 * removed by the next harness.
 */
import { execFile, spawn, spawnSync } from "node:child_process"
import type { ChildProcess, SpawnOptions } from "node:child_process"
import { generateKeyPairSync } from "node:crypto"
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { request } from "node:https"
import { connect, createServer } from "node:net"
import type { AddressInfo, Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { stringify } from "yaml"
import type { Ca, Issued } from "./certs.ts"
import { issue, makeCa } from "./certs.ts"
import type { KubectlResult } from "./kubectl.ts"
import { kubectlBinaries, runKubectl } from "./kubectl.ts"
import { pipeBoth } from "./pipes.ts"
import { alive } from "./processes.ts"

const root = join(import.meta.dirname, "..", "..")
const forwarderScript = join(import.meta.dirname, "netnsForwarder.ts")
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The folder with kube-apiserver, kube-controller-manager and etcd. The first run on a machine
 * builds them (minutes; concurrent callers wait for the one build), so a cluster test's setup
 * gives it `peersBuildTimeout`.
 */
export const kubeBinaries = (() => {
  let dir: Promise<string> | undefined
  return (): Promise<string> => {
    dir ??= new Promise<string>((resolve, reject) => {
      const child = spawn("bash", [join(root, "scripts", "kube-peers.sh")], { stdio: ["ignore", "pipe", "inherit"] })
      let out = ""
      child.stdout.on("data", (c: Buffer) => (out += c.toString()))
      child.on("error", reject)
      child.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`scripts/kube-peers.sh exited with ${code}`))))
    })
    return dir
  }
})()

/** How long a test file's setup may wait for the peers on a machine that has never built them. */
export const peersBuildTimeout = 40 * 60_000

/** Namespaces are named `ark-<pid>-<n>` after the test process that made them. */
const namespacePrefix = "ark-"
let namespaceCount = 0

/** Removes namespaces whose test process is gone (a crashed run), with what still runs in them. */
const removeAbandonedNamespaces = () => {
  const list = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? ""
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? ""
    const m = /^ark-(\d+)-\d+$/.exec(name)
    if (m === null || alive(Number(m[1]))) continue
    const pids = (spawnSync("ip", ["netns", "pids", name], { encoding: "utf8" }).stdout ?? "").split("\n").filter((p) => p !== "")
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL")
      } catch {}
    }
    spawnSync("ip", ["netns", "delete", name])
  }
}

const ip = (...args: Array<string>) => promisify(execFile)("ip", args)

export interface ClusterUser {
  /** A client certificate of the cluster CA: CN = user, O = groups. */
  readonly cn?: string
  readonly groups?: ReadonlyArray<string>
  /** Or a bearer token. */
  readonly token?: string
}

export interface KubeCluster {
  readonly netns: string
  /** The namespace's non-loopback address: kube-apiserver's advertise address, and where ark listens. */
  readonly address: string
  readonly dir: string
  readonly ca: Ca
  readonly frontProxyCa: Ca
  /** kube-apiserver as the test process reaches it. */
  readonly url: string
  /** kube-apiserver as processes inside the namespace reach it. */
  readonly innerUrl: string
  /** A kubeconfig of the cluster admin (system:masters), for the test process. */
  readonly admin: string
  /** Writes a kubeconfig for `user` (a certificate of the cluster CA, or a token), pointing at `target` (default outside). */
  readonly kubeconfig: (name: string, user: ClusterUser, target?: KubeconfigTarget) => Promise<string>
  /** Starts a process inside the namespace; it is stopped (by pid) with the cluster. */
  readonly spawn: (command: string, args: ReadonlyArray<string>, options?: SpawnOptions) => ChildProcess
  /** A port on 127.0.0.1 of the test process that leads to host:port inside the namespace. */
  readonly forward: (host: string, port: number) => Promise<number>
  /** A port on 127.0.0.1 inside the namespace that leads to 127.0.0.1:port of the test process. */
  readonly reach: (port: number) => Promise<number>
  /** kubectl that must succeed: its stdout, or an Error with the command and its stderr. */
  readonly ok: (args: ReadonlyArray<string>, input?: string) => Promise<string>
  /** kubectl 1.35 as the admin (or with `--kubeconfig` of another user, which then wins). */
  readonly kubectl: (args: ReadonlyArray<string>, options?: { readonly input?: string; readonly kubeconfig?: string }) => Promise<KubectlResult>
  /** kube-apiserver's and kube-controller-manager's logs so far (for a failing test's message). */
  readonly apiserverLog: () => string
  readonly controllerManagerLog: () => string
  readonly stop: () => Promise<void>
}

const writeFile = (dir: string, name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content, { mode: 0o600 })
  return path
}

/** Where a kubeconfig points: kube-apiserver from outside or inside the namespace, or another server. */
export type KubeconfigTarget = "outside" | "inside" | { readonly server: string; readonly caPem: string; readonly serverName: string }

const kubeconfigYaml = (server: string, caPem: string, serverName: string | undefined, user: ClusterUser, client: Issued | undefined) =>
  stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "test",
      cluster: {
        server,
        "certificate-authority-data": Buffer.from(caPem).toString("base64"),
        ...(serverName === undefined ? {} : { "tls-server-name": serverName })
      }
    }],
    users: [{
      name: "user",
      user: client !== undefined
        ? {
          "client-certificate-data": Buffer.from(client.certPem).toString("base64"),
          "client-key-data": Buffer.from(client.keyPem).toString("base64")
        }
        : { token: user.token }
    }],
    contexts: [{ name: "test", context: { cluster: "test", user: "user" } }],
    "current-context": "test"
  })

/** Waits for an HTTPS GET to answer 200, or fails with what the last attempt saw. */
const waitForOk = async (url: string, tls: { ca: string; cert: string; key: string }, what: string, ms: number, log: () => string) => {
  const deadline = Date.now() + ms
  let last = ""
  while (Date.now() < deadline) {
    const status = await new Promise<number>((resolve) => {
      const req = request(url, { ...tls, timeout: 2_000 }, (res) => {
        let body = ""
        res.on("data", (c: Buffer) => (body += c.toString()))
        res.on("end", () => {
          last = `${res.statusCode} ${body.slice(0, 500)}`
          resolve(res.statusCode ?? 0)
        })
      })
      req.on("timeout", () => req.destroy(new Error("timeout")))
      req.on("error", (e) => {
        last = e.message
        resolve(0)
      })
      req.end()
    })
    if (status === 200) return
    await sleep(250)
  }
  throw new Error(`${what} did not become ready in ${ms / 1000} s (last: ${last})\n${log().slice(-4000)}`)
}

export const startCluster = async (): Promise<KubeCluster> => {
  const binaries = await kubeBinaries()
  removeAbandonedNamespaces()
  const netns = `${namespacePrefix}${process.pid}-${namespaceCount++}`
  const address = "10.250.0.1"
  const dir = mkdtempSync(join(tmpdir(), "ark-cluster-"))
  // Traversable by others: an embedded PostgreSQL of ark runs as user postgres in a folder below.
  chmodSync(dir, 0o711)
  const children: Array<ChildProcess> = []
  const servers: Array<Server> = []

  /** Kills what is still running (SIGTERM, then SIGKILL), deletes the namespace and the folder. */
  const teardownSync = () => {
    // What the children started (an embedded PostgreSQL of a killed ark) runs in the namespace too.
    const inside = (spawnSync("ip", ["netns", "pids", netns], { encoding: "utf8" }).stdout ?? "").split("\n").filter((p) => p !== "")
    for (const pid of inside) {
      try {
        process.kill(Number(pid), "SIGKILL")
      } catch {}
    }
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, "SIGKILL")
        } catch {}
      }
    }
    spawnSync("ip", ["netns", "delete", netns])
    rmSync(dir, { recursive: true, force: true })
  }
  process.once("exit", teardownSync)

  const spawnInside = (command: string, args: ReadonlyArray<string>, options: SpawnOptions = {}) => {
    const child = spawn("ip", ["netns", "exec", netns, command, ...args], { stdio: ["ignore", "pipe", "pipe"], ...options })
    children.push(child)
    return child
  }
  const logOf = (child: ChildProcess) => {
    let log = ""
    const keep = (c: Buffer) => {
      log = (log + c.toString()).slice(-200_000)
    }
    child.stdout?.on("data", keep)
    child.stderr?.on("data", keep)
    return () => log
  }

  try {
    await ip("netns", "add", netns)
    await ip("netns", "exec", netns, "ip", "link", "set", "lo", "up")
    await ip("netns", "exec", netns, "ip", "addr", "add", `${address}/32`, "dev", "lo")

    // The in-forwarder: the test process reaches servers inside through its Unix socket.
    const inSocket = join(dir, "in.sock")
    const inForwarder = spawnInside(process.execPath, [forwarderScript, "in", inSocket], { stdio: ["pipe", "pipe", "pipe"] })
    await new Promise<void>((resolve, reject) => {
      inForwarder.stdout!.once("data", () => resolve())
      inForwarder.once("exit", (code) => reject(new Error(`netns forwarder exited with ${code}`)))
    })
    const forward = (host: string, port: number) =>
      new Promise<number>((resolve) => {
        const server = createServer((client) => {
          // The header goes first: writes before the connection is up are queued in order.
          const upstream = connect({ path: inSocket })
          upstream.write(`${host}:${port}\n`)
          pipeBoth(client, upstream)
        })
        servers.push(server)
        server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
      })
    let outCount = 0
    const reach = async (port: number) => {
      const socket = join(dir, `out-${outCount++}.sock`)
      const server = createServer((client) => {
        pipeBoth(client, connect({ host: "127.0.0.1", port }))
      })
      servers.push(server)
      await new Promise<void>((resolve) => server.listen(socket, resolve))
      const child = spawnInside(process.execPath, [forwarderScript, "out", socket], { stdio: ["pipe", "pipe", "pipe"] })
      return new Promise<number>((resolve, reject) => {
        child.stdout!.once("data", (c: Buffer) => resolve(Number(/port (\d+)/.exec(c.toString())![1])))
        child.once("exit", (code) => reject(new Error(`netns forwarder exited with ${code}`)))
      })
    }

    // The PKI kubeadm makes: cluster CA, front-proxy CA, service-account keys.
    const pki = join(dir, "pki")
    mkdirSync(pki)
    const ca = await makeCa("kubernetes")
    const frontProxyCa = await makeCa("front-proxy-ca")
    const serving = await issue(ca, {
      cn: "kube-apiserver",
      hosts: [address, "127.0.0.1", "10.96.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
    })
    const proxyClient = await issue(frontProxyCa, { cn: "front-proxy-client" })
    const adminCert = await issue(ca, { cn: "kubernetes-admin", o: ["system:masters"] })
    const kcmCert = await issue(ca, { cn: "system:kube-controller-manager" })
    const sa = generateKeyPairSync("rsa", { modulusLength: 2048 })
    const files = {
      ca: writeFile(pki, "ca.crt", ca.certPem),
      frontProxyCa: writeFile(pki, "front-proxy-ca.crt", frontProxyCa.certPem),
      servingCert: writeFile(pki, "apiserver.crt", serving.certPem),
      servingKey: writeFile(pki, "apiserver.key", serving.keyPem),
      proxyCert: writeFile(pki, "front-proxy-client.crt", proxyClient.certPem),
      proxyKey: writeFile(pki, "front-proxy-client.key", proxyClient.keyPem),
      saPub: writeFile(pki, "sa.pub", sa.publicKey.export({ type: "spki", format: "pem" }).toString()),
      saKey: writeFile(pki, "sa.key", sa.privateKey.export({ type: "pkcs8", format: "pem" }).toString())
    }

    const etcd = spawnInside(join(binaries, "etcd"), [
      "--data-dir", join(dir, "etcd"),
      "--listen-client-urls", "http://127.0.0.1:2379",
      "--advertise-client-urls", "http://127.0.0.1:2379",
      "--listen-peer-urls", "http://127.0.0.1:2380",
      "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
      "--initial-cluster", "default=http://127.0.0.1:2380",
      "--unsafe-no-fsync",
      "--log-level", "warn"
    ])
    const etcdLog = logOf(etcd)

    const apiserver = spawnInside(join(binaries, "kube-apiserver"), [
      "--etcd-servers", "http://127.0.0.1:2379",
      "--advertise-address", address,
      "--bind-address", "0.0.0.0",
      "--secure-port", "6443",
      "--client-ca-file", files.ca,
      "--tls-cert-file", files.servingCert,
      "--tls-private-key-file", files.servingKey,
      "--requestheader-client-ca-file", files.frontProxyCa,
      "--requestheader-allowed-names", "front-proxy-client",
      "--requestheader-username-headers", "X-Remote-User",
      "--requestheader-group-headers", "X-Remote-Group",
      "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
      "--proxy-client-cert-file", files.proxyCert,
      "--proxy-client-key-file", files.proxyKey,
      "--enable-aggregator-routing=true",
      "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
      "--service-account-key-file", files.saPub,
      "--service-account-signing-key-file", files.saKey,
      "--service-cluster-ip-range", "10.96.0.0/16",
      "--authorization-mode", "Node,RBAC",
      "--allow-privileged=true",
      "--profiling=false",
      "--v", "1"
    ])
    const apiserverLog = logOf(apiserver)
    const port = await forward("127.0.0.1", 6443)
    const url = `https://127.0.0.1:${port}`
    await waitForOk(
      `${url}/readyz`,
      { ca: ca.certPem, cert: adminCert.certPem, key: adminCert.keyPem },
      "kube-apiserver",
      90_000,
      () => `kube-apiserver:\n${apiserverLog()}\netcd:\n${etcdLog()}`
    )

    const innerUrl = `https://${address}:6443`
    const admin = writeFile(dir, "admin.kubeconfig", kubeconfigYaml(url, ca.certPem, undefined, {}, adminCert))
    const kcmKubeconfig = writeFile(dir, "kcm.kubeconfig", kubeconfigYaml("https://127.0.0.1:6443", ca.certPem, undefined, {}, kcmCert))
    // kubeadm's controller-manager: each controller with its own service account's credentials.
    const controllerManager = spawnInside(join(binaries, "kube-controller-manager"), [
      "--kubeconfig", kcmKubeconfig,
      "--authentication-kubeconfig", kcmKubeconfig,
      "--authorization-kubeconfig", kcmKubeconfig,
      "--use-service-account-credentials=true",
      "--controllers", "namespace,garbagecollector,serviceaccount,serviceaccount-token,clusterrole-aggregation",
      "--service-account-private-key-file", files.saKey,
      "--root-ca-file", files.ca,
      "--leader-elect=false",
      "--bind-address", "127.0.0.1",
      "--secure-port", "10257",
      "--v", "1"
    ])
    const controllerManagerLog = logOf(controllerManager)

    let kubeconfigCount = 0
    const kubeconfig = async (name: string, user: ClusterUser, target: KubeconfigTarget = "outside") => {
      const client = user.token === undefined ? await issue(ca, { cn: user.cn ?? name, o: user.groups ?? [] }) : undefined
      const file = `${name}-${kubeconfigCount++}.kubeconfig`
      if (target === "outside" || target === "inside") {
        return writeFile(dir, file, kubeconfigYaml(target === "inside" ? innerUrl : url, ca.certPem, undefined, user, client))
      }
      return writeFile(dir, file, kubeconfigYaml(target.server, target.caPem, target.serverName, user, client))
    }
    const { kubectl: kubectlBin } = await kubectlBinaries("v35")
    const kubectl = (args: ReadonlyArray<string>, options: { readonly input?: string; readonly kubeconfig?: string } = {}) =>
      runKubectl(kubectlBin, ["--kubeconfig", options.kubeconfig ?? admin, ...args], options.input === undefined ? {} : { input: options.input })

    const ok = async (args: ReadonlyArray<string>, input?: string) => {
      const r = await kubectl(args, input === undefined ? {} : { input })
      if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}:\n${r.stderr}`)
      return r.stdout
    }

    const stop = async () => {
      process.off("exit", teardownSync)
      for (const server of servers) server.close()
      const exits = children
        .filter((child) => child.exitCode === null && child.signalCode === null)
        .map((child) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
            child.once("exit", () => {
              clearTimeout(timer)
              resolve()
            })
            child.kill("SIGTERM")
          })
        )
      await Promise.all(exits)
      teardownSync()
    }

    return {
      netns,
      address,
      dir,
      ca,
      frontProxyCa,
      url,
      innerUrl,
      admin,
      kubeconfig,
      spawn: spawnInside,
      forward,
      reach,
      kubectl,
      ok,
      apiserverLog,
      controllerManagerLog,
      stop
    }
  } catch (e) {
    teardownSync()
    process.off("exit", teardownSync)
    throw e
  }
}
