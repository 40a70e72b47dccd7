/**
 * chart/files/crds.yaml is the committed output of `ark crds` (the chart installs it with
 * storage.backend=etcd): it must never drift from the schemas. Regenerate it with
 *   node src/programs/main.ts crds > chart/files/crds.yaml
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")

describe("chart/files/crds.yaml", () => {
  it("equals the output of `ark crds`", () => {
    const ark = spawnSync(process.execPath, [join(root, "src", "programs", "main.ts"), "crds"], { encoding: "utf8" })
    expect(ark.status, ark.stderr).toBe(0)
    expect(readFileSync(join(root, "chart", "files", "crds.yaml"), "utf8")).toBe(ark.stdout)
  })
})
