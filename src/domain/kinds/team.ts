/** Team: agents (or nested teams) that answer together under a turn-taking strategy; the schema, then the kind's admission rules (upstream's webhooks). */
import { Schema } from "effect"
import { conditions } from "./common.ts"
import type { KubeObject, StatusCause } from "../object.ts"
import type { Admission, Json } from "./admissionRules.ts"
import { annotate, checkName, forbidden, invalid, list, migrationWarningPrefix, record, required, text } from "./admissionRules.ts"

export const TeamSpec = Schema.Struct({
  description: Schema.optionalKey(Schema.String),
  // Edges between member names: the turns a selector may choose from (and the deprecated "graph" strategy).
  graph: Schema.optionalKey(Schema.Struct({
    edges: Schema.Array(Schema.Struct({ from: Schema.String, to: Schema.String }))
  })),
  loops: Schema.optionalKey(Schema.Boolean.annotate({ default: false })),
  maxTurns: Schema.optionalKey(Schema.Int),
  members: Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.Literals(["agent", "team"]) })),
  selector: Schema.optionalKey(Schema.Struct({
    agent: Schema.optionalKey(Schema.String),
    enableTerminateTool: Schema.optionalKey(Schema.Boolean),
    selectorPrompt: Schema.optionalKey(Schema.String),
    terminatePrompt: Schema.optionalKey(Schema.String)
  })),
  // round-robin and graph are deprecated: admission migrates both to sequential.
  strategy: Schema.Literals(["sequential", "round-robin", "selector", "graph"])
})
export type TeamSpec = typeof TeamSpec.Type

export const TeamStatus = Schema.Struct({
  conditions: conditions()
})
export type TeamStatus = typeof TeamStatus.Type

const checkTeam = (spec: Json, causes: Array<StatusCause>, name: string) => {
  const members = list(spec["members"]).map(record)
  members.forEach((m, i) => {
    if (m === undefined) return
    checkName(causes, `spec.members[${i}].name`, m["name"])
    if (m["name"] === name) causes.push(invalid(`spec.members[${i}].name`, name, `team '${name}' cannot reference itself`))
  })
  const strategy = spec["strategy"]
  const loops = spec["loops"] === true
  const maxTurns = spec["maxTurns"]
  if (maxTurns !== undefined && (typeof maxTurns !== "number" || maxTurns < 1)) causes.push(invalid("spec.maxTurns", maxTurns, "must be at least 1"))
  if (strategy === "sequential") {
    if (loops && maxTurns === undefined) causes.push(required("spec.maxTurns", "maxTurns is required when loops is enabled"))
    if (!loops && maxTurns !== undefined) causes.push(forbidden("spec.maxTurns", "maxTurns can only be set when loops is enabled"))
  }
  if (strategy === "selector") {
    if (loops) causes.push(forbidden("spec.loops", "loops can only be used with the 'sequential' strategy"))
    const agent = record(spec["selector"])?.["agent"]
    if (agent === undefined || agent === "") causes.push(required("spec.selector.agent", "selector strategy requires selector.agent to be specified"))
    else checkName(causes, "spec.selector.agent", agent)
    if (maxTurns === undefined) causes.push(required("spec.maxTurns", "selector strategy requires maxTurns to prevent infinite execution"))
    const graph = record(spec["graph"])
    if (graph !== undefined) {
      const names = new Set(members.map((m) => m?.["name"]))
      const edges = list(graph["edges"])
      if (edges.length === 0) causes.push(required("spec.graph.edges", "graph constraint requires at least one edge"))
      edges.forEach((e, i) => {
        for (const end of ["from", "to"] as const) {
          const member = record(e)?.[end]
          if (!names.has(member)) {
            causes.push(invalid(`spec.graph.edges[${i}].${end}`, member, `graph edge ${i}: '${end}' member '${String(member)}' not found in team members`))
          }
        }
      })
    }
  }
}

/**
 * Upstream's DefaultTeam: the deprecated round-robin and graph strategies become sequential
 * (graph edges are discarded), and a custom selector prompt that does not name the
 * select-next-speaker tool is flagged.
 */
const defaultTeam = (obj: KubeObject, spec: Json): KubeObject => {
  switch (spec["strategy"]) {
    case "round-robin": {
      const loops = spec["maxTurns"] !== undefined
      return annotate(
        { ...obj, spec: { ...spec, strategy: "sequential", loops } },
        `${migrationWarningPrefix}round-robin`,
        loops
          ? "strategy 'round-robin' is deprecated - migrated to 'sequential' with loops: true. Will be removed in v1.0.0"
          : "strategy 'round-robin' is deprecated - migrated to 'sequential'. Set loops: true and maxTurns to enable looping. Will be removed in v1.0.0"
      )
    }
    case "graph": {
      const { graph: _graph, maxTurns: _maxTurns, ...rest } = spec
      return annotate(
        { ...obj, spec: { ...rest, strategy: "sequential", loops: false } },
        `${migrationWarningPrefix}graph`,
        "strategy 'graph' is deprecated - migrated to 'sequential'. Graph edges have been discarded. Will be removed in v1.0.0"
      )
    }
    case "selector": {
      const prompt = text(record(spec["selector"])?.["selectorPrompt"]) ?? ""
      return prompt === "" || prompt.includes("select-next-speaker") ? obj : annotate(
        obj,
        `${migrationWarningPrefix}selector-prompt`,
        "custom selectorPrompt should instruct the agent to use the select-next-speaker tool — add 'Use the select-next-speaker tool to make your selection.' to your selectorPrompt"
      )
    }
    default:
      return obj
  }
}

/** Upstream's Team webhooks (DefaultTeam, ValidateTeam). */
export const TeamAdmission: Admission = {
  defaults: defaultTeam,
  validate: (spec, { causes }, obj) => checkTeam(spec, causes, obj.metadata.name ?? "")
}
