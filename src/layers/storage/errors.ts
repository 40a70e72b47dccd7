/**
 * The words of the failures every store answers alike (kube's storage/errors), so that a client
 * reads the same Status whichever store served it.
 */

/** A resourceVersion older than the store's compacted history. */
export const tooOldResourceVersion = (rv: string | bigint) => `too old resource version: ${rv}`

/** A continue token whose snapshot has been compacted away. */
export const expiredContinue =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."
