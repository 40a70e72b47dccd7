/**
 * Upstream Ark's Python SDK (PyPI `ark-sdk`) for interoperability tests: a virtual environment
 * with the pinned release is made on first use in `node_modules/.cache/ark-sdk/<version>` (pip
 * from PyPI), and an execution engine built on the SDK's BaseExecutor runs as a child process.
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdir, rename, rm } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const arkSdkVersion = "0.1.72"

const cacheRoot = fileURLToPath(new URL("../../node_modules/.cache/ark-sdk/", import.meta.url))

const run = (bin: string, args: ReadonlyArray<string>) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(bin, [...args], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (c: Buffer) => (output += c.toString()))
    child.stderr.on("data", (c: Buffer) => (output += c.toString()))
    child.on("error", reject)
    child.on("close", (code) => code === 0 ? resolve() : reject(new Error(`${bin} ${args.join(" ")} exited ${code}:\n${output}`)))
  })

/** The venv's python, with ark-sdk installed; made once per version. */
export const arkSdkPython = async (): Promise<string> => {
  const dir = join(cacheRoot, arkSdkVersion)
  const python = join(dir, "bin", "python")
  if (existsSync(python)) return python
  // Built aside and renamed into place, so a half-made venv is never used.
  const temp = join(cacheRoot, `.make-${process.pid}-${Math.random().toString(36).slice(2)}`)
  await mkdir(cacheRoot, { recursive: true })
  try {
    await run("python3", ["-m", "venv", temp])
    await run(join(temp, "bin", "pip"), ["install", "--quiet", `ark-sdk==${arkSdkVersion}`])
    await rename(temp, dir).catch((e: NodeJS.ErrnoException) => {
      if (!(e.code === "ENOTEMPTY" || e.code === "EEXIST")) throw e
    })
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
  return python
}

export interface RunningSdkEngine {
  readonly url: string
  readonly stop: () => Promise<void>
}

/** Runs `script` (an ExecutorApp) with `python`, on `port`, reading the cluster through `kubeconfig`. */
export const startSdkEngine = async (python: string, script: string, port: number, kubeconfig: string): Promise<RunningSdkEngine> => {
  const child = spawn(python, [script, String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, KUBECONFIG: kubeconfig, KUBERNETES_SERVICE_HOST: "" }
  })
  let output = ""
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      await exited
    }
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ark-sdk engine did not start:\n${output}`)), 60_000)
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (/Uvicorn running on/.test(output)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      child.once("exit", (code) => {
        clearTimeout(timer)
        reject(new Error(`the ark-sdk engine exited with ${code}:\n${output}`))
      })
    })
  } catch (e) {
    await stop()
    throw e
  }
  return { url: `http://127.0.0.1:${port}`, stop }
}
