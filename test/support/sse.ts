/** A raw server-sent-events client for tests: each `data:` event as it arrives, with when it arrived. */
import { request } from "node:http"

export interface SseEvent {
  readonly data: string
  /** performance.now() when it arrived. */
  readonly at: number
}

export interface OpenSse {
  readonly status: number
  readonly contentType: string
  readonly events: Array<SseEvent>
  /** Resolves when the server ended the response. */
  readonly ended: Promise<void>
  readonly waitFor: (predicate: (events: ReadonlyArray<SseEvent>) => boolean, timeoutMs?: number) => Promise<void>
  readonly close: () => void
}

export const openSse = (base: string, path: string): Promise<OpenSse> =>
  new Promise((resolve, reject) => {
    const events: Array<SseEvent> = []
    const waiters = new Set<() => void>()
    let endedResolve!: () => void
    const ended = new Promise<void>((r) => (endedResolve = r))
    const req = request(new URL(path, base), { headers: { accept: "text/event-stream" }, agent: false }, (res) => {
      let buffer = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n")
          if (data !== "") events.push({ data, at: performance.now() })
        }
        for (const w of waiters) w()
      })
      res.on("end", () => {
        endedResolve()
        for (const w of waiters) w()
      })
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers["content-type"] ?? ""),
        events,
        ended,
        waitFor: (predicate, timeoutMs = 30_000) =>
          new Promise<void>((done, fail) => {
            const check = () => {
              if (predicate(events)) {
                waiters.delete(check)
                clearTimeout(timer)
                done()
              }
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`SSE condition not met within ${timeoutMs} ms; events: ${events.map((e) => e.data).join(" / ")}`))
            }, timeoutMs)
            waiters.add(check)
            check()
          }),
        close: () => req.destroy()
      })
    })
    req.on("error", reject)
    req.end()
  })
