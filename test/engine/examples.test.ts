/**
 * The first run and the step to a real model, as the README tells it: `npm start`'s server
 * (`ark serve --demo-fallback`: every module, the embedded PostgreSQL) answers the examples
 * through the demo engine while no model is configured; after a Secret and a Model (the two
 * commands), the example Query runs on the completions engine with that model (here a scripted
 * OpenAI-compatible server), calling the example's HTTP tool.
 */
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { arkClient, openAiModel } from "../support/arkClient.ts"
import { kubectlBinaries } from "../support/kubectl.ts"
import type { ScriptedModel } from "../support/models.ts"
import { openAiMessages, startScriptedModel } from "../support/models.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const examples = join(import.meta.dirname, "..", "..", "examples")

let server: RunningServer
let model: ScriptedModel
let client: ReturnType<typeof arkClient>

beforeAll(async () => {
  model = await startScriptedModel("openai", (call, n) => {
    const messages = openAiMessages(call)
    if (String(messages[0]?.content).startsWith("You are a copy editor.")) {
      return { text: `Edited (${String(messages.findLast((m) => m.role === "assistant")?.content)})` }
    }
    if (n === 1) return { toolCalls: [{ name: "get-current-weather", arguments: { latitude: 38.72, longitude: -9.14 } }] }
    const tool = openAiMessages(call).find((m) => m.role === "tool")
    return { text: `Lisbon: the weather service said ${String(tool?.content).slice(0, 60)}` }
  })
  server = await startServer({ embedded: true, modules: "apiserver,controller,query-workers,webhook,metrics", args: ["--demo-fallback", "--webhook-port", "0", "--metrics-port", "0"] })
  client = arkClient((await kubectlBinaries()).kubectl, server.kubeconfig)
})
afterAll(async () => {
  await server?.stop()
  await model?.stop()
})

const ok = async (args: ReadonlyArray<string>) => {
  const r = await client.k(args)
  expect(r.code, r.stderr).toBe(0)
  return r.stdout
}

describe("npm start and the examples", () => {
  it("answers the examples through the demo engine while no model is configured", async () => {
    await ok(["apply", "-f", examples])
    const lisbon = await client.finished("default", "lisbon-weather")
    expect(lisbon.status.phase).toBe("done")
    expect(lisbon.status.response.content).toBe("weather-reporter (demo engine) received: What is the weather like in Lisbon right now?")
    // The team's members have no Model yet: the demo engine answers it too.
    const team = await client.finished("default", "oslo-weather-bulletin")
    expect(team.status.phase).toBe("done")
    expect(team.status.response.content).toBe("weather-desk (demo engine) received: Write a short weather bulletin for Oslo.")
  })

  it("runs the example Query on the configured model after a Secret and a Model, calling the example's HTTP tool", async () => {
    await ok(["create", "secret", "generic", "openai-api-key", "--from-literal=token=sk-example"])
    await client.apply("default", [openAiModel(model.url, "default", { valueFrom: { secretKeyRef: { name: "openai-api-key", key: "token" } } })])
    await ok(["delete", "query", "lisbon-weather"])
    await ok(["apply", "-f", join(examples, "query.yaml")])
    const q = await client.finished("default", "lisbon-weather")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    // No network here: the example's tool (api.open-meteo.com) fails, and the model reads why.
    const tool = openAiMessages(model.calls[1]!).find((m) => m.role === "tool")!
    expect(String(tool.content)).toMatch(/^Error: GET https:\/\/api\.open-meteo\.com\/v1\/forecast\?latitude=38\.72&longitude=-9\.14&current=temperature_2m,wind_speed_10m failed/)
    expect(q.status.response.content).toBe(`Lisbon: the weather service said ${String(tool.content).slice(0, 60)}`)
    const system = openAiMessages(model.calls[0]!)[0]!
    expect(system.role).toBe("system")
    expect(String(system.content)).toContain("You report the current weather.")
  })

  it("runs the example team on the configured model: the reporter, then the copy editor on the reporter's answer", async () => {
    await ok(["delete", "query", "oslo-weather-bulletin"])
    await ok(["apply", "-f", join(examples, "query-team.yaml")])
    const q = await client.finished("default", "oslo-weather-bulletin")
    expect(q.status.phase, JSON.stringify(q.status)).toBe("done")
    const said = JSON.parse(q.status.response.raw) as ReadonlyArray<{ role: string; name?: string; content: string | null }>
    const reporter = said.findLast((m) => m.role === "assistant" && m.name === "weather-reporter")!
    expect(String(reporter.content)).toMatch(/^Lisbon: the weather service said /)
    expect(q.status.response.content).toBe(`Edited (${reporter.content})`)
    const editor = model.calls.at(-1)!
    expect(String(openAiMessages(editor)[0]!.content)).toContain("Rewrite the previous answer in a friendly tone")
    expect(openAiMessages(editor).at(-1)).toMatchObject({ role: "user", content: "Write a short weather bulletin for Oslo." })
  })
})
