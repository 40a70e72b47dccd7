/**
 * Who `ark serve` lets in, assembled from the security flags: the serving certificate, the
 * authentication chain and the authorizer.
 *
 * - `--insecure-http` (loopback only) and `--auth off`: everyone is system:anonymous and allowed.
 * - In a cluster (`--authentication-kubeconfig`, or a pod's service account): client CAs, the
 *   front-proxy CA and its allowed names and headers come from the ConfigMap
 *   kube-system/extension-apiserver-authentication (flags override each), bearer tokens go to
 *   TokenReview; with `--authorization-kubeconfig` (or in a pod) every request is a
 *   SubjectAccessReview.
 * - Standalone: client certificates of the generated CA (or --client-ca-file) authenticate and
 *   every authenticated user is allowed (the CA's holder decides who gets a certificate).
 */
import type { KubeConfig } from "@kubernetes/client-node"
import { Config, Duration, Effect, Layer, Ref, Schedule, Schema } from "effect"
import { readFile } from "node:fs/promises"
import * as Authentication from "../layers/auth/Authentication.ts"
import { alwaysAllow, authenticatedUsers, subjectAccessReviews } from "../layers/auth/Authorization.ts"
import { parseBundle } from "../layers/auth/certificates.ts"
import { extensionAuthentication, loadKubeConfig } from "../layers/auth/KubeApi.ts"
import type { SecurityOptions } from "../layers/http/security.ts"
import type { Pki } from "../layers/Pki.ts"
import type { ServingFiles, ServingPair } from "../layers/Tls.ts"
import { readServing } from "../layers/Tls.ts"
import type { Authenticator } from "../services/Authenticator.ts"
import type { Authorizer } from "../services/Authorizer.ts"

export interface SecurityFlagValues {
  readonly tlsCertFile: string
  readonly tlsPrivateKeyFile: string
  readonly clientCaFile: string
  readonly requestheaderClientCaFile: string
  readonly requestheaderAllowedNames: string
  readonly requestheaderUsernameHeaders: string
  readonly requestheaderGroupHeaders: string
  readonly requestheaderExtraHeadersPrefix: string
  readonly authenticationKubeconfig: string
  readonly authorizationKubeconfig: string
  readonly auth: "on" | "off"
  readonly maxRequestsInflight: number
  readonly maxMutatingRequestsInflight: number
  readonly requestTimeout: Duration.Duration
}

export class SecurityConfigError extends Schema.TaggedError<SecurityConfigError>()("SecurityConfigError", {
  message: Schema.String
}) {}

export interface Security {
  readonly layer: Layer.Layer<Authenticator | Authorizer>
  /** Whether callers must authenticate (false: --auth off or --insecure-http). */
  readonly enforced: boolean
  /** PEM of the CAs whose client certificates the server asks for ("" for none), at start. */
  readonly clientCas: string
  /**
   * Re-reads the ConfigMap the CAs came from, applies a change to authentication, and passes the
   * new client CAs to `askFor` (the TLS context); undefined when nothing can change.
   */
  readonly watchTrust: ((askFor: (clientCas: string) => void) => Effect.Effect<void>) | undefined
  /** The serving certificate, and the files to watch for a new one (undefined: the generated PKI's). */
  readonly serving: { readonly pair: ServingPair; readonly files: ServingFiles | undefined } | undefined
  readonly limits: SecurityOptions
}

const list = (text: string) => text.split(",").map((s) => s.trim()).filter((s) => s !== "")

/** The ConfigMap keeps lists as JSON arrays of strings. */
const publishedList = (text: string): ReadonlyArray<string> => {
  try {
    const value: unknown = JSON.parse(text)
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []
  } catch {
    return []
  }
}

const readPem = (flag: string, file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) => new SecurityConfigError({ message: `--${flag} ${file}: ${e instanceof Error ? e.message : String(e)}` })
  })

const bundle = (what: string, pem: string) =>
  Effect.try({
    try: () => parseBundle(pem),
    catch: (e) => new SecurityConfigError({ message: `${what}: not a PEM certificate bundle (${e instanceof Error ? e.message : String(e)})` })
  })

/** A kubeconfig from the flag, or the pod's service account in a cluster, or none. */
const delegate = (file: string, inCluster: boolean) =>
  file !== ""
    ? Effect.map(loadKubeConfig(file), (kc): KubeConfig | undefined => kc)
    : inCluster
    ? Effect.map(loadKubeConfig(undefined), (kc): KubeConfig | undefined => kc)
    : Effect.succeed(undefined)

