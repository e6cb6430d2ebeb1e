// `workers: 2`: the gateway as users run it (node dist/server.js), a primary and two worker
// processes sharing the client listener. Answers say which worker served them
// (workers.debugHeader); the admin API is the primary's.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import type { IncomingMessage } from 'node:http'
import { send, startBackend, type TestBackend } from './helpers/gateway.js'
import { configFile, exited, run, PROCESS_MS, type Run } from './helpers/process.js'
import { waitFor, within } from './helpers/wait.js'
import { parseScrape } from './helpers/metrics.js'

interface Gateway { r: Run, url: string, admin: string, primary: number }

/** A gateway with 2 workers and the debug header over `backends`; stopped (SIGTERM) at teardown. */
async function start (t: Test, backends: TestBackend[], extra = '', pool = ''): Promise<Gateway> {
  const yaml = `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
workers: { count: 2, debugHeader: true }
log: { access: false }
shutdown: { timeout: 5s }
${extra}pools:
  web:
${pool}    backends:
${backends.map((b) => `      - url: ${b.url}\n`).join('')}`
  const r = run(['--config', configFile(t.testdir(), yaml)])
  t.teardown(async () => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return
    r.child.kill('SIGTERM')
    await exited(r)
  })
  const line = await within(r.readyLine, { timeoutMs: PROCESS_MS, message: 'the gateway logged "gateway ready"', seen: r.stderr })
  return { r, url: `http://127.0.0.1:${line.port as number}`, admin: `http://127.0.0.1:${line.adminPort as number}`, primary: r.child.pid! }
}

/** `n` requests, each on a new connection, `lanes` at a time; the workers that answered, counted. */
async function spread (url: string, n: number, lanes = 8): Promise<{ statuses: number[], byWorker: Map<string, number> }> {
  const statuses: number[] = []
  const byWorker = new Map<string, number>()
  let left = n
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (left-- > 0) {
      const reply = await send(url + '/')
      statuses.push(reply.status)
      const w = String(reply.headers['x-gateway-worker'])
      byWorker.set(w, (byWorker.get(w) ?? 0) + 1)
    }
  }))
  return { statuses, byWorker }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function getJson (url: string): Promise<any> {
  const r = await send(url)
  if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}: ${r.text}`)
  return JSON.parse(r.text)
}

interface WorkerRow { worker: number, pid: number | null, state: string, restarts: number, requests: number | null }
async function workers (g: Gateway): Promise<WorkerRow[]> {
  return (await getJson(`${g.admin}/admin/workers`)).workers as WorkerRow[]
}

/** The parent pid of `pid`, from /proc (Linux). */
function parentOf (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('requests from many connections reach both workers, each a child process of the gateway', async (t) => {
  const b = await startBackend(t, 'b1')
  const g = await start(t, [b])
  const { statuses, byWorker } = await spread(g.url, 60)
  t.same([...new Set(statuses)], [200], 'every request answered')
  t.same([...byWorker.keys()].sort(), ['1', '2'], `both workers answered (${JSON.stringify([...byWorker])})`)
  const rows = await workers(g)
  t.equal(rows.length, 2)
  for (const w of rows) {
    t.equal(w.state, 'ready')
    t.equal(parentOf(w.pid!), g.primary, `worker ${w.worker} (pid ${w.pid}) is a child of the gateway's process`)
  }
  t.equal(rows.reduce((n, w) => n + (w.requests ?? 0), 0), 60, 'the requests the workers counted add up to those sent')
  const pool = (await getJson(`${g.admin}/admin/pools/web`))
  t.equal(pool.backends[0].requests, 60, 'GET /admin/pools sums the workers\' requests per backend')
})

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error === undefined

