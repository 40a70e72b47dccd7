/**
 * A minimal Kubernetes REST client for tools that talk to any API server (`ark
 * migrate-resources`, the completions engine): JSON requests to a server named by a kubeconfig
 * (its current context, with whatever credentials @kubernetes/client-node knows how to apply:
 * client certificates, tokens, exec plugins; over https only), by client-node's defaults
 * ($KUBECONFIG, ~/.kube/config, or the pod's service account), or by a plain URL (no credentials).
 */
import { Effect, Schema } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import { clientNode } from "./clientNode.ts"

export class KubeRequestError extends Schema.TaggedError<KubeRequestError>()("KubeRequestError", {
  message: Schema.String
}) {}

export interface KubeResponse {
  readonly status: number
  readonly body: string
}

export interface KubeRestClient {
  /** The server's base URL. */
  readonly server: string
  /** `contentType` defaults to application/json (a PATCH names its patch type). */
  readonly request: (method: string, path: string, body?: unknown, contentType?: string) => Effect.Effect<KubeResponse, KubeRequestError>
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * A client for `target`: an http(s) URL, the path of a kubeconfig file, or "" for client-node's
 * default configuration ($KUBECONFIG, ~/.kube/config, in cluster).
 */
export const connect = (target: string): Effect.Effect<KubeRestClient, KubeRequestError> =>
  Effect.gen(function*() {
    const isUrl = /^https?:\/\//.test(target)
    const what = target === "" ? "the default kubeconfig" : `kubeconfig ${target}`
    const { KubeConfig } = isUrl ? { KubeConfig: undefined } : yield* clientNode
    const config = KubeConfig === undefined ? undefined : yield* Effect.try({
      try: () => {
        const kc = new KubeConfig()
        if (target === "") kc.loadFromDefault()
        else kc.loadFromFile(target)
        return kc
      },
      catch: (e) => new KubeRequestError({ message: `cannot read ${what}: ${message(e)}` })
    })
    const server = isUrl ? target.replace(/\/+$/, "") : config?.getCurrentCluster()?.server
    if (server === undefined) return yield* new KubeRequestError({ message: `${what} names no current cluster` })
    const base = new URL(server)
    const secure = base.protocol === "https:"
    // One keep-alive agent per server: a migration sends thousands of small requests.
    const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 16 }) : new http.Agent({ keepAlive: true, maxSockets: 16 })

    const request = (method: string, path: string, body?: unknown, contentType = "application/json") =>
      Effect.tryPromise({
        try: async (signal) => {
          const payload = body === undefined ? undefined : JSON.stringify(body)
          const options: https.RequestOptions = {
            method,
            protocol: base.protocol,
            hostname: base.hostname.replace(/^\[|\]$/g, ""),
            port: base.port,
            path: `${base.pathname.replace(/\/+$/, "")}${path}`,
            agent,
            signal,
            headers: {
              accept: "application/json",
              ...(payload === undefined ? {} : { "content-type": contentType, "content-length": Buffer.byteLength(payload) })
            }
          }
          // Credentials travel over TLS only (client-node refuses plain HTTP servers); an http server gets none.
          if (config !== undefined && secure) await config.applyToHTTPSOptions(options)
          return await new Promise<KubeResponse>((resolve, reject) => {
            const req = (secure ? https : http).request(options, (res) => {
              const chunks: Array<Buffer> = []
              res.on("data", (c: Buffer) => chunks.push(c))
              res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
              res.on("error", reject)
            })
            req.on("error", reject)
            req.end(payload)
          })
        },
        catch: (e) => new KubeRequestError({ message: `${method} ${server}${path}: ${message(e)}` })
      })

    return { server, request }
  })
