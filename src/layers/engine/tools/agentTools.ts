/**
 * The tools of an Agent, as upstream's engine registers them: each `spec.tools` entry names a
 * Tool (or, for `builtin`, one of the built-ins), optionally renamed and with fixed arguments
 * (`partial`), which are hidden from the model's schema and added to each call. Tools that
 * cannot run (a missing Tool or MCPServer) end the Query as `invalid-config`; a tool that fails
 * when called is a tool error the model reads.
 */
import { Effect } from "effect"
import { parseGoDuration } from "../../../domain/duration.ts"
import type { KubeObject } from "../../../domain/object.ts"
import { ExecutionFailed } from "../../../services/QueryExecutor.ts"
import type { Parameter, Scope, ValueSource } from "../resolve.ts"
import { getObject, parameterValues, types, valueOf } from "../resolve.ts"
import { builtins } from "./builtin.ts"
import * as Http from "./http.ts"
import type { McpClients, McpServerConfig } from "./mcp.ts"
import type { RunnableTool } from "./runnableTool.ts"
import { ToolFailed } from "./runnableTool.ts"

interface AgentToolEntry {
  readonly type: string
  readonly name?: string
  readonly description?: string
  readonly partial?: {
    readonly name?: string
    readonly parameters?: ReadonlyArray<Parameter>
  }
}

interface ToolSpec {
  readonly type?: string
  readonly description?: string
  readonly inputSchema?: Record<string, unknown>
  readonly http?: Http.HttpToolSpec & {
    readonly headers?: ReadonlyArray<{ readonly name: string; readonly value: ValueSource }>
    readonly bodyParameters?: ReadonlyArray<Parameter>
  }
  readonly mcp?: { readonly mcpServerRef: { readonly name: string; readonly namespace?: string }; readonly toolName: string }
  readonly agent?: { readonly name: string }
  readonly builtin?: { readonly name: string }
  readonly team?: { readonly name: string }
}

export interface ToolDeps {
  readonly mcp: McpClients
  /** Runs another Agent of the namespace on one user message: an `agent` tool. */
  readonly runAgent: (name: string, input: string) => Effect.Effect<string, ExecutionFailed>
  /** Runs a Team of the namespace on one user message: a `team` tool. */
  readonly runTeam: (name: string, input: string) => Effect.Effect<string, ExecutionFailed>
}

const invalid = (message: string) => new ExecutionFailed({ code: "invalid-config", message })

const emptySchema = { type: "object", properties: {} }
const agentInputSchema = {
  type: "object",
  properties: { input: { type: "string", description: "The message for the agent" } },
  required: ["input"]
}

/** The schema without the fixed parameters: the model neither sees nor sets them. */
const withoutParameters = (schema: Record<string, unknown>, hidden: ReadonlySet<string>) => {
  if (hidden.size === 0) return schema
  const properties = (schema["properties"] ?? {}) as Record<string, unknown>
  const required = Array.isArray(schema["required"]) ? (schema["required"] as ReadonlyArray<string>) : undefined
  return {
    ...schema,
    properties: Object.fromEntries(Object.entries(properties).filter(([k]) => !hidden.has(k))),
    ...(required !== undefined ? { required: required.filter((k) => !hidden.has(k)) } : {})
  }
}

const headersOf = (headers: ReadonlyArray<{ readonly name: string; readonly value: ValueSource }> | undefined, scope: Scope, owner: string) =>
  Effect.gen(function*() {
    const out: Record<string, string> = {}
    for (const h of headers ?? []) out[h.name] = (yield* valueOf(h.value, scope, `header ${h.name} of ${owner}`)) ?? ""
    return out
  })

/** An MCPServer's address, headers and OAuth token (tokenSecretRef's access token as a bearer). */
const mcpServer = (ref: { readonly name: string; readonly namespace?: string }, scope: Scope, owner: string) =>
  Effect.gen(function*() {
    const namespace = ref.namespace ?? scope.namespace
    const object = yield* getObject(types.mcpServer, namespace, ref.name, "invalid-config", owner)
    const id = `${namespace}/${ref.name}`
    const spec = (object.spec ?? {}) as {
      address?: ValueSource
      headers?: ReadonlyArray<{ name: string; value: ValueSource }>
      transport?: "http" | "sse"
      timeout?: string
      authorization?: { tokenSecretRef: { name: string; accessTokenKey?: string } }
    }
    const serverScope = { ...scope, namespace }
    const url = yield* valueOf(spec.address, serverScope, `spec.address of mcpserver ${id}`)
    if (url === undefined || url === "") return yield* invalid(`mcpserver ${id} has no address`)
    const headers = yield* headersOf(spec.headers, serverScope, `mcpserver ${id}`)
    const token = spec.authorization?.tokenSecretRef
    if (token !== undefined) {
      const key = token.accessTokenKey ?? "access_token"
      const access = yield* valueOf({ valueFrom: { secretKeyRef: { name: token.name, key } } }, serverScope, `spec.authorization.tokenSecretRef of mcpserver ${id}`)
      headers["Authorization"] = `Bearer ${access}`
    }
    return {
      id,
      url,
      transport: spec.transport ?? "http",
      headers,
      timeoutMs: parseGoDuration(spec.timeout ?? "30s") ?? 30_000
    } satisfies McpServerConfig
  })

