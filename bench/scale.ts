/**
 * Scale curves: CREATE at growing client counts and at a steady offered rate, and a LIST page
 * (limit 500) as the stored total grows from 10k to 1M objects, with the server's memory at
 * each point and with 1,000 idle watchers at 100k objects.
 */
import type pg from "pg"
import type { ClientRequest } from "node:http"
import type { Measure } from "./lib.ts"
import { expectStatus, http, measure, path, progress, query, request, rssMb } from "./lib.ts"

export interface CurvePoint extends Measure {
  readonly concurrency: number
  readonly serverRssMb: number
}

/** CREATE bursts at each client count, each into its own namespace. */
export const createCurve = async (base: URL, pid: number, concurrencies: ReadonlyArray<number>, count: number) => {
  const points: Array<CurvePoint> = []
  for (const c of concurrencies) {
    const m = await measure(count, c, (i) => http(base, "POST", path(`burst-${c}`), query(`burst-${c}`, `q-${i}`)).then(expectStatus(201)), `create burst c=${c}`)
    points.push({ ...m, concurrency: c, serverRssMb: Math.round(rssMb(pid)) })
  }
  return points
}

export interface Sustained {
  readonly offeredPerSec: number
  readonly achievedPerSec: number
  readonly seconds: number
  readonly p50: number
  readonly p99: number
  /** The server's RSS at the end (0 in results written before it was recorded). */
  readonly serverRssMb: number
  /** Requests that got no answer (connection refused or reset); absent in older results. */
  readonly errors?: number
}

/**
 * CREATE at a fixed offered rate (open loop: each request is sent at its scheduled time whether
 * or not earlier ones have answered), so latency shows queueing rather than hiding it.
 */
export const sustainedCreate = async (base: URL, pid: number, ratePerSec: number, seconds: number): Promise<Sustained> => {
  const total = Math.round(ratePerSec * seconds)
  const latencies: Array<number> = []
  let errors = 0
  const started = performance.now()
  const inFlight: Array<Promise<void>> = []
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / ratePerSec
    const wait = due - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    const sent = performance.now()
    // A connection refused or reset under this load is counted, not fatal (an open loop keeps sending).
    inFlight.push(http(base, "POST", path("sustained"), query("sustained", `q-${i}`)).then((r) => {
      expectStatus(201)(r)
      latencies.push(performance.now() - sent)
    }, () => void errors++))
    if (i % 200 === 0) progress(`create at ${ratePerSec}/s`, i, total)
  }
  await Promise.all(inFlight)
  progress(`create at ${ratePerSec}/s`, total, total)
  process.stderr.write("\n")
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!
  return { offeredPerSec: ratePerSec, achievedPerSec: latencies.length / elapsed, seconds: elapsed, p50: at(0.5), p99: at(0.99), serverRssMb: Math.round(rssMb(pid)), errors }
}

/**
 * Adds stored Queries (or objects of another resource) straight into the table (the seeding is not what is measured): copies of
 * one Query created through the API, each with its own name, uid and resourceVersion, in one
 * statement per 50,000 rows. Triggers are off for the session, so the copies are not enqueued.
 */
export const seedCopies = async (db: pg.Pool, namespace: string, template: string, from: number, to: number, resource = "ark.mckinsey.com/queries") => {
  const client = await db.connect()
  try {
    await client.query("SET session_replication_role = replica")
    const t = (await client.query<{ rv: string; uid: string; data: string; labels: string }>(
      `SELECT rv::text AS rv, uid::text AS uid, data, labels::text AS labels FROM ark_objects
       WHERE resource = $3 AND namespace = $1 AND name = $2 AND superseded_rv IS NULL`,
      [namespace, template, resource]
    )).rows[0]!
    for (let a = from; a < to; a += 50_000) {
      const b = Math.min(to, a + 50_000) - 1
      await client.query(
        `WITH s AS (SELECT i, nextval('ark_rv') AS rv, gen_random_uuid() AS uid FROM generate_series($1::int, $2::int) i)
         INSERT INTO ark_objects (rv, resource, namespace, name, event, uid, labels, data)
         SELECT s.rv, $9, $3, 'p-' || lpad(s.i::text, 7, '0'), 0, s.uid, $4::jsonb,
                replace(replace(replace($5::text,
                  '"name":"' || $6 || '"', '"name":"p-' || lpad(s.i::text, 7, '0') || '"'),
                  $7::text, s.uid::text),
                  '"resourceVersion":"' || $8 || '"', '"resourceVersion":"' || s.rv || '"')
         FROM s`,
        [a, b, namespace, t.labels, t.data, template, t.uid, t.rv, resource]
      )
      progress(`seeding ${namespace}`, b + 1, to)
    }
    process.stderr.write("\n")
    // Settled as after a day of normal writes: visibility map set, statistics current.
    await client.query("VACUUM ANALYZE ark_objects")
    await client.query("CHECKPOINT")
  } finally {
    client.release()
  }
}

export interface PagePoint {
  readonly objects: number
  /** The first page of a consistent LIST. */
  readonly first: Measure
  /** Following pages, each from the previous page's continue token. */
  readonly next: Measure
  readonly serverRssMb: number
}

/** LIST pages of 500 at the current total: the first page, then a walk of continue tokens. */
export const pageLatency = async (base: URL, pid: number, namespace: string, objects: number, samples: number): Promise<PagePoint> => {
  const listPath = `${path(namespace)}?limit=500`
  const first = await measure(samples, 1, () => http(base, "GET", listPath).then(expectStatus(200)), `LIST page, ${objects} objects`)
  let token = ""
  const next = await measure(samples, 1, async () => {
    const body = await getJson(base, token === "" ? listPath : `${listPath}&continue=${encodeURIComponent(token)}`)
    token = body.metadata?.continue ?? ""
  }, `LIST next pages, ${objects} objects`)
  return { objects, first, next, serverRssMb: Math.round(rssMb(pid)) }
}

const getJson = (base: URL, p: string) =>
  new Promise<{ metadata?: { continue?: string; resourceVersion?: string } }>((resolve, reject) => {
    const req = request(base, { path: p }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (text += c))
      res.on("end", () => res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`HTTP ${res.statusCode}`)))
    })
    req.on("error", reject)
    req.end()
  })

/**
 * The server's memory with `watchers` open watches (from the newest resourceVersion, as an
 * informer resumes after its LIST) on a namespace of `objects` stored objects, after a few writes.
 */
export const idleWatchersRss = async (base: URL, pid: number, namespace: string, watchers: number) => {
  const rv = (await getJson(base, `${path(namespace)}?limit=1`)).metadata?.resourceVersion ?? ""
  const open = await Promise.all(Array.from({ length: watchers }, () =>
    new Promise<ClientRequest>((resolve, reject) => {
      const req = request(base, { path: `${path(namespace)}?watch=true&resourceVersion=${rv}`, ownConnection: true }, (res) => {
        res.on("error", () => undefined)
        res.resume()
        resolve(req)
      })
      req.on("error", reject)
      req.end()
    })))
  for (let i = 0; i < 20; i++) expectStatus(201)(await http(base, "POST", path(namespace), query(namespace, `w-${i}`)))
  await new Promise((r) => setTimeout(r, 500))
  const serverRssMb = Math.round(rssMb(pid))
  for (const r of open) r.destroy()
  return { watchers, serverRssMb }
}
