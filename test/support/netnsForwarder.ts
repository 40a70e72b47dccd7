/**
 * Runs inside a test cluster's network namespace (`ip netns exec N node netnsForwarder.ts ...`) and
 * carries TCP across the namespace's boundary through Unix sockets, which network namespaces do
 * not separate:
 * - `in <socket>`: each connection to the Unix socket starts with a line `host:port`; the rest is
 *   piped to that address inside the namespace (the test process reaches kube-apiserver and ark).
 * - `out <socket>`: listens on 127.0.0.1 inside the namespace (a free port, printed on stdout) and
 *   pipes each connection to the Unix socket, which the test process serves (ark replicas in the
 *   namespace reach the test run's PostgreSQL).
 * It exits when its parent's pipe closes, so it never outlives the harness.
 */
import { connect, createServer } from "node:net"
import type { AddressInfo, Socket } from "node:net"

const [mode, socketPath] = process.argv.slice(2)
if ((mode !== "in" && mode !== "out") || socketPath === undefined) {
  console.error("usage: netnsForwarder.ts in|out <unix socket>")
  process.exit(2)
}

const pipeBoth = (a: Socket, b: Socket) => {
  a.pipe(b)
  b.pipe(a)
  a.on("error", () => b.destroy())
  b.on("error", () => a.destroy())
  a.on("close", () => b.destroy())
  b.on("close", () => a.destroy())
}

if (mode === "in") {
  createServer((client) => {
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const newline = head.indexOf(10)
      if (newline < 0) return
      client.off("data", onData)
      client.pause()
      const [host, port] = head.subarray(0, newline).toString().split(":")
      const target = connect({ host, port: Number(port) }, () => {
        const rest = head.subarray(newline + 1)
        if (rest.length > 0) target.write(rest)
        pipeBoth(client, target)
        client.resume()
      })
      target.on("error", () => client.destroy())
    }
    client.on("data", onData)
    client.on("error", () => {})
  }).listen(socketPath, () => console.log("ready"))
} else {
  const server = createServer((client) => {
    const target = connect({ path: socketPath })
    pipeBoth(client, target)
  })
  server.listen(0, "127.0.0.1", () => console.log(`port ${(server.address() as AddressInfo).port}`))
}
process.stdin.on("end", () => process.exit(0))
process.stdin.resume()
