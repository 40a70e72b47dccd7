/**
 * The kinds served under ark.mckinsey.com, with the names, scope, versions and printer columns of
 * upstream Ark's CRDs (ark/config/crd/bases), so kubectl and Ark's own tooling see the same API;
 * and the kube kinds the standalone server also serves: coordination.k8s.io/v1 Lease (for
 * Lease-based leader election without a kube-apiserver), core/v1 Secret and ConfigMap (for
 * the credentials and values Models, Tools and Queries read) and core/v1 Event (what the engine
 * records on a Query).
 */
import type { Schema } from "effect"
import type { Admission } from "./kinds/admissionRules.ts"
import { A2AServerAdmission, A2AServerSpec, A2AServerStatus } from "./kinds/a2aserver.ts"
import { A2ATaskSpec, A2ATaskStatus } from "./kinds/a2atask.ts"
import { AgentAdmission, AgentSpec, AgentStatus } from "./kinds/agent.ts"
import { ArkConfigAdmission, ArkConfigSpec, ArkConfigStatus } from "./kinds/arkconfig.ts"
import { EvaluationAdmission, EvaluationSpec, EvaluationStatus } from "./kinds/evaluation.ts"
import { EvaluatorAdmission, EvaluatorSpec, EvaluatorStatus } from "./kinds/evaluator.ts"
import { ExecutionEngineAdmission, ExecutionEngineSpec, ExecutionEngineStatus } from "./kinds/executionengine.ts"
import { ConfigMapAdmission, ConfigMapFields, SecretAdmission, SecretFields } from "./kinds/core.ts"
import { EventAdmission, EventFields } from "./kinds/event.ts"
import { ExecutionProfileSpec, ExecutionProfileStatus } from "./kinds/executionprofile.ts"
import { LeaseSpec } from "./kinds/lease.ts"
import { MCPServerAdmission, MCPServerSpec, MCPServerStatus } from "./kinds/mcpserver.ts"
import { MemorySpec, MemoryStatus } from "./kinds/memory.ts"
import { ModelAdmission, ModelSpec, ModelStatus } from "./kinds/model.ts"
import { QueryAdmission, QuerySpec, QueryStatus } from "./kinds/query.ts"
import { TeamAdmission, TeamSpec, TeamStatus } from "./kinds/team.ts"
import { ToolAdmission, ToolSpec, ToolStatus } from "./kinds/tool.ts"
import { ToolApprovalRequestSpec, ToolApprovalRequestStatus } from "./kinds/toolapprovalrequest.ts"
import { ToolInteractionSpec, ToolInteractionStatus } from "./kinds/toolinteraction.ts"
import { WorkspaceSpec, WorkspaceStatus } from "./kinds/workspace.ts"

export const group = "ark.mckinsey.com"

/**
 * Served versions in kube's version-priority order: "prealpha" is not a kube-like version name,
 * so v1prealpha1 sorts after v1alpha1, which is therefore the group's preferred version.
 */
export const versions = ["v1alpha1", "v1prealpha1"] as const
export type Version = typeof versions[number]

export interface PrinterColumn {
  readonly name: string
  readonly type: "string" | "integer" | "number" | "boolean" | "date"
  readonly jsonPath: string
  readonly description?: string
  readonly priority?: number
  readonly format?: string
}

