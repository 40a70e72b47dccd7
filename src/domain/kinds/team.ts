/** Team: agents (or nested teams) that answer together under a turn-taking strategy. */
import { Schema } from "effect"
import { conditions } from "./common.ts"

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
