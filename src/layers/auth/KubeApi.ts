/**
 * The three kube-apiserver calls delegated authentication and authorization need, through
 * @kubernetes/client-node: TokenReview, SubjectAccessReview, and the ConfigMap
 * `kube-system/extension-apiserver-authentication` where kube publishes its client CAs.
 */
import type { KubeConfig, V1SubjectAccessReview, V1TokenReview } from "@kubernetes/client-node"
import { Effect, Schema } from "effect"
import { clientNode } from "../clientNode.ts"

export class KubeApiError extends Schema.TaggedError<KubeApiError>()("KubeApiError", { message: Schema.String }) {}

/**
 * What went wrong, without what was sent: client-node's errors may quote request bodies, which
 * hold tokens.
 */
const describe = (what: string, e: unknown) => {
  const code = typeof e === "object" && e !== null && "code" in e ? (e as { code: unknown }).code : undefined
  const cause = typeof code === "number" ? `HTTP ${code}` : typeof code === "string" ? code : e instanceof Error ? e.name : "failed"
  return new KubeApiError({ message: `${what}: ${cause}` })
}

/** A kubeconfig file, or the pod's service account when `file` is undefined. */
export const loadKubeConfig = (file: string | undefined) =>
  Effect.flatMap(clientNode, ({ KubeConfig }) =>
    Effect.try({
      try: () => {
        const kc = new KubeConfig()
        if (file === undefined) kc.loadFromCluster()
        else kc.loadFromFile(file)
        return kc
      },
      catch: (e) =>
        new KubeApiError({
          message: `loading ${file === undefined ? "the in-cluster configuration" : `kubeconfig ${file}`}: ${e instanceof Error ? e.message : String(e)}`
        })
    }))

export const tokenReview = (kc: KubeConfig) =>
  Effect.map(clientNode, ({ AuthenticationV1Api }) => {
    const api = kc.makeApiClient(AuthenticationV1Api)
    return (token: string) =>
      Effect.tryPromise({
        try: (): Promise<V1TokenReview> =>
          api.createTokenReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } } }),
        catch: (e) => describe("TokenReview", e)
      })
  })

export const subjectAccessReview = (kc: KubeConfig) =>
  Effect.map(clientNode, ({ AuthorizationV1Api }) => {
    const api = kc.makeApiClient(AuthorizationV1Api)
    return (spec: V1SubjectAccessReview["spec"]) =>
      Effect.tryPromise({
        try: (): Promise<V1SubjectAccessReview> =>
          api.createSubjectAccessReview({ body: { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec } }),
        catch: (e) => describe("SubjectAccessReview", e)
      })
  })

/** The data of `kube-system/extension-apiserver-authentication`. */
export const extensionAuthentication = (kc: KubeConfig) =>
  Effect.flatMap(clientNode, ({ CoreV1Api }) =>
    Effect.tryPromise({
      try: async (): Promise<Readonly<Record<string, string>>> =>
        (await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: "kube-system", name: "extension-apiserver-authentication" }))
          .data ?? {},
      catch: (e) => describe("reading ConfigMap kube-system/extension-apiserver-authentication", e)
    }))
