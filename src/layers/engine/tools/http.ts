/**
 * Upstream's `http` tool: the URL's `{name}` placeholders filled from the call's arguments
 * (query-escaped), the method, headers (from literals, Secrets, ConfigMaps), and for POST/PUT/
 * PATCH the body template executed over the arguments and `bodyParameters`. The call has the
 * tool's timeout (30 s by default) and its answer is read up to a bound; a status of 400 or more
 * is a tool error that names it.
 */
import { Effect } from "effect"
import { parseGoDuration } from "../../../domain/duration.ts"
import { executeTemplate } from "../../../domain/queryInput.ts"
import type { RunnableTool } from "./runnableTool.ts"
import { argumentText, ToolFailed } from "./runnableTool.ts"

export interface HttpToolSpec {
  readonly url: string
  readonly method?: string
  readonly body?: string
  readonly timeout?: string
}

/** The most of an answer given to the model; the rest is cut (a model cannot use megabytes). */
const maxResponseBytes = 1024 * 1024

const timeoutMs = (timeout: string | undefined) =>
  timeout === undefined || timeout === "" ? 30_000 : /^\d+$/.test(timeout) ? Number(timeout) * 1000 : parseGoDuration(timeout) ?? 30_000

/** `{name}` placeholders of the URL filled with the query-escaped argument; unknown ones stay. */
const fillUrl = (template: string, args: Record<string, unknown>): string =>
  template.replace(/\{([^}]+)\}/g, (whole, name: string) =>
    Object.hasOwn(args, name) ? encodeURIComponent(argumentText(args[name])).replace(/%20/g, "+") : whole)

/** The body up to `maxResponseBytes`, and whether more was cut. */
const readBounded = async (response: Response): Promise<{ readonly text: string; readonly cut: boolean }> => {
  const reader = response.body?.getReader()
  if (reader === undefined) return { text: "", cut: false }
  const chunks: Array<Uint8Array> = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return { text: Buffer.concat(chunks).toString("utf8"), cut: false }
    chunks.push(value)
    size += value.byteLength
    if (size > maxResponseBytes) {
      await reader.cancel()
      return { text: Buffer.concat(chunks).subarray(0, maxResponseBytes).toString("utf8"), cut: true }
    }
  }
}

export const run = (
  spec: HttpToolSpec,
  headers: Readonly<Record<string, string>>,
  bodyParameters: ReadonlyMap<string, string>
): RunnableTool["run"] =>
(args) =>
  Effect.gen(function*() {
    const url = fillUrl(spec.url, args)
    const method = spec.method ?? "GET"
    let body: string | undefined
    if (spec.body !== undefined && spec.body !== "" && method !== "GET" && method !== "DELETE") {
      const data = new Map(bodyParameters)
      for (const [k, v] of Object.entries(args)) data.set(k, argumentText(v))
      const filled = executeTemplate(spec.body, data)
      if (filled._tag === "Unresolvable") return yield* new ToolFailed({ message: `the body template cannot be used: ${filled.message}` })
      body = filled.text
    }
    const limit = timeoutMs(spec.timeout)
    return yield* Effect.tryPromise({
      try: async (signal) => {
        const response = await fetch(url, {
          method,
          headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.any([signal, AbortSignal.timeout(limit)])
        })
        const { text, cut } = await readBounded(response)
        return { status: response.status, statusText: response.statusText, text, cut }
      },
      catch: (e) => {
        const timedOut = e instanceof DOMException && e.name === "TimeoutError"
        const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : ""
        return new ToolFailed({
          message: timedOut ? `${method} ${url} did not answer within ${limit} ms` : `${method} ${url} failed: ${e instanceof Error ? e.message : String(e)}${cause}`
        })
      }
    }).pipe(Effect.flatMap((r) =>
      r.status >= 400
        ? Effect.fail(new ToolFailed({ message: `HTTP error ${r.status} ${r.statusText} (URL: ${url})${r.text === "" ? "" : `: ${r.text.slice(0, 500)}`}` }))
        : Effect.succeed(r.cut ? `${r.text}\n[response cut at ${maxResponseBytes} bytes]` : r.text)
    ))
  })
