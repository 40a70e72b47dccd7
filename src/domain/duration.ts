/** Go's time.Duration text ("300ms", "1.5h", "2h45m"), as Ark's spec fields use it. */
const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Milliseconds, or undefined for text that is not a Go duration. */
export const parseGoDuration = (text: string): number | undefined => {
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text)
  if (text === "0") return 0
  if (m === null) return undefined
  let total = 0
  for (const part of text.replace(/^[-+]/, "").matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * units[part[2]!]!
  }
  return m[1] === "-" ? -total : total
}

/** Seconds with up to 3 decimals, as upstream writes status.duration ("1.234s"). */
export const formatSeconds = (ms: number): string => `${Number((ms / 1000).toFixed(3))}s`
