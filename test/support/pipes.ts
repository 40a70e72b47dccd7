/** Two sockets joined both ways: what one sends the other gets; either's end or failure ends both. */
import type { Socket } from "node:net"

export const pipeBoth = (a: Socket, b: Socket) => {
  a.pipe(b)
  b.pipe(a)
  a.on("error", () => b.destroy())
  b.on("error", () => a.destroy())
  a.on("close", () => b.destroy())
  b.on("close", () => a.destroy())
}
