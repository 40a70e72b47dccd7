/** The client binaries tests run against are the versions they claim to be. */
import { describe, expect, it } from "vitest"
import { kubectlBinaries, runKubectl } from "./support/kubectl.ts"

describe("kubectlBinaries", () => {
  it("provides kubectl 1.35", async () => {
    const { kubectl } = await kubectlBinaries()
    const result = await runKubectl(kubectl, ["version", "--client", "-o", "json"])
    expect(result.code, result.stderr).toBe(0)
    const version = JSON.parse(result.stdout) as { clientVersion: { major: string; minor: string; gitVersion: string } }
    expect(version.clientVersion.major).toBe("1")
    expect(version.clientVersion.minor).toBe("35")
    expect(version.clientVersion.gitVersion).toMatch(/^v1\.35\./)
  })

  it("provides kubectl 1.32 for the version-skew tests", async () => {
    const { kubectl } = await kubectlBinaries("v32")
    const result = await runKubectl(kubectl, ["version", "--client", "-o", "json"])
    expect(result.code, result.stderr).toBe(0)
    expect((JSON.parse(result.stdout) as { clientVersion: { minor: string } }).clientVersion.minor).toBe("32")
  })

  it("provides helm 4", async () => {
    const { helm } = await kubectlBinaries()
    const result = await runKubectl(helm, ["version", "--short"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toMatch(/^v4\./)
  })

  it("unpacks once and returns the same paths to concurrent callers", async () => {
    const [a, b] = await Promise.all([kubectlBinaries(), kubectlBinaries()])
    expect(a).toEqual(b)
  })
})
