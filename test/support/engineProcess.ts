/** Runs the real `ark engine` (the completions engine as an A2A service) as a child process, stopped by its pid. */
import { spawn } from "node:child_process"
import { join } from "node:path"

export interface RunningEngine {
  readonly url: string
  readonly output: () => string
  readonly stop: () => Promise<void>
  /** Ends it at once (SIGKILL), as a crash would: nothing in flight is finished or answered. */
  readonly kill: () => Promise<void>
}

const root = join(import.meta.dirname, "..", "..")

export const startEngine = async (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<RunningEngine> => {
  const child = spawn(process.execPath, [join(root, "src/programs/main.ts"), "engine", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, KUBERNETES_SERVICE_HOST: "", ...env }
  })
  let output = ""
  const end = (signal: NodeJS.Signals) => async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill(signal)
      await exited
    }
  }
  const stop = end("SIGTERM")
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ark engine did not start:\n${output}`)), 30_000)
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        const m = /ark: completions engine serving (\S+)/.exec(output)
        if (m !== null) {
          clearTimeout(timer)
          resolve(m[1]!)
        }
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      child.once("exit", (code) => {
        clearTimeout(timer)
        reject(new Error(`ark engine exited with ${code}:\n${output}`))
      })
    })
    return { url, output: () => output, stop, kill: end("SIGKILL") }
  } catch (e) {
    await stop()
    throw e
  }
}