t.test('/metrics on the admin listener adds up every worker\'s series, with the names of a single process', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const g = await start(t, [a, b])
  const { byWorker } = await spread(g.url, 50)
  t.equal(byWorker.size, 2, 'both workers served')
  const m = parseScrape((await send(`${g.admin}/metrics`)).text)
  t.equal(m.value('gateway_requests_total'), 50, 'requests counted by both workers add up to the requests sent')
  t.equal(m.value('gateway_requests_total', { backend: `127.0.0.1:${a.port}` }), a.seen.length, 'per backend too')
  t.equal(m.count('gateway_request_duration_seconds'), 50, 'histograms are summed bucket by bucket')
  t.equal(m.value('gateway_backend_up', { backend: `127.0.0.1:${a.port}` }), 1, 'a backend up everywhere is 1, not one per process')
  t.equal(m.value('gateway_in_flight_requests'), 0)
  t.ok(m.value('process_cpu_seconds_total') > 0, 'process metrics are there, summed over the processes')
  if (!promtool) {
    t.comment('promtool is not installed (Debian package prometheus; .ci/run installs it): not checked')
    return
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: m.text, encoding: 'utf8' })
  const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '')
  t.not(r.status, 1, `promtool: no parse error (${problems.join('; ') || 'nothing'})`)
  t.same(problems.filter((l) => l.includes('gateway_')), [], 'promtool: no lint problem in gateway_* metrics')
})

t.test('consistent hashing sends a key to the same backend whichever worker takes the connection', async (t) => {
  const backends = [await startBackend(t, 'a'), await startBackend(t, 'b'), await startBackend(t, 'c')]
  const g = await start(t, backends, '', '    algorithm: { name: consistent-hash, key: { header: x-user } }\n')
  for (const user of ['alice', 'bob', 'carol']) {
    const answers = new Map<string, Set<string>>()
    let left = 30
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (left-- > 0) {
        const r = await send(g.url + '/', { headers: { 'x-user': user } })
        const w = String(r.headers['x-gateway-worker'])
        if (!answers.has(w)) answers.set(w, new Set())
        answers.get(w)!.add(r.text)
      }
    }))
    t.equal(answers.size, 2, `${user}: both workers answered`)
    const all = new Set([...answers.values()].flatMap((x) => [...x]))
    t.equal(all.size, 1, `${user}: one backend (${[...all].join(', ')}) from every worker`)
  }
})

t.test('an admin drain is honoured by every worker', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const g = await start(t, [a, b])
  const drain = await send(`${g.admin}/admin/pools/web/backends/127.0.0.1:${a.port}/drain`, { method: 'POST' })
  t.equal(drain.status, 202)
  // The primary sends the change to the workers after it answers: wait until both logged it.
  await waitFor(() => g.r.lines.filter((l) => l.msg === 'backend draining' && l.worker !== undefined).length === 2,
    { message: 'both workers drained the backend', timeoutMs: PROCESS_MS })
  const before = a.seen.length
  const { statuses, byWorker } = await spread(g.url, 40)
  t.same([...new Set(statuses)], [200])
  t.equal(byWorker.size, 2, 'both workers served')
  t.equal(a.seen.length - before, 0, 'no request reached the drained backend from any worker')
  const row = (await getJson(`${g.admin}/admin/pools/web`)).backends.find((x: { id: string }) => x.id === `127.0.0.1:${a.port}`)
  t.equal(row.state, 'draining')
})

t.test('a backend that stops answering is probed by the primary only, marked unhealthy once, and left by every worker', async (t) => {
  const probePorts = new Set<number>()
  let failing = false
  const a = await startBackend(t, 'a', (req: IncomingMessage, res) => {
    if (req.url === '/healthz') {
      probePorts.add(req.socket.remotePort!)
      res.statusCode = failing ? 503 : 200
    }
    res.end('a')
  })
  const b = await startBackend(t, 'b')
  const g = await start(t, [a, b], '', '    healthCheck: { active: { path: /healthz, interval: 300ms, timeout: 300ms, unhealthyThreshold: 1, healthyThreshold: 1 } }\n')
  await waitFor(() => probePorts.size > 0, { message: 'the backend was probed', timeoutMs: PROCESS_MS })
  failing = true
  const id = `127.0.0.1:${a.port}`
  await waitFor(async () => (await getJson(`${g.admin}/admin/pools/web`)).backends.find((x: { id: string }) => x.id === id).state === 'unhealthy',
    { message: 'the admin API shows the backend unhealthy', timeoutMs: PROCESS_MS })
  // Log lines come over a pipe and may trail the admin API's answer: wait for them.
  await waitFor(() => g.r.lines.filter((l) => l.msg === 'backend unhealthy').length === 3,
    { message: 'the primary\'s verdict and both workers\' lines were logged', timeoutMs: PROCESS_MS, seen: () => g.r.lines.filter((l) => l.msg === 'backend unhealthy') })
  const verdicts = g.r.lines.filter((l) => l.msg === 'backend unhealthy')
  t.equal(verdicts.filter((l) => l.worker === undefined).length, 1, 'the primary decided once')
  t.ok(verdicts.filter((l) => l.worker !== undefined).every((l) => l.reason === 'health check (primary)'), 'the workers followed the primary, not probes of their own')
  t.equal(probePorts.size, 1, 'every probe came over one connection: one prober, not one per worker')
  const seenBefore = a.seen.filter((s) => s.url === '/').length
  const { statuses, byWorker } = await spread(g.url, 30)
  t.same([...new Set(statuses)], [200])
  t.equal(byWorker.size, 2)
  t.equal(a.seen.filter((s) => s.url === '/').length, seenBefore, 'no worker sent traffic to the unhealthy backend')
})

