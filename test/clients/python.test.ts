/**
 * The official Python kubernetes client (PyPI `kubernetes`, pinned in test/support/python.ts)
 * against ark serve: its dynamic client discovers Agents, creates, gets, lists, patches, gets a
 * 422 for a bad name, deletes, and watches (it sends `watch=True`, which kube reads as a boolean).
 */
import { execFile } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { pythonKubernetes } from "../support/python.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

let server: RunningServer
let python: string
beforeAll(async () => {
  python = pythonKubernetes()
  server = await startServer({ insecureHttp: true })
}, 400_000)
afterAll(() => server?.stop())

describe("the Python kubernetes client", () => {
  it("discovers, creates, gets, lists, patches, is refused, deletes and watches", async () => {
    const { stdout } = await promisify(execFile)(python, [join(import.meta.dirname, "python_client.py"), server.url], { timeout: 60_000 })
    expect(JSON.parse(stdout)).toEqual({
      discovered: { name: "agents", namespaced: true, verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] },
      created: "py-agent",
      got: "from python",
      listed: ["py-agent"],
      patched: "patched",
      invalid: { status: 422, reason: "Invalid" },
      watched: [["MODIFIED", "py-agent"], ["DELETED", "py-agent"]]
    })
  }, 120_000)
})
