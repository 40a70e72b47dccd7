/**
 * kubectl against one `ark serve`, as the engine's tests use it: apply Ark objects (YAML over
 * stdin) into a namespace, wait for a Query to finish, and read its Completed condition.
 */
import { expect } from "vitest"
import { stringify } from "yaml"
import { runKubectl } from "./kubectl.ts"

export const v1alpha1 = "ark.mckinsey.com/v1alpha1"

export const agent = (name: string, spec: Record<string, unknown>) => ({ apiVersion: v1alpha1, kind: "Agent", metadata: { name }, spec })
export const tool = (name: string, spec: Record<string, unknown>) => ({ apiVersion: v1alpha1, kind: "Tool", metadata: { name }, spec })
export const query = (name: string, spec: Record<string, unknown>) => ({ apiVersion: v1alpha1, kind: "Query", metadata: { name }, spec })

/** An OpenAI Model at `url` (a scripted server), its key a literal unless `apiKey` says otherwise. */
export const openAiModel = (url: string, name = "default", apiKey: Record<string, unknown> = { value: "sk-literal-test-key" }) => ({
  apiVersion: v1alpha1,
  kind: "Model",
  metadata: { name },
  spec: { provider: "openai", model: { value: "gpt-test" }, config: { openai: { baseUrl: { value: `${url}/v1` }, apiKey } } }
})

export const completed = (q: { status: { conditions: ReadonlyArray<{ type: string; message: string }> } }) =>
  q.status.conditions.find((c) => c.type === "Completed")!.message

export const arkClient = (kubectl: string, kubeconfig: string) => {
  const k = (args: ReadonlyArray<string>, input?: string) => runKubectl(kubectl, ["--kubeconfig", kubeconfig, ...args], input === undefined ? {} : { input })
  const apply = async (namespace: string, objects: ReadonlyArray<Record<string, unknown>>) => {
    const r = await k(["apply", "-n", namespace, "-f", "-"], objects.map((o) => stringify(o)).join("---\n"))
    expect(r.code, r.stderr).toBe(0)
  }
  /** Polls the Query until it is done or in error. */
  const finished = async (namespace: string, name: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const r = await k(["get", "-n", namespace, "query", name, "-o", "json"])
      expect(r.code, r.stderr).toBe(0)
      const q = JSON.parse(r.stdout)
      if (q.status?.phase === "done" || q.status?.phase === "error") return q
      if (Date.now() > deadline) throw new Error(`query ${namespace}/${name} stayed ${JSON.stringify(q.status)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  return { k, apply, finished }
}
