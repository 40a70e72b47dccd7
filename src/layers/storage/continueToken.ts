/**
 * The continue-token codec both stores share (kube's storage/continue.go): base64url JSON naming
 * the codec version, the snapshot rv of the list's first page, and the store's keyset position.
 * A token is the client's to send back, so anything in it may be forged: the rv must be an int64
 * above 0 and a position must be well formed, or the token is refused (400) before a store reads it.
 */
import { BadRequest } from "../../services/errors.ts"
import { maxInt64 } from "../../domain/lifecycle.ts"

export interface ContinueToken<P> {
  /** The snapshot every page of the list is read at. */
  readonly rv: bigint
  /** Where the next page starts, in the store's own terms. */
  readonly position: P
}

export const invalidContinue = () => new BadRequest({ message: "continue key is not valid" })

export const encodeContinue = (version: string, rv: bigint, position: Record<string, string>): string =>
  Buffer.from(JSON.stringify({ v: version, rv: rv.toString(), ...position })).toString("base64url")

/** The token's rv and position, or undefined when it is not one this codec version wrote. */
export const decodeContinue = <P>(
  token: string,
  version: string,
  position: (fields: Record<string, unknown>) => P | undefined
): ContinueToken<P> | undefined => {
  let fields: unknown
  try {
    fields = JSON.parse(Buffer.from(token, "base64url").toString("utf8"))
  } catch {
    return undefined
  }
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) return undefined
  const t = fields as Record<string, unknown>
  if (t["v"] !== version || typeof t["rv"] !== "string" || !/^\d{1,19}$/.test(t["rv"])) return undefined
  const rv = BigInt(t["rv"])
  if (rv <= 0n || rv > maxInt64) return undefined
  const p = position(t)
  return p === undefined ? undefined : { rv, position: p }
}
