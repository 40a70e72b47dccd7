/**
 * The API server's TLS: TLS 1.2 and newer only, a serving certificate from files that is reloaded
 * when they change (kube's --tls-cert-file / --tls-private-key-file rotate without a restart),
 * and the CAs whose names the server sends when it asks for a client certificate (Go clients
 * send theirs only if its issuer is among them).
 */
import { Duration, Effect, Schedule, Schema } from "effect"
import { createPrivateKey, X509Certificate } from "node:crypto"
import { readFile, stat } from "node:fs/promises"
import type { Server as TlsServer } from "node:tls"

export class TlsError extends Schema.TaggedError<TlsError>()("TlsError", { message: Schema.String }) {}

export interface ServingFiles {
  readonly certFile: string
  readonly keyFile: string
}

export interface ServingPair {
  readonly cert: string
  readonly key: string
}

/** kube's default --max-header-bytes is 1 MiB; Node's is 16 KiB. Large enough for long bearer tokens and extra headers. */
export const maxHeaderBytes = 64 * 1024

/** The context options of a server with this certificate that asks for client certificates of `clientCas`. */
export const secureContext = (pair: ServingPair, clientCas: string) => ({
  cert: pair.cert,
  key: pair.key,
  ...(clientCas === "" ? {} : { ca: clientCas }),
  minVersion: "TLSv1.2" as const
})

/** Reads and checks a certificate and its key (they must parse and belong together). */
export const readServing = (files: ServingFiles) =>
  Effect.tryPromise({
    try: async (): Promise<ServingPair> => {
      const [cert, key] = await Promise.all([readFile(files.certFile, "utf8"), readFile(files.keyFile, "utf8")])
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) throw new Error("the key does not belong to the certificate")
      return { cert, key }
    },
    // The message names the files and what is wrong, never their content.
    catch: (e) => new TlsError({ message: `--tls-cert-file ${files.certFile} / --tls-private-key-file ${files.keyFile}: ${e instanceof Error ? e.message : String(e)}` })
  })

const fingerprint = (files: ServingFiles) =>
  Effect.promise(async () => {
    const stats = await Promise.all([stat(files.certFile), stat(files.keyFile)].map((p) => p.catch(() => undefined)))
    return stats.map((s) => (s === undefined ? "-" : `${s.mtimeMs}:${s.size}:${s.ino}`)).join("|")
  })

/**
 * The server's certificate and the client CAs it asks for. Either may change while it runs (a
 * rotated certificate, a new CA in kube's ConfigMap); the context is then swapped whole.
 */
export const liveContext = (server: TlsServer, pair: ServingPair, clientCas: string) => {
  let current = { pair, clientCas }
  const swap = (next: typeof current) => {
    current = next
    server.setSecureContext(secureContext(current.pair, current.clientCas))
  }
  return {
    serve: (pair: ServingPair) => swap({ ...current, pair }),
    askFor: (clientCas: string) => swap({ ...current, clientCas })
  }
}

export type LiveContext = ReturnType<typeof liveContext>

/**
 * Polls the files and swaps the server's certificate when they change. A half-written or mismatched
 * pair is skipped (and tried again on the files' next change), so a rotation never takes the server down.
 */
export const reloadServing = (live: LiveContext, files: ServingFiles, interval: Duration.Input = Duration.seconds(1)) =>
  Effect.gen(function*() {
    let seen = yield* fingerprint(files)
    const check = Effect.gen(function*() {
      const now = yield* fingerprint(files)
      if (now === seen) return
      seen = now
      const pair = yield* Effect.result(readServing(files))
      if (pair._tag === "Failure") return yield* Effect.logWarning("serving certificate not reloaded", pair.failure.message)
      live.serve(pair.success)
      yield* Effect.logInfo(`serving certificate reloaded from ${files.certFile}`)
    })
    return yield* Effect.repeat(check, Schedule.spaced(interval))
  })
