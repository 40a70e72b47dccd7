/**
 * The acknowledged-write checker of the crash tests: writers create objects as fast as the
 * server takes them, through any fault; every create answered 201 is acknowledged and must be
 * found afterwards. Every other answer is counted by status, so a test can say which ones a
 * fault may cause (a 503 while the database is down) and which never (a 500).
 */
import type { caller } from "./http.ts"

export interface WriteRecord {
  /** Names whose create was answered 201. */
  readonly acknowledged: ReadonlySet<string>
  /** Answers by HTTP status; 0 for a request that got no answer (connection cut). */
  readonly answers: ReadonlyMap<number, number>
  /** Whether every 503 carried a Retry-After header. */
  readonly retryAfterOn503: boolean
}

const path = "/apis/ark.mckinsey.com/v1alpha1/namespaces/default/agents"

/** Starts `count` writers; `stop` ends them and reports. */
export const startWriters = (call: ReturnType<typeof caller>, prefix: string, count = 4) => {
  const acknowledged = new Set<string>()
  const answers = new Map<number, number>()
  let retryAfterOn503 = true
  let running = true
  let n = 0
  const writer = async () => {
    while (running) {
      const name = `${prefix}-${n++}`
      const answer = await call("POST", path, {
        body: { apiVersion: "ark.mckinsey.com/v1alpha1", kind: "Agent", metadata: { name }, spec: { prompt: "p" } }
      }).catch(() => undefined)
      const status = answer?.status ?? 0
      answers.set(status, (answers.get(status) ?? 0) + 1)
      if (status === 201) acknowledged.add(name)
      if (status === 503 && answer?.headers.get("retry-after") === null) retryAfterOn503 = false
      // A refused connection answers at once: pace the retries so the loop stays cheap.
      if (status !== 201) await new Promise((r) => setTimeout(r, 50))
    }
  }
  const all = Array.from({ length: count }, writer)
  return {
    acknowledgedSoFar: () => acknowledged.size,
    stop: async (): Promise<WriteRecord> => {
      running = false
      await Promise.all(all)
      return { acknowledged, answers, retryAfterOn503 }
    }
  }
}

/** The names of every stored Agent in namespace default. */
export const storedNames = async (call: ReturnType<typeof caller>): Promise<ReadonlySet<string>> => {
  const list = await call("GET", path)
  return new Set((list.json.items as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name))
}
