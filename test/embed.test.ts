/**
 * examples/embed: an Effect program that owns its PostgreSQL pool and builds ark-effect's
 * Storage and WatchHub on it, run for real against a fresh database of the test run's server.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { freshDatabase } from "./support/pg.ts"

const example = join(import.meta.dirname, "..", "examples", "embed", "main.ts")

describe("examples/embed", () => {
  it("stores an Agent, sees it on its watch and in a LIST from the hub", async () => {
    const url = await Effect.runPromise(freshDatabase("embed"))
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [example], { env: { ...process.env, DATABASE_URL: url }, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
      child.on("error", reject)
      child.on("close", (code) => resolve({ code, stdout, stderr }))
    })
    expect(code, stderr).toBe(0)
    const lines = stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^created Agent embedded\/agent-\w+ at resourceVersion \d+$/)
    const rv = /resourceVersion (\d+)/.exec(lines[0]!)![1]
    expect(lines[1]).toBe(`watch: ADDED at resourceVersion ${rv}`)
    expect(lines[2]).toMatch(/^list: contains agent-\w+ \(1 Agents in embedded\)$/)
  }, 60_000)
})