t.test('a backend failing in both workers is ejected once, by the primary, for every worker', async (t) => {
  const a = await startBackend(t, 'a', (_req, res) => { res.statusCode = 503; res.end('down') })
  const b = await startBackend(t, 'b')
  const g = await start(t, [a, b], '', '    retry: { attempts: 1 }\n    healthCheck: { passive: { consecutiveFailures: 2, baseEjectionTime: 1m } }\n')
  const id = `127.0.0.1:${a.port}`
  // Until it is ejected, round robin sends every other request of each worker to the failing backend.
  await waitFor(async () => {
    await spread(g.url, 8, 4)
    return (await getJson(`${g.admin}/admin/pools/web`)).backends.find((x: { id: string }) => x.id === id).state === 'ejected'
  }, { message: 'the admin API shows the backend ejected', timeoutMs: PROCESS_MS })
  // Log lines come over a pipe and may trail the admin API's answer: wait for them.
  await waitFor(() => g.r.lines.filter((l) => l.msg === 'backend ejected (outlier)').length === 3,
    { message: 'the primary\'s ejection and both workers\' lines were logged', timeoutMs: PROCESS_MS, seen: () => g.r.lines.filter((l) => l.msg === 'backend ejected (outlier)') })
  const ejections = g.r.lines.filter((l) => l.msg === 'backend ejected (outlier)')
  t.equal(ejections.filter((l) => l.worker === undefined).length, 1, 'the primary ejected it once')
  t.match(ejections.find((l) => l.worker === undefined), { backend: id, reason: /\(worker [12]\)$/ }, 'on a worker\'s report')
  const before = a.seen.length
  const { statuses, byWorker } = await spread(g.url, 30)
  t.same([...new Set(statuses)], [200], 'every answer came from the healthy backend')
  t.equal(byWorker.size, 2)
  t.equal(a.seen.length, before, 'no worker sent traffic to the ejected backend')
})

t.test('a rate limit holds for the whole gateway, not per worker', async (t) => {
  const b = await startBackend(t, 'b')
  const g = await start(t, [b], 'routes:\n  - { pool: web, rateLimit: { max: 10, window: 1m } }\n')
  const { statuses, byWorker } = await spread(g.url, 30)
  t.equal(byWorker.size, 2, 'both workers took requests')
  t.equal(statuses.filter((s) => s === 200).length, 10, 'the limit of 10 let 10 through in all, not 10 per worker')
  t.equal(statuses.filter((s) => s === 429).length, 20, 'the rest got 429')
})

