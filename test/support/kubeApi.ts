/**
 * A test double of kube-apiserver for delegated authentication and authorization, over real
 * HTTPS: TokenReview, SubjectAccessReview and the ConfigMap
 * kube-system/extension-apiserver-authentication. It records every review it answers, so tests
 * see what was asked and how often (caching).
 */
import { writeFileSync } from "node:fs"
import { createServer } from "node:https"
import type { Server } from "node:https"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { stringify } from "yaml"
import type { Ca } from "./certs.ts"
import { issue, makeCa } from "./certs.ts"

export interface Review {
  readonly kind: "TokenReview" | "SubjectAccessReview"
  readonly spec: any
  readonly authorization: string | undefined
}

export interface KubeApiDouble {
  readonly url: string
  readonly reviews: Array<Review>
  /** Writes a kubeconfig for the double (trusting its CA, with a bearer token) into `dir`. */
  readonly kubeconfig: (dir: string) => string
  readonly close: () => Promise<void>
}

export interface KubeApiBehaviour {
  /** token -> user; other tokens are not authenticated. */
  readonly tokens: Record<string, { username: string; groups: ReadonlyArray<string> }>
  /** The SubjectAccessReview answer. */
  readonly decide: (spec: any) => { allowed: boolean; reason?: string }
  /** The data of extension-apiserver-authentication. */
  readonly configMap: Record<string, string>
}

const serviceAccountToken = "ark-service-account-token"

export const startKubeApi = async (behaviour: KubeApiBehaviour): Promise<KubeApiDouble> => {
  const ca: Ca = await makeCa("kube-test-ca")
  const serving = await issue(ca, { cn: "kube-apiserver", hosts: ["127.0.0.1"] })
  const reviews: Array<Review> = []
  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem, minVersion: "TLSv1.2" }, (req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const send = (code: number, body: unknown) => res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body))
      const authorization = req.headers.authorization
      if (authorization !== `Bearer ${serviceAccountToken}`) return send(401, { kind: "Status", code: 401 })
      if (req.method === "GET" && req.url === "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication") {
        return send(200, {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "extension-apiserver-authentication", namespace: "kube-system" },
          data: behaviour.configMap
        })
      }
      const body = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString("utf8"))
      if (req.method === "POST" && req.url?.startsWith("/apis/authentication.k8s.io/v1/tokenreviews")) {
        reviews.push({ kind: "TokenReview", spec: body.spec, authorization })
        const user = behaviour.tokens[body.spec?.token]
        return send(201, { ...body, status: user === undefined ? { authenticated: false } : { authenticated: true, user } })
      }
      if (req.method === "POST" && req.url?.startsWith("/apis/authorization.k8s.io/v1/subjectaccessreviews")) {
        reviews.push({ kind: "SubjectAccessReview", spec: body.spec, authorization })
        return send(201, { ...body, status: behaviour.decide(body.spec) })
      }
      send(404, { kind: "Status", code: 404 })
    })
  })
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))
  const url = `https://127.0.0.1:${port}`
  const kubeconfig = (dir: string) => {
    const file = join(dir, "kube-double.kubeconfig")
    writeFileSync(file, stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "kube", cluster: { server: url, "certificate-authority-data": Buffer.from(ca.certPem).toString("base64") } }],
      users: [{ name: "ark", user: { token: serviceAccountToken } }],
      contexts: [{ name: "kube", context: { cluster: "kube", user: "ark" } }],
      "current-context": "kube"
    }))
    return file
  }
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { url, reviews, kubeconfig, close }
}
