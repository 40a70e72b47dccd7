/**
 * Where one CRD outline (crdProperties.ts) differs from another, as readable lines: the kinds,
 * versions, printer columns and schema nodes upstream has that ours lacks or spells otherwise,
 * and the nodes ours adds. Empty when they agree.
 */
import type { KindOutline } from "./crdProperties.ts"

const json = (value: unknown) => JSON.stringify(value)

export const crdDrift = (upstream: ReadonlyArray<KindOutline>, ours: ReadonlyArray<KindOutline>): Array<string> => {
  const out: Array<string> = []
  for (const u of upstream) {
    const o = ours.find((k) => k.kind === u.kind)
    if (o === undefined) {
      out.push(`${u.kind}: kind not served`)
      continue
    }
    for (const key of ["plural", "scope", "shortNames"] as const) {
      if (json(u[key]) !== json(o[key])) out.push(`${u.kind}: ${key} ${json(u[key])}, ours ${json(o[key])}`)
    }
    for (const uv of u.versions) {
      const ov = o.versions.find((v) => v.name === uv.name)
      const at = `${u.kind}/${uv.name}`
      if (ov === undefined) {
        out.push(`${at}: version not served`)
        continue
      }
      for (const key of ["served", "storage", "subresources", "printerColumns"] as const) {
        if (json(uv[key]) !== json(ov[key])) out.push(`${at}: ${key} ${json(uv[key])}, ours ${json(ov[key])}`)
      }
      for (const [path, node] of Object.entries(uv.nodes)) {
        const mine = ov.nodes[path]
        if (mine === undefined) out.push(`${at}: ${path} missing (upstream ${json(node)})`)
        else if (json(node) !== json(mine)) out.push(`${at}: ${path} upstream ${json(node)}, ours ${json(mine)}`)
      }
      for (const path of Object.keys(ov.nodes)) if (uv.nodes[path] === undefined) out.push(`${at}: ${path} not upstream's`)
    }
    for (const ov of o.versions) {
      if (!u.versions.some((v) => v.name === ov.name)) out.push(`${u.kind}/${ov.name}: version not upstream's`)
    }
  }
  return out
}