/** One Tool object as a runnable tool named `name` (an Agent's tool, or a Query's target). */
export const fromTool = (tool: KubeObject, name: string, scope: Scope, deps: ToolDeps) =>
  Effect.gen(function*() {
    const spec = (tool.spec ?? {}) as ToolSpec
    const id = `${scope.namespace}/${tool.metadata.name}`
    const owner = `tool ${id}`
    const description = spec.description ?? tool.metadata.annotations?.["description"]
    switch (spec.type) {
      case "http": {
        if (spec.http === undefined) return yield* invalid(`${owner} has type http but no spec.http`)
        const headers = yield* headersOf(spec.http.headers, scope, owner)
        const body = yield* parameterValues(spec.http.bodyParameters, scope, owner)
        return {
          definition: { name, description: description ?? `HTTP request to ${spec.http.url}`, parameters: spec.inputSchema ?? emptySchema },
          run: Http.run(spec.http, headers, body)
        } satisfies RunnableTool
      }
      case "mcp": {
        if (spec.mcp === undefined) return yield* invalid(`${owner} has type mcp but no spec.mcp`)
        const server = yield* mcpServer(spec.mcp.mcpServerRef, scope, owner)
        const toolName = spec.mcp.toolName
        // The server's own description and schema fill what the Tool leaves out; an unreachable
        // server is not fatal here: the call reports it to the model.
        const listed = yield* deps.mcp.tools(server).pipe(Effect.option)
        const known = listed._tag === "Some" ? listed.value.find((t) => t.name === toolName) : undefined
        if (listed._tag === "Some" && known === undefined) {
          return yield* invalid(`${owner}: MCP server ${server.id} has no tool ${toolName} (it has ${listed.value.map((t) => t.name).join(", ") || "none"})`)
        }
        return {
          definition: {
            name,
            description: description ?? known?.description ?? `MCP tool ${toolName}`,
            parameters: spec.inputSchema ?? known?.inputSchema ?? emptySchema
          },
          run: (args) => deps.mcp.call(server, toolName, args)
        } satisfies RunnableTool
      }
      case "agent": {
        const agent = spec.agent?.name
        if (agent === undefined) return yield* invalid(`${owner} has type agent but no spec.agent.name`)
        return {
          definition: { name, description: description ?? `Ask agent ${agent}`, parameters: spec.inputSchema ?? agentInputSchema },
          run: (args) =>
            deps.runAgent(agent, typeof args["input"] === "string" ? args["input"] : JSON.stringify(args)).pipe(
              Effect.mapError((e) => new ToolFailed({ message: `agent ${scope.namespace}/${agent} failed: ${e.message}` }))
            )
        } satisfies RunnableTool
      }
      case "builtin": {
        const builtin = builtins.get(spec.builtin?.name ?? "")
        if (builtin === undefined) return yield* invalid(`${owner}: unknown builtin ${spec.builtin?.name ?? "(none)"} (known: ${[...builtins.keys()].join(", ")})`)
        return { ...builtin, definition: { ...builtin.definition, name, ...(description !== undefined ? { description } : {}) } }
      }
      case "team": {
        const team = spec.team?.name
        if (team === undefined) return yield* invalid(`${owner} has type team but no spec.team.name`)
        return {
          definition: { name, description: description ?? `Ask team ${team}`, parameters: spec.inputSchema ?? agentInputSchema },
          run: (args) =>
            typeof args["input"] === "string"
              ? deps.runTeam(team, args["input"]).pipe(Effect.mapError((e) => new ToolFailed({ message: `team ${scope.namespace}/${team} failed: ${e.message}` })))
              : Effect.fail(new ToolFailed({ message: "input parameter is required" }))
        } satisfies RunnableTool
      }
      default:
        return yield* invalid(`${owner} has unknown type ${String(spec.type)}`)
    }
  })

/** Adds fixed arguments to every call (they win over the model's). */
const withFixed = (tool: RunnableTool, fixed: ReadonlyMap<string, string>): RunnableTool =>
  fixed.size === 0 ? tool : {
    ...tool,
    definition: { ...tool.definition, parameters: withoutParameters(tool.definition.parameters, new Set(fixed.keys())) },
    run: (args) => tool.run({ ...args, ...Object.fromEntries(fixed) })
  }

export const agentTools = (agent: KubeObject, scope: Scope, deps: ToolDeps) =>
  Effect.gen(function*() {
    const entries = ((agent.spec ?? {}) as { tools?: ReadonlyArray<AgentToolEntry> }).tools ?? []
    const agentId = `agent ${scope.namespace}/${agent.metadata.name}`
    const tools: Array<RunnableTool> = []
    for (const entry of entries) {
      const ref = entry.name
      if (ref === undefined) return yield* invalid(`a tool of ${agentId} has no name`)
      const exposed = entry.partial?.name ?? ref
      const builtinType = entry.type === "builtin" || entry.type === "built-in"
      const object = yield* getObject(types.tool, scope.namespace, ref, "invalid-config", `tool of ${agentId}`).pipe(
        Effect.map((o): KubeObject | undefined => o),
        // A builtin may be named directly, without a Tool object.
        Effect.catchIf((e) => builtinType && e.code === "invalid-config" && builtins.has(ref), () => Effect.succeed(undefined))
      )
      const base = object === undefined
        ? { ...builtins.get(ref)!, definition: { ...builtins.get(ref)!.definition, name: exposed } }
        : yield* fromTool(object, exposed, scope, deps)
      const described = entry.description === undefined ? base : { ...base, definition: { ...base.definition, description: entry.description } }
      const fixed = yield* parameterValues(entry.partial?.parameters, scope, `tool ${ref} of ${agentId}`)
      tools.push(withFixed(described, fixed))
    }
    return tools
  })
