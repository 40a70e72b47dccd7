/**
 * Flags of `ark serve` for TLS, authentication, authorization and request limits, named as
 * kube-apiserver's (and the generic extension API server's) are; each also an `ARK_*` variable.
 * Empty strings mean "not given": in a cluster the ConfigMap
 * kube-system/extension-apiserver-authentication fills them in, standalone the generated PKI.
 */
import { Config, Duration, Option } from "effect"
import { Flag } from "effect/cli"
import { parseGoDuration } from "../domain/duration.ts"
import { choice, env } from "./flags.ts"

const text = (name: string, variable: string, description: string) =>
  env(Flag.String(name), Config.String(variable), "", `${description} (${variable})`)

export const tlsCertFile = text(
  "tls-cert-file",
  "ARK_TLS_CERT_FILE",
  "Serving certificate (PEM, with intermediates); reloaded when it changes. Default: the generated one in --data-dir"
)

export const tlsPrivateKeyFile = text("tls-private-key-file", "ARK_TLS_PRIVATE_KEY_FILE", "Key of --tls-cert-file (PEM)")

export const clientCaFile = text(
  "client-ca-file",
  "ARK_CLIENT_CA_FILE",
  "CA bundle for client certificates (CN = user, O = groups). Default: the ConfigMap's in a cluster, else the generated CA"
)

export const requestheaderClientCaFile = text(
  "requestheader-client-ca-file",
  "ARK_REQUESTHEADER_CLIENT_CA_FILE",
  "CA bundle of the front proxy (kube-apiserver's aggregator) whose certificates may assert users in request headers"
)

export const requestheaderAllowedNames = text(
  "requestheader-allowed-names",
  "ARK_REQUESTHEADER_ALLOWED_NAMES",
  "Common names a front-proxy certificate may carry, comma-separated; empty allows any the CA signed"
)

export const requestheaderUsernameHeaders = text(
  "requestheader-username-headers",
  "ARK_REQUESTHEADER_USERNAME_HEADERS",
  "Headers naming the user, comma-separated, first present wins (default X-Remote-User)"
)

export const requestheaderGroupHeaders = text(
  "requestheader-group-headers",
  "ARK_REQUESTHEADER_GROUP_HEADERS",
  "Headers naming groups, comma-separated (default X-Remote-Group)"
)

export const requestheaderExtraHeadersPrefix = text(
  "requestheader-extra-headers-prefix",
  "ARK_REQUESTHEADER_EXTRA_HEADERS_PREFIX",
  "Prefixes of headers carrying extra user attributes, comma-separated (default X-Remote-Extra-)"
)

export const authenticationKubeconfig = text(
  "authentication-kubeconfig",
  "ARK_AUTHENTICATION_KUBECONFIG",
  "kubeconfig of the kube-apiserver that reviews bearer tokens (TokenReview) and publishes its client CAs; in a pod: the service account"
)

export const authorizationKubeconfig = text(
  "authorization-kubeconfig",
  "ARK_AUTHORIZATION_KUBECONFIG",
  "kubeconfig of the kube-apiserver that authorizes requests (SubjectAccessReview); in a pod: the service account"
)

export const auth = choice(
  "auth",
  "ARK_AUTH",
  ["on", "off"],
  "on",
  "off: serve TLS without authentication or authorization, to anyone who can connect (ARK_AUTH)"
)

export const maxRequestsInflight = env(
  Flag.Int("max-requests-inflight"),
  Config.Int("ARK_MAX_REQUESTS_INFLIGHT"),
  400,
  "Non-mutating requests served at once (watches excepted); more get 429. 0: no limit (ARK_MAX_REQUESTS_INFLIGHT)"
)

export const maxMutatingRequestsInflight = env(
  Flag.Int("max-mutating-requests-inflight"),
  Config.Int("ARK_MAX_MUTATING_REQUESTS_INFLIGHT"),
  200,
  "Creates, updates, patches and deletes served at once; more get 429. 0: no limit (ARK_MAX_MUTATING_REQUESTS_INFLIGHT)"
)

export const requestTimeout = env(
  Flag.String("request-timeout"),
  Config.String("ARK_REQUEST_TIMEOUT"),
  "60s",
  "Time a request other than a watch may take before it is answered 504 (ARK_REQUEST_TIMEOUT)"
).pipe(Flag.filterMap(
  (value) => {
    const ms = parseGoDuration(value)
    return ms === undefined || ms <= 0 ? Option.none() : Option.some(Duration.millis(ms))
  },
  (value) => `invalid --request-timeout "${value}": a positive duration such as 60s or 1m`
))

export const securityFlags = {
  tlsCertFile,
  tlsPrivateKeyFile,
  clientCaFile,
  requestheaderClientCaFile,
  requestheaderAllowedNames,
  requestheaderUsernameHeaders,
  requestheaderGroupHeaders,
  requestheaderExtraHeadersPrefix,
  authenticationKubeconfig,
  authorizationKubeconfig,
  auth,
  maxRequestsInflight,
  maxMutatingRequestsInflight,
  requestTimeout
}
