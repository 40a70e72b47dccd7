/**
 * The official Python kubernetes client, pinned, in a virtualenv made from PyPI on first use
 * and kept in a cache directory outside the clone (ARK_TEST_CACHE, else ~/.cache/ark-effect),
 * so later runs start at once. Needs python3 with venv and access to PyPI the first time.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"

/** The client version the tests are written against. */
export const pythonKubernetesVersion = "37.0.2"

/** The venv's python, after creating the venv and installing the client when they are missing. */
export const pythonKubernetes = (): string => {
  const cache = process.env["ARK_TEST_CACHE"] ?? join(homedir(), ".cache", "ark-effect")
  const venv = join(cache, `py-kubernetes-${pythonKubernetesVersion}`)
  const python = join(venv, "bin", "python")
  const ready = join(venv, ".installed")
  if (!existsSync(ready)) {
    // A half-made venv (an install that was cut off) is made again.
    rmSync(venv, { recursive: true, force: true })
    mkdirSync(cache, { recursive: true })
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" })
    execFileSync(python, ["-m", "pip", "install", "--quiet", `kubernetes==${pythonKubernetesVersion}`], { stdio: "inherit", timeout: 300_000 })
    writeFileSync(ready, `kubernetes==${pythonKubernetesVersion}\n`)
  }
  return python
}
