/**
 * The window between a server's listen and its app being attached (Effect's Node server listens
 * first): a request that arrives then is answered by the app, body and all, instead of never.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "vitest"
import { holdEarlyRequests } from "../../src/layers/http/earlyRequests.ts"

describe("requests that arrive before the app is attached", () => {
  it("are held and answered by the app once it attaches", async () => {
    const server = holdEarlyRequests(createServer())
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/early`
    // The app attaches only after Node has parsed a request (the parser reads the socket's data first).
    server.once("connection", (socket) =>
      socket.once("data", () =>
        setImmediate(() =>
          server.on("request", (req, res) => {
            let body = ""
            req.on("data", (c: Buffer) => (body += c.toString()))
            req.on("end", () => res.end(`app saw ${req.method} ${req.url} with ${body}`))
          })
        )
      )
    )
    try {
      const res = await fetch(url, { method: "POST", body: "a body" })
      expect(res.status).toBe(200)
      expect(await res.text()).toBe("app saw POST /early with a body")
      const again = await fetch(url, { method: "POST", body: "later" })
      expect(await again.text()).toBe("app saw POST /early with later")
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
