/**
 * Upstream's Python SDK, `ark-sdk` from PyPI, at a pinned version: a virtualenv made with
 * `python3 -m venv` in a cache folder outside the clone (keyed by the version, so a bump makes a
 * new one), into which pip installs the pinned package once. Later runs reuse it. And an
 * execution engine built on the SDK, run as a child process.
 */
import { execFile, spawn } from "node:child_process"
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

/** The ark-sdk this project is tested against: the newest on PyPI when pinned (December 2026); it needs Python >= 3.10. */
export const ARK_SDK_VERSION = "0.1.72"

const run = promisify(execFile)

const cacheRoot = join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "ark-effect")

/** The virtualenv's python, created and filled on first use (a ready marker guards against a half-made one). */
export const arkSdkPython = async (): Promise<string> => {
  const dir = join(cacheRoot, `ark-sdk-${ARK_SDK_VERSION}`)
  const python = join(dir, "bin", "python")
  if (existsSync(join(dir, ".ready"))) return python
  mkdirSync(cacheRoot, { recursive: true })
  // Built aside and renamed into place, so concurrent or interrupted runs never see a partial env.
  const temp = `${dir}.building-${process.pid}`
  rmSync(temp, { recursive: true, force: true })
  await run("python3", ["-m", "venv", temp])
  await run(join(temp, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", `ark-sdk==${ARK_SDK_VERSION}`], {
    maxBuffer: 16 * 1024 * 1024
  })
  writeFileSync(join(temp, ".ready"), `${ARK_SDK_VERSION}\n`)
  // The interpreter finds its venv through pyvenv.cfg beside it, so the moved env works as is
  // (only bin/ scripts such as pip keep the old path; this module runs `python -m` alone).
  rmSync(dir, { recursive: true, force: true })
  renameSync(temp, dir)
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
