/**
 * Ark's admission as kube-apiserver webhooks (`admission.k8s.io/v1` AdmissionReview), for the
 * configuration where kube-apiserver serves Ark's CRDs from etcd: POST /mutate-<...> answers
 * with a JSONPatch of Ark's defaults, POST /validate-<...> allows or denies with kube's Invalid
 * Status. Paths follow upstream's (`/validate-ark-mckinsey-com-v1alpha1-query`); the kind is
 * taken from the review itself, so any suffix works.
 */
import { ByteSize, Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { MaxBodySize } from "effect/http/HttpIncomingMessage"
import { defaultAdmission, jsonPatchBetween, validateAdmission } from "../../domain/admission.ts"
import type { KubeObject } from "../../domain/object.ts"
import { isRecord } from "../../domain/object.ts"
import type { ResourceInfo } from "../../domain/registry.ts"
import { findResource, group as arkGroup } from "../../domain/registry.ts"
import { BadRequest, Invalid, MethodNotAllowed } from "../../services/errors.ts"
import type { ApiError } from "../../services/errors.ts"
import { maxRequestBytes } from "./ApiServer.ts"
import { requestUrl } from "./routes.ts"
import { notFoundPath, toStatus } from "./status.ts"

const reviewApiVersion = "admission.k8s.io/v1"

/** The webhook paths of one served kind, as upstream's kubebuilder markers name them. */
export const webhookPath = (mode: "mutate" | "validate", info: ResourceInfo) =>
  `/${mode}-${info.group.replace(/\./g, "-")}-${info.version}-${info.singular}`

interface AdmissionRequest {
  readonly uid: string
  readonly resource?: { readonly group?: string; readonly version?: string; readonly resource?: string }
  readonly subResource?: string
  readonly operation?: string
  readonly object?: unknown
}

const parseReview = (text: string) =>
  Effect.suspend(() => {
    let review: unknown
    try {
      review = JSON.parse(text)
    } catch (e) {
      return Effect.fail(new BadRequest({ message: `the body is not JSON: ${e instanceof Error ? e.message : String(e)}` }))
    }
    if (!isRecord(review) || review["kind"] !== "AdmissionReview" || review["apiVersion"] !== reviewApiVersion) {
      return Effect.fail(new BadRequest({ message: `expected an AdmissionReview of ${reviewApiVersion}` }))
    }
    const request = review["request"]
    if (!isRecord(request) || typeof request["uid"] !== "string") {
      return Effect.fail(new BadRequest({ message: "the AdmissionReview has no request with a uid" }))
    }
    return Effect.succeed(request as unknown as AdmissionRequest)
  })

const response = (uid: string, fields: Record<string, unknown>) =>
  HttpServerResponse.jsonUnsafe({ apiVersion: reviewApiVersion, kind: "AdmissionReview", response: { uid, ...fields } })

/**
 * One review: objects of other kinds, deletes and status writes are allowed untouched (the
 * webhook configuration should not send them; a misconfigured one must not block them).
 */
const review = (mode: "mutate" | "validate", request: AdmissionRequest) => {
  const r = request.resource
  const info = r?.group === arkGroup ? findResource(r.group, r.version ?? "", r.resource ?? "") : undefined
  const object = request.object
  if (info === undefined || !isRecord(object) || !isRecord(object["metadata"]) || request.subResource || request.operation === "DELETE") {
    return response(request.uid, { allowed: true })
  }
  const obj = object as KubeObject
  if (mode === "mutate") {
    const patch = jsonPatchBetween(obj, defaultAdmission(info, obj))
    return response(request.uid, {
      allowed: true,
      ...(patch.length > 0 ? { patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") } : {})
    })
  }
  const { causes, warnings } = validateAdmission(info, obj)
  const w = warnings.length > 0 ? { warnings } : {}
  if (causes.length === 0) return response(request.uid, { allowed: true, ...w })
  const status = toStatus(new Invalid({ kind: info.kind, group: info.group, name: obj.metadata.name ?? "", causes }))
  return response(request.uid, { allowed: false, status, ...w })
}

const failure = (e: ApiError) => {
  const status = toStatus(e)
  return HttpServerResponse.jsonUnsafe(status, { status: status.code })
}

/** The webhook server's app. */
export const webhookApp = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const path = requestUrl(request.url).pathname
  const mode = path.startsWith("/mutate") ? "mutate" : path.startsWith("/validate") ? "validate" : undefined
  if (mode === undefined) return HttpServerResponse.jsonUnsafe(notFoundPath(path), { status: 404 })
  if (request.method !== "POST") return failure(new MethodNotAllowed({ message: `the webhook takes POST only (${request.method})` }))
  return yield* request.text.pipe(
    Effect.provideService(MaxBodySize, ByteSize.bytes(maxRequestBytes)),
    Effect.mapError(() => new BadRequest({ message: "the request body could not be read" })),
    Effect.flatMap(parseReview),
    Effect.map((r) => review(mode, r)),
    Effect.catch((e: ApiError) => Effect.succeed(failure(e)))
  )
})
