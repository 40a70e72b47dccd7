/**
 * Derives the property set of upstream Ark's CRDs (github.com/mckinsey/agents-at-scale-ark,
 * ark/config/crd/bases/*.yaml) into test/fixtures/upstream-properties.json, the record that
 * test/domain/upstream-compatibility.test.ts compares `ark crds` against.
 *
 *   node scripts/upstream-properties.ts <dir of upstream CRD YAML files> <upstream commit> > test/fixtures/upstream-properties.json
 *
 * Only what makes two CRDs wire-compatible is kept (names, scope, versions, printer columns and,
 * per schema node, type, format, enum, required, default and the x-kubernetes-* markers);
 * descriptions and length/pattern limits are not compared.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import { crdProperties } from "../src/domain/crdProperties.ts"

const [dir, commit] = process.argv.slice(2)
if (dir === undefined || commit === undefined) {
  process.stderr.write("usage: node scripts/upstream-properties.ts <crd dir> <upstream commit>\n")
  process.exit(2)
}
const kinds = readdirSync(dir)
  .filter((file) => file.endsWith(".yaml"))
  .sort()
  .map((file) => crdProperties(parse(readFileSync(join(dir, file), "utf8"))))
process.stdout.write(`${JSON.stringify({ upstream: "github.com/mckinsey/agents-at-scale-ark", commit, kinds }, null, 1)}\n`)
