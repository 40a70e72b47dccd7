/**
 * The typed failures of ark-effect's services. Each maps to exactly one Kubernetes Status
 * (reason and HTTP code) in one place: src/layers/http/status.ts.
 */
import { Schema } from "effect"

const Cause = Schema.Struct({ reason: Schema.String, message: Schema.String, field: Schema.String })

/** Names a resource as kube's error details do: API group and plural. */
const ResourceFields = { group: Schema.String, resource: Schema.String, name: Schema.String }

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", ResourceFields) {}

export class AlreadyExists extends Schema.TaggedError<AlreadyExists>()("AlreadyExists", ResourceFields) {}

/** Optimistic-concurrency or precondition failure (409); `detail` follows kube's "Operation cannot be fulfilled on ...: ". */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  ...ResourceFields,
  detail: Schema.String
}) {}

export class Invalid extends Schema.TaggedError<Invalid>()("Invalid", {
  kind: Schema.String,
  group: Schema.String,
  name: Schema.String,
  causes: Schema.Array(Cause)
}) {}

/** A resourceVersion or continue token older than what is retained (410). */
export class Expired extends Schema.TaggedError<Expired>()("Expired", { message: Schema.String }) {}

/** An object or request body over the size limit (413). */
export class TooLarge extends Schema.TaggedError<TooLarge>()("TooLarge", { message: Schema.String }) {}

/** A malformed request (400): bad JSON, bad selector, undecodable continue token, URL/body mismatch. */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  message: Schema.String,
  causes: Schema.optional(Schema.Array(Cause))
}) {}

/** A resourceVersion newer than any the store has reached in time (kube answers 504). */
export class TooNewResourceVersion extends Schema.TaggedError<TooNewResourceVersion>()("TooNewResourceVersion", {
  message: Schema.String
}) {}

/** The store cannot be reached or keeps failing (503). */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { message: Schema.String }) {}

export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", {
  message: Schema.String
}) {}

export class NotAcceptable extends Schema.TaggedError<NotAcceptable>()("NotAcceptable", { message: Schema.String }) {}

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: Schema.String
}) {}

/**
 * A server-side apply that would change fields other managers own (409): kube's apply conflict,
 * with one `FieldManagerConflict` cause per field.
 */
export class FieldManagerConflict extends Schema.TaggedError<FieldManagerConflict>()("FieldManagerConflict", {
  message: Schema.String,
  causes: Schema.Array(Cause)
}) {}

/** No credentials proved who the caller is (401). */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }) {}

/**
 * The authorizer denied the request (403). Carries the request's attributes, from which
 * status.ts words kube's message; `resource` is empty for non-resource paths.
 */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  user: Schema.String,
  verb: Schema.String,
  group: Schema.String,
  resource: Schema.String,
  subresource: Schema.String,
  namespace: Schema.String,
  name: Schema.String,
  path: Schema.String,
  reason: Schema.String
}) {}

/** Too many requests in flight (429); the client retries after `retryAfterSeconds`. */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  retryAfterSeconds: Schema.Number
}) {}

/** A non-watch request that did not finish within the request timeout (504). */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()("RequestTimeout", { message: Schema.String }) {}

export type StorageError =
  | NotFound
  | AlreadyExists
  | Conflict
  | Invalid
  | Expired
  | TooLarge
  | BadRequest
  | TooNewResourceVersion
  | Unavailable

export type ApiError =
  | StorageError
  | MethodNotAllowed
  | NotAcceptable
  | UnsupportedMediaType
  | FieldManagerConflict
  | Unauthorized
  | Forbidden
  | TooManyRequests
  | RequestTimeout
