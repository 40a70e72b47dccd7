import { describe, expect, it } from "vitest"
import { formatSeconds, parseGoDuration } from "../../src/domain/duration.ts"

describe("parseGoDuration", () => {
  it.each([
    ["5m", 300_000],
    ["30s", 30_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["300ms", 300],
    ["0", 0],
    ["-2s", -2000]
  ])("%s is %d ms", (text, ms) => expect(parseGoDuration(text)).toBe(ms))

  it.each(["", "5", "m", "5 minutes", "1d", "5mm"])("rejects %j", (text) => expect(parseGoDuration(text)).toBeUndefined())

  it("formats seconds as upstream writes status.duration", () => {
    expect(formatSeconds(1234)).toBe("1.234s")
    expect(formatSeconds(2000)).toBe("2s")
  })
})
