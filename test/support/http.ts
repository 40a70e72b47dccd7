/** Plain HTTP calls to a test server, and the assertion every bad-input test makes: a kube Status. */
import { expect } from "vitest"

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

export interface CallOptions {
  readonly body?: unknown
  readonly type?: string
  readonly accept?: string
  readonly headers?: Record<string, string>
}

/** A caller of the server at `url()` (read per call, so a restarted server can be swapped in). */
export const caller = (url: () => string) => async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
  const body = options.body === undefined
    ? undefined
    : typeof options.body === "string" || options.body instanceof Uint8Array
    ? options.body
    : JSON.stringify(options.body)
  const res = await fetch(`${url()}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { "content-type": options.type ?? "application/json" } : {}),
      ...(options.accept ? { accept: options.accept } : {}),
      ...options.headers
    },
    ...(body !== undefined ? { body } : {})
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

/** Asserts a kube Status failure and returns it. */
export const expectStatus = (a: Answer, code: number, reason: string) => {
  expect(a.status, a.text).toBe(code)
  expect(a.headers.get("content-type")).toContain("application/json")
  expect(a.json).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason })
  return a.json as { message: string; details?: { causes?: Array<{ field: string; reason: string; message: string }>; retryAfterSeconds?: number } }
}
