/**
 * Upstream's manifests, as kubectl 1.35 applies them to `ark serve` (on PostgreSQL and on etcd):
 * every object upstream accepts is stored unchanged, including the six kinds added for upstream
 * (tables, short names and `kubectl explain` included), and every object upstream refuses is
 * refused with upstream's reason. test/fixtures/upstream-manifests/README.md says what the
 * fixtures are.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { kubectlBinaries, runKubectl } from "../support/kubectl.ts"
import type { RunningServer } from "../support/server.ts"
import { startServerOn } from "../support/server.ts"

const fixtures = join(import.meta.dirname, "..", "fixtures", "upstream-manifests")

/** Why upstream refuses each refused/ manifest, as the message kubectl prints. */
const reasons: Readonly<Record<string, string>> = {
  "a2atask-without-server.yaml": "spec.a2aServerRef: Required value",
  "agent-builtin-missing-name.yaml": "spec.tools[0].name: Required value: built-in tools must specify a name",
  "agent-old-model-field.yaml": `strict decoding error: unknown field "spec.model"`,
  "agent-tool-without-name.yaml": "spec.tools[0].name: Required value: http tools must specify a name",
  "agent-unknown-builtin.yaml": `spec.tools[0].name: Unsupported value: "shutdown": supported values: "noop", "terminate"`,
  "agent-unknown-tool-type.yaml": `spec.tools[0].type: Unsupported value: "plugin"`,
  "arkconfig-not-default.yaml": `ArkConfig must be named "default"`,
  "evaluation-direct-without-output.yaml": "direct mode evaluation requires non-empty output in config",
  "evaluation-query-with-input.yaml": "query mode evaluation cannot specify input in config",
  "executionengine-without-address.yaml": "spec.address: Required value: an execution engine needs an address",
  "mcpserver-header-without-value.yaml": "spec.headers[0].value: Required value",
  "mcpserver-without-address.yaml": "spec.address: Required value",
  "model-anthropic-without-config.yaml": "anthropic configuration is required for anthropic model type",
  "model-unknown-provider.yaml": `spec.provider: Unsupported value: "mistral-cloud"`,
  "model-without-config.yaml": "spec.config: Required value",
  "model-without-provider.yaml": "spec.provider: Required value",
  "query-empty-input.yaml": "spec.input: Required value: input must not be empty",
  "query-unknown-target-type.yaml": `spec.target.type: Unsupported value: "workflow"`,
  "query-without-input.yaml": "spec.input: Required value",
  "query-without-target-or-selector.yaml": "spec: Required value: target or selector must be specified",
  "team-graph-edge-to-stranger.yaml": "graph edge 0: 'to' member 'stranger' not found in team members",
  "team-graph-without-edges.yaml": "graph constraint requires at least one edge",
  "team-maxturns-without-loops.yaml": "maxTurns can only be set when loops is enabled",
  "team-member-of-itself.yaml": "team 'member-of-itself' cannot reference itself",
  "team-old-targets-field.yaml": `strict decoding error: unknown field "spec.targets"`,
  "team-unknown-member-type.yaml": `spec.members[0].type: Unsupported value: "model"`,
  "team-unknown-strategy.yaml": `spec.strategy: Unsupported value: "debate"`,
  "team-without-members.yaml": "spec.members: Required value",
  "tool-http-without-url.yaml": "spec.http.url: Required value",
  "tool-inline-with-http.yaml": "an inline tool must not set spec.http",
  "tool-mcp-without-server.yaml": "spec.mcp.mcpServerRef: Required value",
  "tool-mcp-without-tool-name.yaml": "spec.mcp.toolName: Required value",
  "tool-schema-not-an-object.yaml": "spec.inputSchema in body must be of type object",
  "tool-schema-unknown-type.yaml": "invalid schema type 'dictionary'",
  "tool-unknown-method.yaml": `spec.http.method: Unsupported value: "FETCH"`,
  "tool-url-without-scheme.yaml": "spec.http.url in body should match '^https?://.*'",
  "tool-without-type.yaml": "spec.type: Required value",
  "toolapprovalrequest-without-calls.yaml": "spec.toolCalls in body should have at least 1 items",
  "workspace-unknown-provider.yaml": `spec.content.objectStorage.provider: Unsupported value: "dropbox"`
}

/** The six kinds added for upstream: kind, plural, version. */
const newKinds = [
  ["Evaluator", "evaluators", "v1alpha1"],
  ["Evaluation", "evaluations", "v1alpha1"],
  ["ExecutionProfile", "executionprofiles", "v1prealpha1"],
  ["ToolApprovalRequest", "toolapprovalrequests", "v1alpha1"],
  ["ToolInteraction", "toolinteractions", "v1alpha1"],
  ["Workspace", "workspaces", "v1alpha1"]
] as const

const refused = readdirSync(join(fixtures, "refused")).sort()

