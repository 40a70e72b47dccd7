/** A TCP port on 127.0.0.1 that was free a moment ago (bound, then released). */
import type { IncomingMessage } from "node:http"
import { createServer } from "node:net"

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

/** A whole HTTP answer as a test reads it: status, headers, body text, and the body as JSON when it is JSON. */
export interface Answer {
  readonly status: number
  readonly headers: IncomingMessage["headers"]
  readonly text: string
  readonly json: any
}

export const readAnswer = (res: IncomingMessage) =>
  new Promise<Answer>((resolve, reject) => {
    let text = ""
    res.setEncoding("utf8")
    res.on("data", (c: string) => (text += c))
    res.on("error", reject)
    res.on("end", () => {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
    })
  })
