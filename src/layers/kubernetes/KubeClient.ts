/**
 * The connection to a Kubernetes API server that the Kubernetes storage layer writes through:
 * in-cluster config, `$KUBECONFIG` (or ~/.kube/config) or an explicit kubeconfig, with whatever
 * credentials @kubernetes/client-node applies (client certificates, tokens, exec plugins).
 *
 * Requests are paced by a token bucket (client-go's QPS and burst), and a 429 (or a 5xx with
 * `Retry-After`, kube-apiserver's answer when it sheds load) is retried after the time the server
 * asks for, as client-go does, so a busy kube-apiserver slows ark down instead of failing it.
 * Watches hold a connection each, on an agent of their own, so they never queue behind requests.
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import { clientNode } from "../clientNode.ts"

/** The server could not be reached, or kept answering 429/5xx. */
export class KubeUnreachable extends Schema.TaggedError<KubeUnreachable>()("KubeUnreachable", {
  message: Schema.String
}) {}

export interface KubeAnswer {
  readonly status: number
  readonly body: string
}

export interface KubeClientOptions {
  /** A kubeconfig file; "" for client-node's default ($KUBECONFIG, ~/.kube/config, in cluster). */
  readonly kubeconfig: string
  /** Requests per second, sustained, and the burst above it (client-go: --kube-api-qps, --kube-api-burst). */
  readonly qps: number
  readonly burst: number
}

export class KubeClient extends Context.Service<KubeClient, {
  readonly server: string
  /** One JSON request; the answer whatever its status, except 429s retried as the server asks. */
  readonly request: (method: string, path: string, body?: unknown) => Effect.Effect<KubeAnswer, KubeUnreachable>
  /**
   * A watch: `onLine` gets each newline-delimited frame as it arrives (returning "stop" closes
   * it); succeeds when the stream ends, with the status the server answered (200 for a watch that ran).
   */
  readonly stream: (path: string, onLine: (line: string) => void | "stop", idleMillis: number) => Effect.Effect<KubeAnswer, KubeUnreachable>
}>()("ark-effect/layers/kubernetes/KubeClient") {}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Retries of one request the server answered 429 (client-go gives up after 10). */
const maxRetries = 10

/** A token bucket: `take` waits until a request may go. */
const bucket = (qps: number, burst: number) => {
  let tokens = burst
  let at = Date.now()
  return Effect.suspend(() => {
    const now = Date.now()
    tokens = Math.min(burst, tokens + ((now - at) / 1000) * qps)
    at = now
    tokens -= 1
    return tokens >= 0 ? Effect.void : Effect.sleep(Math.ceil((-tokens / qps) * 1000))
  })
}

/** Seconds the server asked to wait (`Retry-After`), 1 when it did not say. */
const retryAfter = (res: http.IncomingMessage) => {
  const s = Number(res.headers["retry-after"])
  return Number.isFinite(s) && s > 0 ? Math.min(s, 30) : 1
}

export const make = (options: KubeClientOptions) =>
  Effect.gen(function*() {
    const { KubeConfig } = yield* clientNode
    const what = options.kubeconfig === "" ? "the default kubeconfig" : `kubeconfig ${options.kubeconfig}`
    const config = yield* Effect.try({
      try: () => {
        const kc = new KubeConfig()
        if (options.kubeconfig === "") kc.loadFromDefault()
        else kc.loadFromFile(options.kubeconfig)
        return kc
      },
      catch: (e) => new KubeUnreachable({ message: `cannot read ${what}: ${messageOf(e)}` })
    })
    const server = config.getCurrentCluster()?.server
    if (server === undefined) return yield* new KubeUnreachable({ message: `${what} names no current cluster` })
    const base = new URL(server)
    const secure = base.protocol === "https:"
    const lib = secure ? https : http
    const requests = new lib.Agent({ keepAlive: true, maxSockets: 64 })
    const watches = new lib.Agent({ keepAlive: false })
    yield* Effect.addFinalizer(() => Effect.sync(() => {
      requests.destroy()
      watches.destroy()
    }))
    const pace = bucket(options.qps, options.burst)

    /** Sends one request; `onResponse` reads the answer. A connection silent for `idleMillis` is given up. */
    const send = <A>(
      method: string,
      path: string,
      body: unknown,
      agent: http.Agent,
      idleMillis: number,
      onResponse: (res: http.IncomingMessage, resolve: (a: A) => void, reject: (e: unknown) => void) => void
    ) =>
      Effect.tryPromise({
        try: async (signal) => {
          const payload = body === undefined ? undefined : JSON.stringify(body)
          const req: https.RequestOptions = {
            method,
            protocol: base.protocol,
            hostname: base.hostname.replace(/^\[|\]$/g, ""),
            port: base.port,
            path: `${base.pathname.replace(/\/+$/, "")}${path}`,
            agent,
            signal,
            headers: {
              accept: "application/json",
              ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
            }
          }
          if (secure) await config.applyToHTTPSOptions(req)
          return await new Promise<A>((resolve, reject) => {
            const r = lib.request(req, (res) => onResponse(res, resolve, reject))
            r.setTimeout(idleMillis, () => r.destroy(new Error(`no answer for ${Math.round(idleMillis / 1000)} s`)))
            r.on("error", reject)
            r.end(payload)
          })
        },
        catch: (e) => new KubeUnreachable({ message: `${method} ${server}${path}: ${messageOf(e)}` })
      })

    const readAll = (res: http.IncomingMessage, resolve: (a: KubeAnswer & { wait: number }) => void, reject: (e: unknown) => void) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), wait: retryAfter(res) }))
      res.on("error", reject)
    }

    const request = (method: string, path: string, body?: unknown) =>
      Effect.gen(function*() {
        for (let attempt = 0;; attempt++) {
          yield* pace
          // kube-apiserver ends a request at 60 s (--request-timeout): past that, the connection is dead.
          const answer = yield* send(method, path, body, requests, 70_000, readAll)
          const shed = answer.status === 429
          if (!shed || attempt >= maxRetries) {
            if (shed) return yield* new KubeUnreachable({ message: `${method} ${path}: still 429 after ${maxRetries} retries` })
            return { status: answer.status, body: answer.body }
          }
          yield* Effect.sleep(answer.wait * 1000)
        }
      })

    const stream = (path: string, onLine: (line: string) => void | "stop", idleMillis: number) =>
      pace.pipe(Effect.andThen(send<KubeAnswer>("GET", path, undefined, watches, idleMillis, (res, resolve, reject) => {
        if (res.statusCode !== 200) return readAll(res, resolve, reject)
        let buffer = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          buffer += chunk
          let nl: number
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl)
            buffer = buffer.slice(nl + 1)
            if (line.trim() !== "" && onLine(line) === "stop") {
              resolve({ status: 200, body: "" })
              res.destroy()
              return
            }
          }
        })
        res.on("end", () => resolve({ status: 200, body: "" }))
        res.on("close", () => resolve({ status: 200, body: "" }))
        res.on("error", reject)
      })))

    return KubeClient.of({ server, request, stream })
  })

export const layer = (options: KubeClientOptions): Layer.Layer<KubeClient, KubeUnreachable> => Layer.effect(KubeClient, make(options))
