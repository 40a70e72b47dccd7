/** A raw HTTP watch for tests: frames as they arrive, waiting for conditions, closing by itself. */
import { request } from "node:http"

export interface Frame {
  readonly type: string
  readonly object: any
}

export interface OpenWatch {
  readonly status: number
  readonly frames: Array<Frame>
  /** Resolves when the server ended the response. */
  readonly ended: Promise<void>
  readonly waitFor: (predicate: (frames: ReadonlyArray<Frame>) => boolean, timeoutMs?: number) => Promise<void>
  readonly close: () => void
}

export const openWatch = (base: string, path: string, headers: Record<string, string> = {}): Promise<OpenWatch> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, base)
    const frames: Array<Frame> = []
    const waiters = new Set<() => void>()
    let endedResolve!: () => void
    const ended = new Promise<void>((r) => (endedResolve = r))
    // Its own connection, as watch clients hold one per watch; an open that gets no answer fails.
    const req = request(url, { headers, agent: false, timeout: 10_000 }, (res) => {
      let buffer = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        buffer += chunk
        let nl: number
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          if (line.trim() !== "") frames.push(JSON.parse(line) as Frame)
        }
        for (const w of waiters) w()
      })
      res.on("end", () => {
        endedResolve()
        for (const w of waiters) w()
      })
      res.on("error", () => endedResolve())
      res.on("close", () => {
        endedResolve()
        for (const w of waiters) w()
      })
      resolve({
        status: res.statusCode ?? 0,
        frames,
        ended,
        waitFor: (predicate, timeoutMs = 10_000) =>
          new Promise<void>((ok, fail) => {
            const check = () => {
              if (predicate(frames)) {
                waiters.delete(check)
                clearTimeout(timer)
                ok()
              }
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`watch condition not met in ${timeoutMs} ms; frames: ${JSON.stringify(frames.map((f) => [f.type, f.object?.metadata?.name, f.object?.metadata?.resourceVersion]))}`))
            }, timeoutMs)
            waiters.add(check)
            check()
          }),
        close: () => req.destroy()
      })
    })
    // Before a response this fails the open; after it (close()), the promise is settled already.
    req.on("error", reject)
    req.on("timeout", () => req.destroy(new Error("watch open timed out")))
    req.end()
  })
