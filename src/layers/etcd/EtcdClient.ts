/**
 * The etcd connection for the etcd configuration: one `etcd3` client (a gRPC channel per
 * endpoint, one multiplexed watch stream) as a scoped resource, checked with a read before
 * anything uses it so an unreachable cluster is reported at start-up, within seconds.
 */
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry } from "cockatiel"
import { Context, Effect, Layer, Schema } from "effect"
import type { Etcd3 } from "etcd3"
import * as tls from "node:tls"
import { redactUrl, scrub, urlSecrets } from "../../domain/redact.ts"

export class EtcdClient extends Context.Service<EtcdClient, Etcd3>()("ark-effect/layers/EtcdClient") {}

export class EtcdUnreachable extends Schema.TaggedError<EtcdUnreachable>()("EtcdUnreachable", {
  message: Schema.String
}) {}

export interface EtcdClientOptions {
  /** Client URLs of the cluster's members, e.g. `https://127.0.0.1:2379` (with `tls`) or `http://...`. */
  readonly endpoints: ReadonlyArray<string>
  /**
   * TLS as kube-apiserver's --etcd-cafile/--etcd-certfile/--etcd-keyfile: the members' CA (the
   * system's roots when absent) and a client certificate for members that check clients.
   */
  readonly tls?: { readonly ca?: Buffer | undefined; readonly cert?: Buffer | undefined; readonly key?: Buffer | undefined }
}

export const layer = (options: EtcdClientOptions): Layer.Layer<EtcdClient, EtcdUnreachable> =>
  Layer.effect(
    EtcdClient,
    Effect.gen(function*() {
      // Loaded here, not at start: only the etcd configuration pays for the gRPC client's memory.
      const { Etcd3, isRecoverableError } = yield* Effect.promise(() => import("etcd3"))
      const client = yield* Effect.acquireRelease(
        Effect.sync(() =>
          new Etcd3({
            hosts: [...options.endpoints],
            dialTimeout: 2_000,
            // etcd3's defaults retry three times at once and then shut an endpoint off for 5 s,
            // so one blip of a single-member cluster refused every request for 5 s. Retries back
            // off instead, and a failed endpoint is tried again after 250 ms.
            faultHandling: {
              global: retry(handleWhen(isRecoverableError), {
                maxAttempts: 3,
                backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 })
              }),
              host: () =>
                circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 250, breaker: new ConsecutiveBreaker(5) })
            },
            // An unpaginated LIST of many objects is one range response: no 4 MB cap on it.
            grpcOptions: { "grpc.max_receive_message_length": -1 },
            ...(options.tls === undefined ? {} : {
              credentials: {
                rootCertificate: options.tls.ca ?? Buffer.from(tls.rootCertificates.join("\n")),
                ...(options.tls.cert !== undefined ? { certChain: options.tls.cert } : {}),
                ...(options.tls.key !== undefined ? { privateKey: options.tls.key } : {})
              }
            })
          })
        ),
        (c) => Effect.sync(() => c.close())
      )
      // Endpoint URLs may carry credentials: messages show them redacted (gRPC's own text included).
      const shown = options.endpoints.map(redactUrl).join(",")
      const secrets = urlSecrets(options.endpoints)
      yield* Effect.tryPromise({
        try: () => client.kv.range({ key: Buffer.from("/"), limit: 1, keys_only: true }),
        catch: (e) =>
          new EtcdUnreachable({
            message: scrub(`etcd at ${shown} is unreachable: ${(e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim()}`, secrets)
          })
      }).pipe(
        Effect.timeoutOrElse({
          duration: "5 seconds",
          orElse: () => Effect.fail(new EtcdUnreachable({ message: `etcd at ${shown} did not answer within 5 s` }))
        })
      )
      return client
    })
  )
