/**
 * The Helm chart under helm 4: lint, and `helm template` for both storage backends and for two
 * replicas, with the seed's values and its `helm install` line; assertions on the parsed manifests.
 */
import { X509Certificate } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { resources } from "../../src/domain/registry.ts"
import { webhookPath } from "../../src/layers/http/webhook.ts"
import { arkContainer, chartDir, flagValue, helm, helmTemplate, ofKind, one } from "../support/helm.ts"
import type { Manifest } from "../support/helm.ts"

const dir = mkdtempSync(join(tmpdir(), "ark-chart-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The seed's "Enabling PostgreSQL Backend" install line, as written there. */
const seedInstall =
  "helm install ark ./ark/dist/chart -n ark-system --set storage.backend=postgresql --set storage.postgresql.host=postgresql --set storage.postgresql.user=postgres --set storage.postgresql.passwordSecretName=postgresql-credentials"

/** The seed's values blocks ("Enabling PostgreSQL Backend", "Multi-Replica Deployment"), as YAML. */
const seedPostgresValues = `
storage:
  backend: "postgresql" # Options: "etcd" (default), "postgresql"
  apiserver:
    port: 6443
  postgresql:
    host: "postgresql.ark-system.svc.cluster.local"
    port: 5432
    database: "ark"
    user: "ark"
    passwordSecretName: "postgresql-credentials"
    passwordSecretKey: "password"
    sslMode: "disable" # Options: disable, require, verify-ca, verify-full
`
const seedMultiReplicaValues = `
storage:
  backend: "postgresql"
  postgresql:
    host: "postgresql.ark-system.svc.cluster.local"
    port: 5432
    database: "ark"
    user: "ark"
    passwordSecretName: "postgresql-credentials"
controllerManager:
  replicas: 2
queryEngine:
  enabled: true
  container:
    port: 9090
`
const valuesFile = (name: string, text: string) => {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

/** `helm install <release> <chart> <args>` of the seed, run as `helm template` on chart/ (no cluster here). */
const seedInstallArgs = () => {
  const tokens = seedInstall.split(/\s+/)
  expect(tokens.slice(0, 2)).toEqual(["helm", "install"])
  expect(tokens[3]).toBe("./ark/dist/chart") // the seed's chart path: ours is chart/
  return { release: tokens[2]!, args: tokens.slice(4) }
}

/** The default backend (etcd, through kube-apiserver), in the release namespace the tests use. */
const etcdArgs = ["-n", "ark-system"]
/** The explicit opt-in to a directly reached etcd. */
const directEtcdArgs = [...etcdArgs, "--set", "storage.etcd.direct=true", "--set", "storage.etcd.endpoints=http://etcd.kube-system:2379"]

const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8")

const envOf = (container: Manifest) => Object.fromEntries((container["env"] as Array<Manifest>).map((e) => [e["name"], e]))

describe("helm lint", () => {
  it("passes for the default values, the seed's PostgreSQL values and a directly reached etcd", async () => {
    for (const args of [[], ["-f", valuesFile("seed-pg.yaml", seedPostgresValues)], directEtcdArgs.slice(2)]) {
      const r = await helm(["lint", "--strict", chartDir, ...args])
      expect(r.code, `${args.join(" ")}\n${r.stdout}${r.stderr}`).toBe(0)
      expect(r.stdout).toContain("1 chart(s) linted, 0 chart(s) failed")
    }
  })
})

describe("helm template, storage.backend=postgresql (the seed's install line)", () => {
  it("registers both versions with APIServices pointing at the Service, trusting the generated CA", async () => {
    const { release, args } = seedInstallArgs()
    const m = await helmTemplate(release, args)
    const service = one(m, "Service")
    const deployment = one(m, "Deployment")
    const container = arkContainer(m)
    const apiServices = ofKind(m, "APIService")
    expect(apiServices.map((a) => a["metadata"]["name"]).sort()).toEqual(["v1alpha1.ark.mckinsey.com", "v1prealpha1.ark.mckinsey.com"])
    const https = (service["spec"]["ports"] as Array<Manifest>).find((p) => p["name"] === "https")!
    // The Service's https port reaches the container port that --port opens.
    const containerPort = (container["ports"] as Array<Manifest>).find((p) => p["name"] === https["targetPort"])!
    expect(String(containerPort["containerPort"])).toBe(flagValue(container["args"], "--port"))
    expect(service["spec"]["selector"]).toEqual(deployment["spec"]["selector"]["matchLabels"])

    const secret = one(m, "Secret")
    expect(secret["type"]).toBe("kubernetes.io/tls")
    const ca = new X509Certificate(decode(secret["data"]["ca.crt"]))
    const serving = new X509Certificate(decode(secret["data"]["tls.crt"]))
    expect(ca.ca).toBe(true)
    expect(serving.verify(ca.publicKey)).toBe(true)
    expect(serving.checkHost(`${service["metadata"]["name"]}.ark-system.svc`)).toBeDefined()
    for (const a of apiServices) {
      expect(a["spec"]["group"]).toBe("ark.mckinsey.com")
      expect(a["spec"]["version"]).toBe(a["metadata"]["name"].split(".")[0])
      expect(a["spec"]["service"]).toEqual({ name: service["metadata"]["name"], namespace: "ark-system", port: https["port"] })
      expect(a["spec"]["caBundle"]).toBe(secret["data"]["ca.crt"])
    }
    const priority = (v: string) => apiServices.find((a) => a["spec"]["version"] === v)!["spec"]["versionPriority"] as number
    expect(priority("v1alpha1")).toBeGreaterThan(priority("v1prealpha1"))
    // The pod mounts that Secret.
    const volumes = deployment["spec"]["template"]["spec"]["volumes"] as Array<Manifest>
    expect(volumes.find((v) => v["secret"]?.["secretName"] === secret["metadata"]["name"])).toBeDefined()
  })

  it("wires the storage settings into args and env, installs no CRDs or webhooks, and migrates in a hook", async () => {
    const { release, args } = seedInstallArgs()
    const m = await helmTemplate(release, args)
    expect(ofKind(m, "CustomResourceDefinition")).toEqual([])
    expect(ofKind(m, "ValidatingWebhookConfiguration")).toEqual([])
    expect(ofKind(m, "MutatingWebhookConfiguration")).toEqual([])
    const container = arkContainer(m)
    const a = container["args"] as Array<string>
    expect(a[0]).toBe("serve")
    expect(flagValue(a, "--storage")).toBe("postgresql")
    expect(flagValue(a, "--port")).toBe("6443")
    expect(flagValue(a, "--modules")!.split(",")).toContain("apiserver")
    expect(flagValue(a, "--modules")!.split(",")).toContain("query-workers")
    const env = envOf(container)
    expect(env["ARK_POSTGRES_URL"]!["value"]).toBe("postgresql://postgres@postgresql:5432/ark?sslmode=disable")
    expect(env["ARK_POSTGRES_PASSWORD"]!["valueFrom"]).toEqual({ secretKeyRef: { name: "postgresql-credentials", key: "password" } })

    const job = one(m, "Job")
    expect(job["metadata"]["annotations"]["helm.sh/hook"]).toBe("pre-install,pre-upgrade")
    const migrate = job["spec"]["template"]["spec"]["containers"][0] as Manifest
    expect(migrate["image"]).toBe(container["image"])
    expect(migrate["args"]).toEqual(["migrate", "--storage", "postgresql", "--pool-size", flagValue(a, "--pool-size")])
    expect(envOf(migrate)["ARK_POSTGRES_URL"]).toEqual(env["ARK_POSTGRES_URL"])
    expect(envOf(migrate)["ARK_POSTGRES_PASSWORD"]).toEqual(env["ARK_POSTGRES_PASSWORD"])
  })

  it("probes /livez and /readyz and gives the graceful stop its time", async () => {
    const { release, args } = seedInstallArgs()
    const m = await helmTemplate(release, args)
    const container = arkContainer(m)
    const ports = new Map((container["ports"] as Array<Manifest>).map((p) => [p["name"], p["containerPort"]]))
    for (const [probe, path] of [["livenessProbe", "/livez"], ["readinessProbe", "/readyz"], ["startupProbe", "/livez"]] as const) {
      const get = container[probe]["httpGet"] as Manifest
      expect(get["path"]).toBe(path)
      // The probed port is the metrics server's (plain HTTP health, no client certificate needed).
      expect(get["port"]).toBe("metrics")
      expect(get["scheme"]).toBe("HTTP")
      expect(String(ports.get("metrics"))).toBe(flagValue(container["args"], "--metrics-port"))
    }
    const pod = one(m, "Deployment")["spec"]["template"]["spec"]
    const grace = /^(\d+) seconds$/.exec(envOf(container)["ARK_SHUTDOWN_GRACE"]!["value"])
    expect(grace).not.toBeNull()
    expect(pod["terminationGracePeriodSeconds"]).toBeGreaterThanOrEqual(2 * Number(grace![1]))
    // V8's heap ceiling sits below the container's memory limit, so V8 collects before the kubelet kills.
    const heap = /^--max-old-space-size=(\d+)$/.exec(envOf(container)["NODE_OPTIONS"]!["value"])
    expect(heap).not.toBeNull()
    const limit = /^(\d+)Gi$/.exec(container["resources"]["limits"]["memory"])
    expect(Number(heap![1])).toBeLessThan(Number(limit![1]) * 1024)
    expect(pod["securityContext"]["runAsNonRoot"]).toBe(true)
    expect(container["securityContext"]["readOnlyRootFilesystem"]).toBe(true)
  })

  it("renders the seed's values block; RBAC delegates auth and reads the requestheader ConfigMap", async () => {
    const m = await helmTemplate("ark", ["-n", "ark-system", "-f", valuesFile("seed-pg.yaml", seedPostgresValues)])
    expect(envOf(arkContainer(m))["ARK_POSTGRES_URL"]!["value"]).toBe("postgresql://ark@postgresql.ark-system.svc.cluster.local:5432/ark?sslmode=disable")
    const sa = one(m, "ServiceAccount")["metadata"]["name"]
    expect(one(m, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"]).toBe(sa)
    const bindings = [...ofKind(m, "ClusterRoleBinding"), ...ofKind(m, "RoleBinding")]
    const bound = (role: string) => bindings.find((b) => b["roleRef"]["name"] === role)
    expect(bound("system:auth-delegator")!["kind"]).toBe("ClusterRoleBinding")
    expect(bound("extension-apiserver-authentication-reader")!["metadata"]["namespace"]).toBe("kube-system")
    for (const b of bindings) expect(b["subjects"]).toEqual([{ kind: "ServiceAccount", name: sa, namespace: "ark-system" }])
    const leases = ofKind(m, "Role").flatMap((r) => r["rules"] as Array<Manifest>).find((r) => r["apiGroups"].includes("coordination.k8s.io"))
    expect(leases!["resources"]).toEqual(["leases"])
    expect(leases!["verbs"]).toEqual(expect.arrayContaining(["get", "create", "update"]))
  })

  it("grants the controller and the aggregated admin, edit and view roles every Ark kind, those added for upstream included", async () => {
    const m = await helmTemplate("ark", ["-n", "ark-system", "-f", valuesFile("seed-pg.yaml", seedPostgresValues)])
    const role = (suffix: string) => ofKind(m, "ClusterRole").find((r) => String(r["metadata"]["name"]).endsWith(suffix))!
    const grants = (r: Manifest, plural: string, verbs: ReadonlyArray<string>) =>
      (r["rules"] as Array<Manifest>).some((rule) =>
        rule["apiGroups"].includes("ark.mckinsey.com") &&
        (rule["resources"].includes("*") || rule["resources"].includes(plural)) &&
        verbs.every((v) => rule["verbs"].includes(v))
      )
    const edit = role("-edit")
    const view = role("-view")
    expect(edit["metadata"]["labels"]).toMatchObject({ "rbac.authorization.k8s.io/aggregate-to-admin": "true", "rbac.authorization.k8s.io/aggregate-to-edit": "true" })
    expect(view["metadata"]["labels"]).toMatchObject({ "rbac.authorization.k8s.io/aggregate-to-view": "true" })
    const plurals = resources.filter((r) => r.group === "ark.mckinsey.com").map((r) => r.plural)
    expect(plurals).toEqual(expect.arrayContaining(["evaluators", "evaluations", "executionprofiles", "toolapprovalrequests", "toolinteractions", "workspaces"]))
    for (const plural of plurals) {
      expect(grants(role("-controller"), plural, ["get", "list", "watch", "create", "update", "patch", "delete"]), plural).toBe(true)
      expect(grants(edit, plural, ["create", "update", "patch", "delete", "deletecollection"]), plural).toBe(true)
      expect(grants(view, plural, ["get", "list", "watch"]), plural).toBe(true)
      expect(grants(view, plural, ["create"]), plural).toBe(false)
    }
  })
})

describe("helm template, storage.backend=etcd", () => {
  it("installs exactly the CRDs of `ark crds` and a webhook per kind on the paths the webhook serves, and no APIService", async () => {
    const m = await helmTemplate("ark", etcdArgs)
    expect(ofKind(m, "APIService")).toEqual([])
    expect(ofKind(m, "Job")).toEqual([])
    const crds = ofKind(m, "CustomResourceDefinition")
    expect(crds.map((c) => c["metadata"]["name"]).sort()).toEqual(resources.map((r) => `${r.plural}.${r.group}`).sort())
    // The rendered CRDs are the committed `ark crds` output plus labels and the keep annotation.
    const committed = readFileSync(join(chartDir, "files", "crds.yaml"), "utf8").split(/^---\s*$/m).map((d) => parse(d) as Manifest)
    for (const crd of crds) {
      const source = committed.find((c) => c["metadata"]["name"] === crd["metadata"]["name"])!
      expect(crd["spec"]).toEqual(source["spec"])
      expect(crd["metadata"]["annotations"]).toEqual({ "helm.sh/resource-policy": "keep" })
    }
    const service = one(m, "Service")
    const secret = one(m, "Secret")
    const container = arkContainer(m)
    const webhookPort = (service["spec"]["ports"] as Array<Manifest>).find((p) => p["name"] === "webhook")!
    expect(String(webhookPort["port"])).toBe(flagValue(container["args"], "--webhook-port"))
    for (const [kind, mode] of [["MutatingWebhookConfiguration", "mutate"], ["ValidatingWebhookConfiguration", "validate"]] as const) {
      const hooks = one(m, kind)["webhooks"] as Array<Manifest>
      expect(hooks.map((h) => h["clientConfig"]["service"]["path"]).sort()).toEqual(resources.map((r) => webhookPath(mode, r)).sort())
      for (const h of hooks) {
        expect(h["clientConfig"]["service"]).toMatchObject({ name: service["metadata"]["name"], namespace: "ark-system", port: webhookPort["port"] })
        expect(h["clientConfig"]["caBundle"]).toBe(secret["data"]["ca.crt"])
        expect(h["admissionReviewVersions"]).toEqual(["v1"])
      }
    }
  })

  it("runs the controller modules through kube-apiserver's API, with no etcd endpoints or certificates, electing their leader by a Lease", async () => {
    const m = await helmTemplate("ark", etcdArgs)
    const container = arkContainer(m)
    const a = container["args"] as Array<string>
    expect(flagValue(a, "--storage")).toBe("kubernetes")
    expect(a.filter((arg) => arg.startsWith("--etcd"))).toEqual([])
    expect((container["volumeMounts"] as Array<Manifest>).map((v) => v["name"])).not.toContain("etcd-tls")
    const modules = flagValue(a, "--modules")!.split(",")
    expect(modules).not.toContain("apiserver")
    expect(modules).toEqual(expect.arrayContaining(["controller", "query-workers", "webhook", "metrics"]))
    expect(envOf(container)["ARK_LEADER_ELECTION_NAMESPACE"]).toEqual({ name: "ARK_LEADER_ELECTION_NAMESPACE", value: "ark-system" })
    expect(envOf(container)["ARK_LEADER_ELECTION_IDENTITY"]["valueFrom"]).toEqual({ fieldRef: { fieldPath: "metadata.name" } })
    // What --storage kubernetes needs: Ark's kinds with /status, Leases and events in the release namespace.
    const controller = ofKind(m, "ClusterRole").find((r) => r["metadata"]["name"] === "ark-controller")!
    expect(controller["rules"]).toContainEqual({
      apiGroups: ["ark.mckinsey.com"],
      resources: ["*", "*/status"],
      verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
    })
    const election = ofKind(m, "Role").find((r) => r["metadata"]["name"] === "ark-leader-election")!
    expect(election["metadata"]["namespace"]).toBe("ark-system")
    expect((election["rules"] as Array<Manifest>).flatMap((r) => r["resources"])).toEqual(expect.arrayContaining(["leases", "events"]))
    // Replicas may be added: the leader alone runs the workers.
    const two = one(await helmTemplate("ark", [...etcdArgs, "--set", "controllerManager.replicas=2"]), "Deployment")
    expect(two["spec"]["replicas"]).toBe(2)
  })

  it("reaches etcd itself only when storage.etcd.direct is set, from one replica that never overlaps another, with a warning", async () => {
    const m = await helmTemplate("ark", directEtcdArgs)
    const container = arkContainer(m)
    const a = container["args"] as Array<string>
    expect(flagValue(a, "--storage")).toBe("etcd")
    expect(flagValue(a, "--etcd-endpoints")).toBe("http://etcd.kube-system:2379")
    const modules = flagValue(a, "--modules")!.split(",")
    expect(modules).not.toContain("apiserver")
    expect(modules).toEqual(expect.arrayContaining(["query-workers", "webhook", "metrics"]))
    // The webhook serves the chart's certificate (the Secret mounted at --webhook-cert-dir).
    const mount = (container["volumeMounts"] as Array<Manifest>).find((v) => v["name"] === "tls")!
    expect(flagValue(a, "--webhook-cert-dir")).toBe(mount["mountPath"])
    expect(envOf(container)["ARK_POSTGRES_URL"]).toBeUndefined()
    const deployment = one(m, "Deployment")
    expect(deployment["spec"]["replicas"]).toBe(1)
    expect(deployment["spec"]["strategy"]["type"]).toBe("Recreate")
    expect(flagValue(a, "--etcd-cafile")).toBeUndefined()
    // NOTES (rendered by an install; a client-side dry run needs no cluster) warns, the default does not.
    const notes = async (args: ReadonlyArray<string>) => {
      const r = await helm(["install", "ark", chartDir, "--dry-run=client", ...args])
      expect(r.code, r.stderr).toBe(0)
      return r.stdout.slice(r.stdout.indexOf("NOTES:"))
    }
    expect(await notes(directEtcdArgs)).toContain("WARNING: storage.etcd.direct=true")
    const usual = await notes(etcdArgs)
    expect(usual).not.toContain("WARNING")
    expect(usual).toContain("through\nkube-apiserver's API (--storage kubernetes)")
  })

  it("mounts storage.etcd.tlsSecretName and passes its files as kube-apiserver's --etcd-* TLS flags", async () => {
    const m = await helmTemplate("ark", [...directEtcdArgs, "--set", "storage.etcd.endpoints=https://10.0.0.5:2379", "--set", "storage.etcd.tlsSecretName=etcd-client"])
    const container = arkContainer(m)
    const a = container["args"] as Array<string>
    expect(flagValue(a, "--etcd-endpoints")).toBe("https://10.0.0.5:2379")
    const mount = (container["volumeMounts"] as Array<Manifest>).find((v) => v["name"] === "etcd-tls")!
    expect(mount).toMatchObject({ mountPath: "/etc/ark/etcd", readOnly: true })
    expect([flagValue(a, "--etcd-cafile"), flagValue(a, "--etcd-certfile"), flagValue(a, "--etcd-keyfile")]).toEqual(
      ["ca.crt", "tls.crt", "tls.key"].map((f) => `${mount["mountPath"]}/${f}`)
    )
    const volumes = one(m, "Deployment")["spec"]["template"]["spec"]["volumes"] as Array<Manifest>
    expect(volumes.find((v) => v["name"] === "etcd-tls")).toEqual({ name: "etcd-tls", secret: { secretName: "etcd-client" } })
  })
})

describe("helm template, tls.certManager.enabled", () => {
  it("lets cert-manager issue the serving certificate (the chart's own CA, or issuerRef) and inject the caBundle", async () => {
    const m = await helmTemplate("ark", ["-n", "ark-system", "--set", "storage.backend=postgresql", "--set", "tls.certManager.enabled=true"])
    const certificates = ofKind(m, "Certificate")
    const serving = certificates.find((c) => c["metadata"]["name"] === "ark-serving")!
    const deployment = one(m, "Deployment")
    const tlsVolume = (deployment["spec"]["template"]["spec"]["volumes"] as Array<Manifest>).find((v) => v["name"] === "tls")!
    // cert-manager writes the Secret the Deployment mounts; the chart makes none itself.
    expect(serving["spec"]["secretName"]).toBe(tlsVolume["secret"]["secretName"])
    expect(ofKind(m, "Secret").filter((sec) => sec["metadata"]["name"] === tlsVolume["secret"]["secretName"])).toEqual([])
    expect(serving["spec"]["dnsNames"]).toContain("ark.ark-system.svc")
    expect(serving["spec"]["issuerRef"]).toEqual({ name: "ark-ca", kind: "Issuer" })
    expect(certificates.find((c) => c["metadata"]["name"] === "ark-ca")!["spec"]["isCA"]).toBe(true)
    for (const api of ofKind(m, "APIService")) {
      expect(api["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]).toBe("ark-system/ark-serving")
      expect(api["spec"]["caBundle"]).toBeUndefined()
    }
    const external = await helmTemplate("ark", [
      "-n", "ark-system", "--set", "storage.backend=postgresql", "--set", "tls.certManager.enabled=true",
      "--set", "tls.certManager.issuerRef.name=corp-ca", "--set", "tls.certManager.issuerRef.kind=ClusterIssuer"
    ])
    expect(ofKind(external, "Certificate").map((c) => c["metadata"]["name"])).toEqual(["ark-serving"])
    expect(ofKind(external, "Issuer")).toEqual([])
    expect(one(external, "Certificate")["spec"]["issuerRef"]).toEqual({ name: "corp-ca", kind: "ClusterIssuer" })
  })
})

describe("helm template, two replicas (the seed's Multi-Replica Deployment values)", () => {
  it("runs 2 replicas with the query engine sidecar on port 9090 and a PodDisruptionBudget", async () => {
    const m = await helmTemplate("ark", ["-n", "ark-system", "-f", valuesFile("seed-replicas.yaml", seedMultiReplicaValues)])
    const deployment = one(m, "Deployment")
    expect(deployment["spec"]["replicas"]).toBe(2)
    expect(deployment["spec"]["strategy"]["rollingUpdate"]).toEqual({ maxSurge: 1, maxUnavailable: 0 })
    const containers = deployment["spec"]["template"]["spec"]["containers"] as Array<Manifest>
    const engine = containers.find((c) => c["name"] === "query-engine")!
    expect(engine["ports"]).toEqual([{ name: "query-engine", containerPort: 9090, protocol: "TCP" }])
    expect(flagValue(arkContainer(m)["args"], "--completions-url")).toBe("http://127.0.0.1:9090")
    // Containers of a pod share its network: no port may be opened twice.
    const ports = containers.flatMap((c) => (c["ports"] as Array<Manifest>).map((p) => p["containerPort"]))
    expect(new Set(ports).size).toBe(ports.length)
    expect(one(m, "PodDisruptionBudget")["spec"]).toMatchObject({ maxUnavailable: 1, selector: deployment["spec"]["selector"] })
    expect(ofKind(m, "APIService")).toHaveLength(2)
  })

  it("runs ark's own completions engine as the query engine sidecar when given its image and args", async () => {
    const m = await helmTemplate("ark", [
      "-n", "ark-system", "-f", valuesFile("seed-engine.yaml", seedMultiReplicaValues),
      "--set", "queryEngine.container.image.repository=registry.example/ark-effect",
      "--set", "queryEngine.container.image.tag=0.1.0",
      "--set-json", `queryEngine.container.args=["engine","--port","9090"]`
    ])
    const containers = one(m, "Deployment")["spec"]["template"]["spec"]["containers"] as Array<Manifest>
    const engine = containers.find((c) => c["name"] === "query-engine")!
    expect(engine["image"]).toBe("registry.example/ark-effect:0.1.0")
    expect(engine["args"]).toEqual(["engine", "--port", "9090"])
    expect(flagValue(arkContainer(m)["args"], "--completions-url")).toBe("http://127.0.0.1:9090")
  })

  it("renders NetworkPolicy and ServiceMonitor when enabled", async () => {
    const m = await helmTemplate("ark", [
      "-n", "ark-system", "-f", valuesFile("seed-replicas.yaml", seedMultiReplicaValues),
      "--set", "networkPolicy.enabled=true", "--set", "serviceMonitor.enabled=true"
    ])
    const policy = one(m, "NetworkPolicy")
    expect(policy["spec"]["ingress"][0]["ports"]).toEqual([{ port: "https", protocol: "TCP" }])
    const monitor = one(m, "ServiceMonitor")
    expect(monitor["spec"]["endpoints"][0]).toMatchObject({ port: "metrics", path: "/metrics" })
  })
})

describe("wrong values", () => {
  const fails = async (args: ReadonlyArray<string>) => {
    const r = await helm(["template", "ark", chartDir, ...args])
    expect(r.code).not.toBe(0)
    return r.stderr
  }

  it("are rejected with a message that names the value and the reason", async () => {
    const mysql = await fails(["--set", "storage.backend=mysql"])
    expect(mysql).toContain("at '/storage/backend': value must be one of 'etcd', 'postgresql'")
    const sslMode = await fails(["--set", "storage.backend=postgresql", "--set", "storage.postgresql.sslMode=on"])
    expect(sslMode).toContain("at '/storage/postgresql/sslMode': value must be one of 'disable', 'require', 'verify-ca', 'verify-full'")
    const typo = await fails(["--set", "storage.postgres.host=db"])
    expect(typo).toContain("at '/storage': additional properties 'postgres' not allowed")
    const replicas = await fails(["--set", "controllerManager.replicas=two"])
    expect(replicas).toContain("at '/controllerManager/replicas'")
    const noEndpoints = await fails(["--set", "storage.etcd.direct=true"])
    expect(noEndpoints).toContain("storage.etcd.direct=true needs storage.etcd.endpoints")
    const etcdReplicas = await fails([...directEtcdArgs, "--set", "controllerManager.replicas=2"])
    expect(etcdReplicas).toContain("storage.etcd.direct=true keeps the query queue in process without leader election, so only one replica may run the query-workers module")
  })
})