export interface ResourceInfo {
  /** ark.mckinsey.com; coordination.k8s.io for Leases; "" (core) for Secrets, ConfigMaps and Events. */
  readonly group: string
  /** Served version, e.g. "v1alpha1"; each kind is served in exactly one version. */
  readonly version: string
  readonly kind: string
  readonly listKind: string
  readonly plural: string
  readonly singular: string
  readonly shortNames: ReadonlyArray<string>
  readonly categories: ReadonlyArray<string>
  readonly namespaced: boolean
  /** Upstream's additionalPrinterColumns, Age included, in upstream order. */
  readonly printerColumns: ReadonlyArray<PrinterColumn>
  /** Schema.Top narrowed to what the kinds are: service-free codecs, so they decode directly. */
  readonly spec?: Schema.Codec<unknown, unknown>
  /** Top-level fields of a kind without a spec (a Secret's `data`, `type`...), each with its schema. */
  readonly fields?: Readonly<Record<string, Schema.Codec<unknown, unknown>>>
  /** Without it the kind has no status field and no `/status` subresource (Lease). */
  readonly status?: Schema.Codec<unknown, unknown>
  readonly description: string
  /** The status a new object starts with (kube's PrepareForCreate), instead of none. */
  readonly initialStatus?: Record<string, unknown>
  /**
   * A built-in kube kind: kubectl sends it strategic merge patches. Only kinds whose spec has
   * no lists are marked, where a strategic merge patch is a JSON merge patch.
   */
  readonly strategicMergePatch?: boolean
  /** The kind's part of Ark's admission webhooks, beyond its schema (admission.ts runs it). */
  readonly admission?: Admission
}

const AGE: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }

const column = (name: string, jsonPath: string, description?: string): PrinterColumn => ({
  name,
  type: "string",
  jsonPath,
  ...(description === undefined ? {} : { description })
})

/** `.status.conditions[?(@.type=="X")].status`; upstream quotes X with " or ' depending on the kind. */
const conditionColumn = (name: string, type: string, quote: "\"" | "'", description?: string): PrinterColumn =>
  column(name, `.status.conditions[?(@.type==${quote}${type}${quote})].status`, description)

interface Definition {
  readonly kind: string
  readonly plural: string
  readonly version: Version
  readonly namespaced?: boolean
  readonly shortNames?: ReadonlyArray<string>
  readonly printerColumns: ReadonlyArray<PrinterColumn>
  readonly spec: Schema.Codec<unknown, unknown>
  readonly status: Schema.Codec<unknown, unknown>
  readonly description: string
  readonly initialStatus?: Record<string, unknown>
  readonly admission?: Admission
}

/** Upstream declares no categories, shortNames only for a few kinds, and derives listKind/singular from the kind. */
const resource = (definition: Definition): ResourceInfo => ({
  group,
  listKind: `${definition.kind}List`,
  singular: definition.kind.toLowerCase(),
  shortNames: [],
  categories: [],
  namespaced: true,
  ...definition
})