describe.each(["postgresql", "etcd"] as const)("upstream's manifests against ark serve on %s", (storage) => {
  let server: RunningServer
  let bin: string

  beforeAll(async () => {
    ;[server, bin] = await Promise.all([startServerOn(storage), kubectlBinaries().then((b) => b.kubectl)])
  })
  afterAll(() => server?.stop())

  const kubectl = (args: ReadonlyArray<string>) => runKubectl(bin, ["--kubeconfig", server.kubeconfig, ...args])
  const ok = async (args: ReadonlyArray<string>) => {
    const r = await kubectl(args)
    expect(r.code, `kubectl ${args.join(" ")}\n${r.stderr}`).toBe(0)
    return r
  }

  it("applies every accepted manifest unchanged, with upstream's migrations and warnings", async () => {
    const applied = await ok(["apply", "-n", "default", "-f", join(fixtures, "accepted")])
    for (const object of ["team.ark.mckinsey.com/legacy-graph", "agent.ark.mckinsey.com/ephemeral", "tool.ark.mckinsey.com/word-count", "workspace.ark.mckinsey.com/repo"]) {
      expect(applied.stdout).toContain(`${object} created`)
    }
    expect(applied.stderr).toContain("Warning: strategy 'graph' is deprecated - migrated to 'sequential'")
    expect(applied.stderr).toContain("Warning: spec.type 'messages' is deprecated")
    const graph = JSON.parse((await ok(["get", "team", "legacy-graph", "-n", "default", "-o", "json"])).stdout)
    expect(graph.spec).toMatchObject({ strategy: "sequential", loops: false })
    expect(graph.spec.graph).toBeUndefined()
    const pod = JSON.parse((await ok(["get", "agent", "ephemeral", "-n", "default", "-o", "json"])).stdout)
    expect(pod.spec.pod.template.spec.containers[0].resources.requests).toEqual({ cpu: "250m", memory: "256Mi" })
    const again = await ok(["apply", "-n", "default", "-f", join(fixtures, "accepted")])
    expect(again.stdout).toContain("workspace.ark.mckinsey.com/repo unchanged")
  })

  it("lists the new kinds in discovery, with upstream's columns and short names, and explains them from OpenAPI", async () => {
    const tables = (await ok(["get", "-n", "default", "evaluators,evaluations,executionprofiles,tar,ti,workspaces,executionengines,a2aservers,arkconfigs"])).stdout
    expect(tables).toMatch(/NAME\s+TYPE\s+PHASE\s+SCORE\s+PASSED\s+AGE/)
    expect(tables).toMatch(/NAME\s+WORKSPACE\s+CRITIC\s+AGE\s+executionprofile\.ark\.mckinsey\.com\/code-change\s+git\s+true/)
    expect(tables).toMatch(/NAME\s+QUERY\s+PHASE\s+TOOLS\s+AGE\s+toolapprovalrequest\.ark\.mckinsey\.com\/approve-delete\s+weather-berlin/)
    expect(tables).toMatch(/toolinteraction\.ark\.mckinsey\.com\/choose-region\s+selection\s+weather-berlin/)
    expect(tables).toMatch(/NAME\s+PHASE\s+PATH\s+AGE/)
    expect(tables).toMatch(/executionengine\.ark\.mckinsey\.com\/langgraph-translator\s+example-declarative-langgraph/)
    expect(tables).toMatch(/NAME\s+READY\s+DISCOVERING\s+ADDRESS\s+ENDPOINT\s+AGE/)
    expect(tables).toMatch(/arkconfig\.ark\.mckinsey\.com\/default\s+24h\s+72h/)
    const discovered = (await ok(["api-resources", "--api-group=ark.mckinsey.com", "--no-headers"])).stdout
    for (const [kind, plural, version] of newKinds) {
      expect(discovered).toMatch(new RegExp(`^${plural}\\s.*ark\\.mckinsey\\.com/${version}\\s+true\\s+${kind}$`, "m"))
      const explainedKind = (await ok(["explain", plural])).stdout
      expect(explainedKind).toContain(`KIND:       ${kind}`)
      expect(explainedKind).toContain(`VERSION:    ${version}`)
      expect(explainedKind).toMatch(/^ {2}spec\t/m)
    }
    const explained = (await ok(["explain", "workspaces.spec.content.git"])).stdout
    expect(explained).toContain("sparsePaths")
    expect((await ok(["explain", "toolinteractions.spec.type"])).stdout).toMatch(/approval.*input.*selection.*confirmation/s)
  })

  it.each(refused)("refuses %s with upstream's reason", async (file) => {
    const r = await kubectl(["apply", "--dry-run=server", "-n", "default", "-f", join(fixtures, "refused", file)])
    expect(r.code, r.stdout).not.toBe(0)
    expect(r.stderr).toContain(reasons[file])
  })

  it("has a reason for every refused manifest", () => {
    expect(Object.keys(reasons).sort()).toEqual(refused)
  })
})
