/**
 * Sends every Ark object of an upstream Ark checkout through `kubectl apply --dry-run=server`
 * against an ark-effect server, one object at a time, and prints which were refused and why: the
 * run behind "every valid upstream sample applies unchanged" in docs/upstream-compatibility.md.
 * For upstream's expected refusals it lists the objects accepted instead.
 *
 *   node scripts/upstream-manifests.ts <upstream checkout> [kubectl flags, e.g. --kubeconfig k]
 *
 * The objects: every document of `samples/`, and in `tests/` the files chainsaw steps `apply` or
 * `create` (globs expanded), and those its `error` steps name (upstream's expected refusals,
 * reported apart). `assert` files are partial objects and are skipped. Each object is applied in
 * namespace `upstream-manifests` (its own namespace dropped, as chainsaw's bindings would set it).
 */
import { spawnSync } from "node:child_process"
import { existsSync, globSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { parseAllDocuments } from "yaml"

const [root, ...kubectlFlags] = process.argv.slice(2)
if (root === undefined || !existsSync(join(root, "samples"))) {
  process.stderr.write("usage: node scripts/upstream-manifests.ts <upstream checkout> [kubectl flags]\n")
  process.exit(2)
}

type Role = "sample" | "test" | "refused by upstream's test"

const walk = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

/** The documents of a YAML file that parse to objects (some upstream files are Go or Helm templates). */
const documents = (file: string): Array<Record<string, unknown>> => {
  try {
    return parseAllDocuments(readFileSync(file, "utf8"))
      .map((d) => d.toJSON() as unknown)
      .filter((d): d is Record<string, unknown> => typeof d === "object" && d !== null && !Array.isArray(d))
  } catch {
    return []
  }
}

const files = new Map<string, Role>()
for (const file of walk(join(root, "samples"))) if (/\.ya?ml$/.test(file)) files.set(file, "sample")
for (const chainsaw of walk(join(root, "tests")).filter((f) => f.endsWith("chainsaw-test.yaml"))) {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit)
    if (typeof node !== "object" || node === null) return
    for (const [key, value] of Object.entries(node)) {
      const file = (value as { file?: unknown } | null)?.file
      if (["apply", "create", "error"].includes(key) && typeof file === "string") {
        for (const path of globSync(join(dirname(chainsaw), file))) {
          if (key === "error") files.set(path, files.get(path) ?? "refused by upstream's test")
          else files.set(path, "test")
        }
      }
      visit(value)
    }
  }
  documents(chainsaw).forEach(visit)
}

const results = new Map<Role, { accepted: Array<string>; refused: Array<string> }>()
for (const [file, role] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  for (const doc of documents(file)) {
    if (typeof doc["apiVersion"] !== "string" || !doc["apiVersion"].startsWith("ark.mckinsey.com/")) continue
    const metadata = { ...(doc["metadata"] as Record<string, unknown> | undefined) }
    delete metadata["namespace"]
    const r = spawnSync("kubectl", [...kubectlFlags, "apply", "--dry-run=server", "-n", "upstream-manifests", "-f", "-"], {
      input: JSON.stringify({ ...doc, metadata }),
      encoding: "utf8"
    })
    const tally = results.get(role) ?? { accepted: [], refused: [] }
    results.set(role, tally)
    const object = `${relative(root, file)} ${String(doc["kind"])}/${String(metadata["name"])}`
    if (r.status === 0) tally.accepted.push(object)
    else tally.refused.push(`${object}: ${r.stderr.trim().split("\n")[0]}`)
  }
}
for (const [role, { accepted, refused }] of results) {
  const listed = role === "refused by upstream's test" ? accepted : refused
  process.stdout.write(`${role}: ${accepted.length} accepted, ${refused.length} refused\n${listed.map((l) => `  ${l}\n`).join("")}`)
}
