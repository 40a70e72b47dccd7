/**
 * LIST paging every store shares (kube's ValidateListOptions and storage/continue.go): where a
 * LIST starts, checked before a store reads (a continue token's snapshot and position, an Exact
 * or NotOlderThan resourceVersion, or the newest state), and the page it answers. A store
 * supplies only its token's codec version and position.
 */
import { Effect } from "effect"
import { isResourceVersion } from "../../domain/lifecycle.ts"
import { BadRequest } from "../../services/errors.ts"
import type { ListOptions, ListResult } from "../../services/Storage.ts"
import { decodeContinue, encodeContinue, invalidContinue } from "./continueToken.ts"

/** `resourceVersion` is the client's text (as its messages quote it), `rv` its value. */
export type ListStart<P> =
  | { readonly _tag: "Continue"; readonly rv: bigint; readonly position: P }
  | { readonly _tag: "Exact"; readonly rv: bigint; readonly resourceVersion: string }
  | { readonly _tag: "NotOlderThan"; readonly rv: bigint; readonly resourceVersion: string }
  | { readonly _tag: "Newest" }

export const listStart = <P>(
  opts: ListOptions,
  continueVersion: string,
  position: (fields: Record<string, unknown>) => P | undefined
): Effect.Effect<ListStart<P>, BadRequest> =>
  Effect.suspend((): Effect.Effect<ListStart<P>, BadRequest> => {
    if (opts.continue !== undefined && opts.continue !== "") {
      const token = decodeContinue(opts.continue, continueVersion, position)
      return token === undefined
        ? Effect.fail(invalidContinue())
        : Effect.succeed({ _tag: "Continue", rv: token.rv, position: token.position })
    }
    const rv = opts.resourceVersion ?? ""
    if (rv !== "" && !isResourceVersion(rv)) return Effect.fail(new BadRequest({ message: `invalid resource version "${rv}"` }))
    if (opts.resourceVersionMatch === "Exact") {
      return rv === "" || rv === "0"
        ? Effect.fail(new BadRequest({ message: "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"\" or \"0\"" }))
        : Effect.succeed({ _tag: "Exact", rv: BigInt(rv), resourceVersion: rv })
    }
    return Effect.succeed(rv === "" ? { _tag: "Newest" } : { _tag: "NotOlderThan", rv: BigInt(rv), resourceVersion: rv })
  })

/**
 * The page of a LIST at `rv` from its first items in key order (up to `limit` + 1 of them): with
 * more than `limit`, a token continues after the page's last item.
 */
export const pageOf = <A>(
  items: ReadonlyArray<A>,
  limit: number | undefined,
  rv: bigint,
  continueVersion: string,
  text: (item: A) => string,
  position: (item: A) => Record<string, string>
): ListResult => {
  const more = limit !== undefined && items.length > limit
  const page = more ? items.slice(0, limit) : items
  const last = page[page.length - 1]
  return {
    resourceVersion: rv.toString(),
    items: page.map(text),
    ...(more && last !== undefined ? { continue: encodeContinue(continueVersion, rv, position(last)) } : {})
  }
}
