// `workers: 2`, backend state: the primary decides (health, ejection, drain) and every worker
// follows; a circuit opened by one worker opens in all.
import t from 'tap'
import http, { type IncomingMessage } from 'node:http'
import { send, startBackend } from './helpers/gateway.js'
import { PROCESS_MS } from './helpers/process.js'
import { waitFor } from './helpers/wait.js'
import { parseScrape } from './helpers/metrics.js'
import { getJson, spread, start } from './helpers/workers.js'

// Each test starts three processes (about 2.5 s, more on a loaded machine) and stops them.
t.setTimeout(240_000)

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

t.test('a backend that stops answering is marked unhealthy once, by the primary, and left by every worker', async (t) => {
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

t.test('a circuit that opens in one worker opens in every worker', async (t) => {
  const a = await startBackend(t, 'a', (_req, res) => { res.statusCode = 503; res.end('down') })
  const b = await startBackend(t, 'b')
  const g = await start(t, [a, b], '', '    retry: { attempts: 1 }\n    circuitBreaker: { consecutiveFailures: 3, openDuration: 1m }\n')
  // Requests on one keep-alive connection, so one worker alone sees the failures, until its
  // circuit for `a` opens; the other worker can then only open its own on the primary's word.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  const one = async (): Promise<void> => await new Promise((resolve, reject) => {
    http.get(g.url + '/', { agent }, (res) => { res.resume(); res.on('end', resolve) }).on('error', reject)
  })
  await waitFor(async () => {
    await one()
    return g.r.lines.some((l) => l.msg === 'circuit opened in a worker: opening it in every worker')
  }, { message: 'a worker reported its circuit open', timeoutMs: PROCESS_MS })
  const opened = g.r.lines.find((l) => l.msg === 'circuit opened in a worker: opening it in every worker')!
  await waitFor(() => g.r.lines.some((l) => l.msg === 'circuit open' && l.worker !== undefined && l.worker !== opened.worker && String(l.reason).endsWith(`(worker ${String(opened.worker)})`)),
    { message: 'the other worker opened its circuit on the report', timeoutMs: PROCESS_MS, seen: () => g.r.lines.filter((l) => String(l.msg).startsWith('circuit')) })
  const before = a.seen.length
  const { statuses, byWorker } = await spread(g.url, 30)
  t.equal(byWorker.size, 2, 'both workers served')
  t.same([...new Set(statuses)], [200], 'every answer came from the other backend')
  t.equal(a.seen.length, before, 'no worker sent the open backend a request')
  const m = parseScrape((await send(`${g.admin}/metrics`)).text)
  t.equal(m.value('gateway_circuit_state', { backend: `127.0.0.1:${a.port}` }), 1, '/metrics shows the circuit open')
})
