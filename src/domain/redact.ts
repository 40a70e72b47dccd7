/**
 * Credentials kept out of messages: what ark prints or logs names endpoints and databases
 * without the passwords their URLs may carry.
 */

/** The URL with its password (if any) replaced by `***`; text that is no URL comes back as given. */
export const redactUrl = (text: string): string => {
  try {
    const url = new URL(text)
    if (url.password === "") return text
    url.password = "***"
    return url.toString()
  } catch {
    return text
  }
}

/** The passwords in these URLs, as written and decoded: what must not appear in a message about them. */
export const urlSecrets = (urls: ReadonlyArray<string>): ReadonlyArray<string> =>
  urls.flatMap((text) => {
    try {
      const password = new URL(text).password
      if (password === "") return []
      let decoded = password
      try {
        decoded = decodeURIComponent(password)
      } catch {
        // kept as written
      }
      return [...new Set([password, decoded])]
    } catch {
      return []
    }
  })

/** `text` with every occurrence of each secret replaced by `***`. */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((t, secret) => (secret === "" ? t : t.split(secret).join("***")), text)