export const securitySetup = Effect.fn("securitySetup")(function*(
  o: SecurityFlagValues & { readonly insecureHttp: boolean },
  pki: Pki | undefined
) {
  const limits: SecurityOptions = {
    maxRequestsInflight: o.maxRequestsInflight,
    maxMutatingRequestsInflight: o.maxMutatingRequestsInflight,
    requestTimeout: o.requestTimeout
  }
  if ((o.tlsCertFile === "") !== (o.tlsPrivateKeyFile === "")) {
    return yield* new SecurityConfigError({ message: "--tls-cert-file and --tls-private-key-file go together" })
  }
  const files = o.tlsCertFile === "" ? undefined : { certFile: o.tlsCertFile, keyFile: o.tlsPrivateKeyFile }
  const serving = o.insecureHttp
    ? undefined
    : files !== undefined
    ? { pair: yield* readServing(files), files }
    : pki === undefined
    ? undefined
    : { pair: { cert: pki.serverCertPem, key: pki.serverKeyPem }, files: undefined }
  if (o.insecureHttp || o.auth === "off") {
    const open = Authentication.layer({ trust: Effect.succeed({ frontProxy: undefined, clientCa: [] }), tokenReview: undefined, anonymous: true })
    return { layer: Layer.merge(open, alwaysAllow), enforced: false, clientCas: "", serving, limits, watchTrust: undefined } satisfies Security
  }
  const inCluster = (yield* Config.String("KUBERNETES_SERVICE_HOST").pipe(Config.withDefault(""))) !== ""
  const authentication = yield* delegate(o.authenticationKubeconfig, inCluster)
  const authorization = yield* delegate(o.authorizationKubeconfig, inCluster)
  const clientCaFile = o.clientCaFile !== "" ? yield* readPem("client-ca-file", o.clientCaFile) : undefined
  const proxyCaFile = o.requestheaderClientCaFile !== "" ? yield* readPem("requestheader-client-ca-file", o.requestheaderClientCaFile) : undefined

  /** What the server trusts given the ConfigMap's data: the flags' files and values win over it. */
  const trustFrom = (published: Readonly<Record<string, string>>) =>
    Effect.gen(function*() {
      const clientCaPem = clientCaFile ?? (authentication !== undefined ? published["client-ca-file"] ?? "" : pki?.caCertPem ?? "")
      const proxyCaPem = proxyCaFile ?? published["requestheader-client-ca-file"] ?? ""
      const clientCa = yield* bundle("the client CA", clientCaPem)
      const proxyCa = yield* bundle("the requestheader client CA", proxyCaPem)
      const setting = (flag: string, key: string, fallback: ReadonlyArray<string>) =>
        flag !== "" ? list(flag) : published[key] !== undefined ? publishedList(published[key]) : fallback
      const trust: Authentication.Trust = {
        frontProxy: proxyCa.length === 0 ? undefined : {
          ca: proxyCa,
          allowedNames: setting(o.requestheaderAllowedNames, "requestheader-allowed-names", []),
          usernameHeaders: setting(o.requestheaderUsernameHeaders, "requestheader-username-headers", ["X-Remote-User"]),
          groupHeaders: setting(o.requestheaderGroupHeaders, "requestheader-group-headers", ["X-Remote-Group"]),
          extraHeaderPrefixes: setting(o.requestheaderExtraHeadersPrefix, "requestheader-extra-headers-prefix", ["X-Remote-Extra-"])
        },
        clientCa
      }
      return { trust, clientCas: [clientCaPem, proxyCaPem].filter((p) => p.trim() !== "").join("\n") }
    })

  const initial = yield* trustFrom(authentication === undefined ? {} : yield* extensionAuthentication(authentication))
  const current = yield* Ref.make(initial)
  const authenticator = Authentication.layer({ trust: Effect.map(Ref.get(current), (c) => c.trust), tokenReview: authentication, anonymous: false })
  const authorizer = authorization === undefined ? authenticatedUsers : subjectAccessReviews(authorization)
  const resync = yield* Config.Duration("ARK_AUTHENTICATION_CONFIGMAP_RESYNC").pipe(Config.withDefault(Duration.seconds(30)))
  // kube rotates its CAs by rewriting the ConfigMap: re-read it, and trust the new CAs without a restart.
  const watchTrust = authentication === undefined ? undefined : (askFor: (clientCas: string) => void) =>
    Effect.gen(function*() {
      const next = yield* trustFrom(yield* extensionAuthentication(authentication))
      const before = yield* Ref.get(current)
      if (next.clientCas === before.clientCas && JSON.stringify(next.trust.frontProxy, omitCa) === JSON.stringify(before.trust.frontProxy, omitCa)) return
      yield* Ref.set(current, next)
      askFor(next.clientCas)
      yield* Effect.logInfo("client CAs and front-proxy settings reloaded from kube-system/extension-apiserver-authentication")
    }).pipe(
      Effect.catch((e) => Effect.logWarning("extension-apiserver-authentication not reloaded", e.message)),
      Effect.repeat(Schedule.spaced(resync)),
      Effect.asVoid
    )
  return { layer: Layer.merge(authenticator, authorizer), enforced: true, clientCas: initial.clientCas, serving, limits, watchTrust } satisfies Security
})

/** Compares front-proxy settings without the parsed certificates (their PEM is compared apart). */
const omitCa = (key: string, value: unknown) => (key === "ca" ? undefined : value)
