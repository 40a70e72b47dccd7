/** A TCP port on 127.0.0.1 that was free a moment ago (bound, then released). */
import { createServer } from "node:net"

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