t.test('a worker killed with SIGKILL is replaced and the listener keeps answering', async (t) => {
  const b = await startBackend(t, 'b1')
  const g = await start(t, [b])
  const [first] = await workers(g)
  process.kill(first!.pid!, 'SIGKILL')
  // Connections the killed process held are lost with it; new ones are answered by the other
  // worker (each accepts from the shared socket itself, so none waits on the dead one).
  await waitFor(() => g.r.lines.some((l) => l.msg === 'worker 1 exited; replacing it'), { message: 'the primary saw worker 1 exit', timeoutMs: PROCESS_MS })
  const during = await spread(g.url, 20)
  t.same([...new Set(during.statuses)], [200], 'new connections are answered while a worker is down or being replaced')
  await waitFor(async () => {
    const w = (await workers(g)).find((x) => x.worker === first!.worker)!
    return w.state === 'ready' && w.pid !== null && w.pid !== first!.pid && w.restarts === 1
  }, { message: 'worker 1 was replaced', timeoutMs: PROCESS_MS })
  t.notOk(alive(first!.pid!), 'the killed process is gone')
  const after = await spread(g.url, 60)
  t.same([...new Set(after.statuses)], [200])
  t.equal(after.byWorker.size, 2, 'the replacement serves too')
  const metrics = parseScrape((await send(`${g.admin}/metrics`)).text)
  t.equal(metrics.value('gateway_worker_restarts_total'), 1, 'gateway_worker_restarts_total counts the replacement')
  t.ok(g.r.lines.some((l) => l.msg === 'worker 1 exited; replacing it' && l.signal === 'SIGKILL'), 'the replacement is logged with the signal')
})

t.test('a reload under load reaches every worker and loses no request; a refused config changes nothing', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const g = await start(t, [a])
  const state = { stop: false }
  const statuses: number[] = []
  const load = Promise.all(Array.from({ length: 4 }, async () => {
    while (!state.stop) statuses.push((await send(g.url + '/')).status)
  }))
  const body = `listen: { host: 127.0.0.1, port: 0 }\nadmin: { host: 127.0.0.1, port: 0 }\nworkers: { count: 2, debugHeader: true }\nlog: { access: false }\nshutdown: { timeout: 5s }\npools:\n  web:\n    backends:\n      - url: ${b.url}\n`
  const put = await send(`${g.admin}/admin/config`, { method: 'PUT', body, headers: { 'content-type': 'application/yaml' } })
  t.equal(put.status, 200, put.text)
  const bad = await send(`${g.admin}/admin/config`, { method: 'PUT', body: body.replace(b.url, 'ftp://nowhere'), headers: { 'content-type': 'application/yaml' } })
  t.equal(bad.status, 400, 'an invalid config is refused')
  await new Promise((resolve) => setTimeout(resolve, 300))
  state.stop = true
  await load
  t.ok(statuses.length > 20, `requests were sent during the reload (${statuses.length})`)
  t.same([...new Set(statuses)], [200], 'no request failed')
  const aBefore = a.seen.length
  const { byWorker } = await spread(g.url, 40)
  t.equal(byWorker.size, 2)
  t.equal(a.seen.length, aBefore, 'both workers serve the new pool only')
  t.equal(b.seen.length >= 40, true)
})

t.test('SIGTERM drains every worker: a request in flight finishes, then every process exits', async (t) => {
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let arrived = false
  const b = await startBackend(t, 'slow', (_req, res) => {
    arrived = true
    void held.then(() => { res.end('slow done') })
  })
  const g = await start(t, [b])
  const pids = (await workers(g)).map((w) => w.pid!)
  const inFlight = send(g.url + '/')
  await waitFor(() => arrived, { message: 'the request reached the backend' })
  g.r.child.kill('SIGTERM')
  await waitFor(() => g.r.lines.filter((l) => l.msg === 'shutting down: no new connections, finishing in-flight requests').length === 3,
    { message: 'the primary and both workers began draining', timeoutMs: PROCESS_MS })
  release()
  const reply = await inFlight
  t.equal(reply.status, 200)
  t.equal(reply.text, 'slow done')
  t.equal(await exited(g.r), 0, 'the gateway exited cleanly')
  for (const pid of pids) t.notOk(alive(pid), `worker pid ${pid} exited`)
})

t.test('a primary killed with SIGKILL takes its workers with it', async (t) => {
  const b = await startBackend(t, 'b1')
  const g = await start(t, [b])
  const pids = (await workers(g)).map((w) => w.pid!)
  g.r.child.kill('SIGKILL')
  await exited(g.r)
  await waitFor(() => pids.every((p) => !alive(p)), { message: 'no worker outlived the primary', timeoutMs: PROCESS_MS, seen: () => pids.filter(alive) })
  t.pass('no orphans')
})
