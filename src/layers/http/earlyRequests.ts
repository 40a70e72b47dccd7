/**
 * Effect's Node server listens while its layer is built, and the app is attached later (once the
 * port is known and the kubeconfig written). Node drops a `request` event that nobody listens to,
 * leaving that client without an answer, so a request arriving in that window is held and handed
 * to the app as soon as the app attaches.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"

type Listener = (req: IncomingMessage, res: ServerResponse) => void

export const holdEarlyRequests = <S extends Server>(server: S): S => {
  const held: Array<readonly [IncomingMessage, ServerResponse]> = []
  const hold: Listener = (req, res) => void held.push([req, res])
  const attach = (event: string | symbol, listener: Listener) => {
    if (event !== "request") return
    server.off("request", hold)
    server.off("newListener", attach)
    // After `on` returns, so the app is registered before it sees the held requests.
    process.nextTick(() => {
      for (const [req, res] of held.splice(0)) listener(req, res)
    })
  }
  server.on("request", hold)
  server.on("newListener", attach)
  return server
}