export const resources: ReadonlyArray<ResourceInfo> = [
  resource({
    kind: "Agent",
    plural: "agents",
    version: "v1alpha1",
    printerColumns: [column("Model", ".spec.modelRef.name"), conditionColumn("Available", "Available", "\""), AGE],
    spec: AgentSpec,
    status: AgentStatus,
    admission: AgentAdmission,
    description: "Agent is an LLM-driven agent: a prompt bound to a model, tools and an optional execution engine."
  }),
  resource({
    kind: "Model",
    plural: "models",
    version: "v1alpha1",
    printerColumns: [
      column("Type", ".spec.type"),
      column("Provider", ".spec.provider"),
      column("Model", ".spec.model.value"),
      conditionColumn("Available", "ModelAvailable", "\""),
      AGE
    ],
    spec: ModelSpec,
    status: ModelStatus,
    admission: ModelAdmission,
    description: "Model is an LLM endpoint of a provider (OpenAI, Azure OpenAI, Bedrock, Anthropic) and how to reach it."
  }),
  resource({
    kind: "Query",
    plural: "queries",
    version: "v1alpha1",
    // A new Query waits in the queue as pending until a worker takes it.
    initialStatus: { phase: "pending" },
    printerColumns: [
      column("Type", ".spec.type"),
      column("Phase", ".status.phase"),
      column("Duration", ".status.duration"),
      AGE
    ],
    spec: QuerySpec,
    status: QueryStatus,
    admission: QueryAdmission,
    description: "Query is one request to an agent, team, model or tool; its status carries the response."
  }),
  resource({
    kind: "Team",
    plural: "teams",
    version: "v1alpha1",
    printerColumns: [column("Strategy", ".spec.strategy"), conditionColumn("Available", "Available", "\""), AGE],
    spec: TeamSpec,
    status: TeamStatus,
    admission: TeamAdmission,
    description: "Team is a group of agents (or teams) answering together under a turn-taking strategy."
  }),
  resource({
    kind: "Tool",
    plural: "tools",
    version: "v1alpha1",
    printerColumns: [],
    spec: ToolSpec,
    status: ToolStatus,
    admission: ToolAdmission,
    description: "Tool is a capability agents can call: an HTTP endpoint, an MCP tool, an agent, a team or a builtin."
  }),
  resource({
    kind: "Memory",
    plural: "memories",
    version: "v1alpha1",
    printerColumns: [
      column("Phase", ".status.phase", "Phase of the memory"),
      column("Address", ".status.lastResolvedAddress", "Last resolved address"),
      { ...AGE, description: "Age of the memory" }
    ],
    spec: MemorySpec,
    status: MemoryStatus,
    description: "Memory is the Schema for the memories API."
  }),
  resource({
    kind: "MCPServer",
    plural: "mcpservers",
    version: "v1alpha1",
    printerColumns: [
      conditionColumn("Available", "Available", "'"),
      conditionColumn("Discovering", "Discovering", "'", "Discovery status"),
      { name: "Tools", type: "integer", jsonPath: ".status.toolCount", description: "Number of tools" },
      column("Auth", ".status.authorization.state", "OAuth authorization state"),
      { ...AGE, description: "Age" }
    ],
    spec: MCPServerSpec,
    status: MCPServerStatus,
    admission: MCPServerAdmission,
    description: "MCPServer is a Model Context Protocol server whose tools are discovered into Tools."
  }),
  resource({
    kind: "A2ATask",
    plural: "a2atasks",
    version: "v1alpha1",
    printerColumns: [
      column("Query", ".spec.queryRef.name"),
      column("Agent", ".spec.agentRef.name"),
      column("Phase", ".status.phase"),
      AGE
    ],
    spec: A2ATaskSpec,
    status: A2ATaskStatus,
    description: "A2ATask is a long-running Agent-to-Agent protocol task started by a Query."
  }),
  resource({
    kind: "ArkConfig",
    plural: "arkconfigs",
    version: "v1alpha1",
    namespaced: false,
    printerColumns: [column("QueryTTL", ".spec.queryTTL"), column("EvaluationTTL", ".spec.evaluationTTL"), AGE],
    spec: ArkConfigSpec,
    status: ArkConfigStatus,
    admission: ArkConfigAdmission,
    description: "ArkConfig is the Schema for cluster-wide Ark defaults."
  }),
  resource({
    kind: "A2AServer",
    plural: "a2aservers",
    version: "v1prealpha1",
    printerColumns: [
      conditionColumn("Ready", "Ready", "'", "Ready status"),
      conditionColumn("Discovering", "Discovering", "'", "Discovery status"),
      column("Address", ".status.lastResolvedAddress", "Last resolved address"),
      column("Endpoint", ".status.lastResolvedEndpoint", "Endpoint used for A2A requests"),
      { ...AGE, description: "Age" }
    ],
    spec: A2AServerSpec,
    status: A2AServerStatus,
    admission: A2AServerAdmission,
    description: "A2AServer is a remote Agent-to-Agent protocol server whose agents are discovered into Agents."
  }),
  resource({
    kind: "ExecutionEngine",
    plural: "executionengines",
    version: "v1prealpha1",
    printerColumns: [
      column("Type", ".spec.type"),
      column("Phase", ".status.phase"),
      column("Address", ".status.lastResolvedAddress"),
      AGE
    ],
    spec: ExecutionEngineSpec,
    status: ExecutionEngineStatus,
    admission: ExecutionEngineAdmission,
    description: "ExecutionEngine is an external agent runtime (LangChain, AutoGen, ...) reached over A2A."
  }),
  resource({
    kind: "Evaluator",
    plural: "evaluators",
    version: "v1alpha1",
    printerColumns: [column("Phase", ".status.phase"), column("Address", ".status.lastResolvedAddress"), AGE],
    spec: EvaluatorSpec,
    status: EvaluatorStatus,
    admission: EvaluatorAdmission,
    description: "Evaluator is a service that scores Queries, optionally every Query its selector matches."
  }),
  resource({
    kind: "Evaluation",
    plural: "evaluations",
    version: "v1alpha1",
    printerColumns: [
      column("Type", ".spec.type"),
      column("Phase", ".status.phase"),
      column("Score", ".status.score"),
      { name: "Passed", type: "boolean", jsonPath: ".status.passed" },
      AGE
    ],
    spec: EvaluationSpec,
    status: EvaluationStatus,
    admission: EvaluationAdmission,
    description: "Evaluation is one scoring run of an Evaluator over an input/output pair, a Query, a baseline or a batch."
  }),
  resource({
    kind: "ExecutionProfile",
    plural: "executionprofiles",
    version: "v1prealpha1",
    printerColumns: [
      column("Workspace", ".spec.workspace.type"),
      { name: "Critic", type: "boolean", jsonPath: ".spec.critic.enabled" },
      AGE
    ],
    spec: ExecutionProfileSpec,
    status: ExecutionProfileStatus,
    description: "ExecutionProfile defines a reusable, SDK-agnostic execution workflow\n" +
      "Any executor (Claude SDK, OpenAI, LangGraph, etc.) can use these profiles"
  }),
  resource({
    kind: "ToolApprovalRequest",
    plural: "toolapprovalrequests",
    version: "v1alpha1",
    shortNames: ["tar"],
    printerColumns: [
      column("Query", ".spec.queryRef.name"),
      column("Phase", ".status.phase"),
      { name: "Tools", type: "integer", jsonPath: ".spec.toolCalls[*].name" },
      AGE
    ],
    spec: ToolApprovalRequestSpec,
    status: ToolApprovalRequestStatus,
    description: "ToolApprovalRequest represents a pending human approval for one or more tool calls."
  }),
  resource({
    kind: "ToolInteraction",
    plural: "toolinteractions",
    version: "v1alpha1",
    shortNames: ["ti"],
    printerColumns: [column("Type", ".spec.type"), column("Query", ".spec.queryRef.name"), column("Phase", ".status.phase"), AGE],
    spec: ToolInteractionSpec,
    status: ToolInteractionStatus,
    description: "ToolInteraction is a paused Query's question to a human: an approval, an input, a selection or a confirmation."
  }),
  resource({
    kind: "Workspace",
    plural: "workspaces",
    version: "v1alpha1",
    printerColumns: [
      column("Phase", ".status.phase", "Phase of the workspace"),
      column("Path", ".status.path", "Mount path"),
      { ...AGE, description: "Age of the workspace" }
    ],
    spec: WorkspaceSpec,
    status: WorkspaceStatus,
    description: "Workspace is a working directory (git, archive or object-storage content) that agents run in."
  })
]

