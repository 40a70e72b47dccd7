/** Two sockets joined both ways: what one sends the other gets; either's end or failure ends both. */
import type { AddressInfo, Socket } from "node:net"
import { connect, createServer } from "node:net"

export const pipeBoth = (a: Socket, b: Socket) => {
  a.pipe(b)
  b.pipe(a)
  a.on("error", () => b.destroy())
  b.on("error", () => a.destroy())
  a.on("close", () => b.destroy())
  b.on("close", () => a.destroy())
}

/**
 * A TCP proxy on 127.0.0.1 to `host:port` whose connections can all be cut at once: a network
 * fault between ark and its store, while both keep running.
 */
export const cuttableProxy = (host: string, port: number) =>
  new Promise<{ readonly port: number; readonly cut: () => number; readonly close: () => void }>((resolve) => {
    const open = new Set<Socket>()
    const server = createServer((client) => {
      const upstream = connect({ host, port })
      for (const s of [client, upstream]) {
        open.add(s)
        s.on("close", () => open.delete(s))
      }
      pipeBoth(client, upstream)
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        cut: () => {
          const n = open.size
          for (const s of open) s.destroy()
          return n
        },
        close: () => {
          server.close()
          for (const s of open) s.destroy()
        }
      }))
  })
