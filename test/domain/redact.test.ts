import { describe, expect, it } from "vitest"
import { redactUrl, scrub, urlSecrets } from "../../src/domain/redact.ts"

describe("redaction of credentials in URLs", () => {
  it("hides passwords, keeps the rest, leaves non-URLs alone", () => {
    expect(redactUrl("http://u:s3cret@10.0.0.1:2379")).toBe("http://u:***@10.0.0.1:2379/")
    expect(redactUrl("postgres://ark:p%40ss@db/ark")).toBe("postgres://ark:***@db/ark")
    expect(redactUrl("http://10.0.0.1:2379")).toBe("http://10.0.0.1:2379")
    expect(redactUrl("not a url s3cret")).toBe("not a url s3cret")
  })

  it("scrubs a password from any text, as written and decoded", () => {
    const secrets = urlSecrets(["postgres://ark:p%40ss@db/ark", "http://10.0.0.1:2379"])
    expect(secrets).toEqual(["p%40ss", "p@ss"])
    expect(scrub("failed for dns:ark:p@ss@db and ark:p%40ss@db", secrets)).toBe("failed for dns:ark:***@db and ark:***@db")
  })
})