export const coordinationGroup = "coordination.k8s.io"

/** coordination.k8s.io/v1 Lease, with kube's printer columns (Holder, Age). */
export const lease: ResourceInfo = {
  group: coordinationGroup,
  version: "v1",
  kind: "Lease",
  listKind: "LeaseList",
  plural: "leases",
  singular: "lease",
  shortNames: [],
  categories: [],
  namespaced: true,
  printerColumns: [column("Holder", ".spec.holderIdentity"), AGE],
  spec: LeaseSpec,
  description: "Lease defines a lease concept.",
  strategicMergePatch: true
}

export const coreGroup = ""

/** A core/v1 kind of the standalone server: no spec, no status subresource. */
const coreKind = (
  kind: string,
  fields: ResourceInfo["fields"],
  printerColumns: ReadonlyArray<PrinterColumn>,
  description: string,
  admission: Admission,
  shortNames: ReadonlyArray<string> = []
): ResourceInfo => ({
  group: coreGroup,
  version: "v1",
  kind,
  listKind: `${kind}List`,
  plural: `${kind.toLowerCase()}s`,
  singular: kind.toLowerCase(),
  shortNames,
  categories: [],
  namespaced: true,
  printerColumns,
  ...(fields !== undefined ? { fields } : {}),
  description,
  admission
})

