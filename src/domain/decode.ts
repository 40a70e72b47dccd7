/**
 * Request bodies decoded with limits, so that no input can exhaust the stack of the recursive
 * code that handles objects afterwards (validation, patches, field sets, JSON.stringify): JSON and
 * YAML nest at most `maxDepth` levels. Sizes are bounded before this (3 MiB bodies) and after it
 * (1.5 MiB objects); YAML aliases are bounded by the yaml library's `maxAliasCount`, so an alias
 * bomb expands to nothing large.
 */
import YAML from "yaml"

/** Far deeper than any Ark object (a JSON schema nested 40 properties deep stays under it). */
export const maxDepth = 100

const tooDeep = () => new Error(`the object nests deeper than ${maxDepth} levels`)

/** Fails without parsing when brackets outside strings open deeper than `maxDepth`. */
const checkJsonDepth = (text: string) => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw tooDeep()
    } else if (c === 0x5d || c === 0x7d) depth--
  }
}

/**
 * Whether a value nests at most `maxDepth` levels, found without recursion: also for values
 * built from decoded ones (a JSON patch can nest an object in itself).
 */
export const withinDepth = (value: unknown): boolean => {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== "object" || v === null) continue
    if (depth >= maxDepth) return false
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1])
  }
  return true
}

/** JSON.parse with the depth limit; throws (with a message for the client) on bad or too deep input. */
export const parseJson = (text: string): unknown => {
  checkJsonDepth(text)
  return JSON.parse(text)
}

/** YAML.parse with the depth limit; throws on bad or too deep input (a parser stack overflow included). */
export const parseYaml = (text: string): unknown => {
  let value: unknown
  try {
    value = YAML.parse(text)
  } catch (e) {
    throw e instanceof RangeError ? tooDeep() : e
  }
  if (!withinDepth(value)) throw tooDeep()
  return value
}
