/**
 * The watch baseline: the least a Node HTTP server can do to fan an event out. Watches (any GET)
 * stay open as chunked responses; a POST is answered 201 with its body, which then goes to every
 * open watch as an ADDED frame, written synchronously in one loop. No storage, no selectors, no
 * Effect. It runs as its own process, as `ark serve` does, and prints its URL like it.
 */
import { createServer } from "node:http"
import type { ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

const watches = new Set<ServerResponse>()
const server = createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" })
    res.write("")
    watches.add(res)
    req.on("close", () => watches.delete(res))
    return
  }
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("end", () => {
    const body = Buffer.concat(parts)
    res.writeHead(201, { "content-type": "application/json" }).end(body)
    const frame = Buffer.concat([Buffer.from('{"type":"ADDED","object":'), body, Buffer.from("}\n")])
    for (const w of watches) w.write(frame)
  })
})
process.on("SIGTERM", () => process.exit(0))
server.listen(0, "127.0.0.1", () => process.stdout.write(`ark: serving http://127.0.0.1:${(server.address() as AddressInfo).port}\n`))