export const secret = coreKind("Secret", SecretFields as ResourceInfo["fields"], [column("Type", ".type"), AGE], "Secret holds secret data of a certain type.", SecretAdmission)
export const configMap = coreKind("ConfigMap", ConfigMapFields as ResourceInfo["fields"], [AGE], "ConfigMap holds configuration data for pods to consume.", ConfigMapAdmission, ["cm"])
/** kubectl's columns for events, the object by its name (a column is one path). */
export const event = coreKind(
  "Event",
  EventFields as ResourceInfo["fields"],
  [{ name: "Last Seen", type: "date", jsonPath: ".lastTimestamp" }, column("Type", ".type"), column("Reason", ".reason"), column("Object", ".involvedObject.name"), column("Message", ".message")],
  "Event is a report of an event somewhere in the cluster.",
  EventAdmission,
  ["ev"]
)

/** The core kinds served standalone, under /api/v1. */
export const coreResources: ReadonlyArray<ResourceInfo> = [configMap, event, secret]

/** Every kind the API server serves: the Ark kinds, then Lease, ConfigMap, Event and Secret. */
export const servedResources: ReadonlyArray<ResourceInfo> = [...resources, lease, ...coreResources]

/** Where a kind's group-version is served: `/api/v1` for core, else `/apis/<group>/<version>`. */
export const apiPath = (group: string, version: string) => group === coreGroup ? `/api/${version}` : `/apis/${group}/${version}`

/** `apiVersion` of a group-version: `v1` for core, else `<group>/<version>`. */
export const groupVersionOf = (group: string, version: string) => group === coreGroup ? version : `${group}/${version}`

/** Served groups in discovery order, each with its versions in preference order. */
export const servedGroups: ReadonlyArray<{ readonly name: string; readonly versions: ReadonlyArray<string> }> = [
  { name: group, versions: versions.filter((v) => resources.some((r) => r.version === v)) },
  { name: coordinationGroup, versions: ["v1"] }
]

export const findResource = (groupName: string, version: string, plural: string): ResourceInfo | undefined =>
  servedResources.find((info) => info.group === groupName && info.version === version && info.plural === plural)

/** Looks a kind up by name alone: every kind is served in exactly one version. */
export const findKind = (kind: string): ResourceInfo | undefined => servedResources.find((info) => info.kind === kind)

/** Looks a kind up by `apiVersion` ("ark.mckinsey.com/v1alpha1") and `kind`, as found in a manifest. */
export const findByKind = (apiVersion: string, kind: string): ResourceInfo | undefined =>
  servedResources.find((info) => groupVersionOf(info.group, info.version) === apiVersion && info.kind === kind)

/**
 * Resolves what a user types (`ark get queries`, `query`, `Query`, a short name) as kubectl does:
 * case-insensitively against plural, singular, short names and kind.
 */
export const resolveResource = (name: string): ResourceInfo | undefined => {
  const wanted = name.toLowerCase()
  return servedResources.find((info) =>
    [info.plural, info.singular, info.kind.toLowerCase(), ...info.shortNames].includes(wanted)
  )
}

/** One storage key per group and plural, shared by every version of the kind. */
export const storageKey = (info: ResourceInfo): string => `${info.group}/${info.plural}`
