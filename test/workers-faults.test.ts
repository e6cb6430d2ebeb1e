// `workers: 2`, faults and changes: a killed worker is replaced, reloads reach every worker and
// lose nothing, Ctrl-C drains all, a dead primary leaves no orphans.
import t from 'tap'
import net from 'node:net'
import { send, startBackend } from './helpers/gateway.js'
import { exited, PROCESS_MS } from './helpers/process.js'
import { waitFor } from './helpers/wait.js'
import { parseScrape } from './helpers/metrics.js'
import { alive, getJson, spread, start, workers } from './helpers/workers.js'

// Each test starts three processes (about 2.5 s, more on a loaded machine) and stops them.
t.setTimeout(240_000)

t.test('a worker killed with SIGKILL is replaced and the listener keeps answering; the totals keep what it had counted', async (t) => {
  const b = await startBackend(t, 'b1')
  const g = await start(t, [b])
  const before = await spread(g.url, 40)
  t.equal(before.byWorker.size, 2, 'both workers served before the kill')
  // A scrape and an admin read before the kill: what the dead worker counted is kept from these.
  t.equal(parseScrape((await send(`${g.admin}/metrics`)).text).value('gateway_requests_total'), 40)
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
  t.equal(metrics.value('gateway_requests_total'), 120, '/metrics still counts the requests the killed worker served (no drop, no reset)')
  t.equal(metrics.count('gateway_request_duration_seconds'), 120, 'and its latency histogram')
  const pool = await getJson(`${g.admin}/admin/pools/web`)
  t.equal(pool.backends[0].requests, 120, 'GET /admin/pools too')
  t.ok(g.r.lines.some((l) => l.msg === 'worker 1 exited; replacing it' && l.signal === 'SIGKILL'), 'the replacement is logged with the signal')
})

t.test('a reload under load reaches every worker and loses no request; a new listener opens in every worker; a refused config changes nothing', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const g = await start(t, [a])
  // A free port for a listener the reload adds: the workers bind it, never the primary.
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as net.AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  const state = { stop: false }
  const statuses: number[] = []
  const load = Promise.all(Array.from({ length: 4 }, async () => {
    while (!state.stop) statuses.push((await send(g.url + '/')).status)
  }))
  const body = `listen:\n  - { host: 127.0.0.1, port: ${g.port} }\n  - { host: 127.0.0.1, port: ${port} }\nadmin: { host: 127.0.0.1, port: 0 }\nworkers: { count: 2, debugHeader: true }\nlog: { access: false }\nshutdown: { timeout: 5s }\npools:\n  web:\n    backends:\n      - url: ${b.url}\n`
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
  const added = await spread(`http://127.0.0.1:${port}`, 40)
  t.same([...new Set(added.statuses)], [200], 'the listener the reload added answers')
  t.equal(added.byWorker.size, 2, 'from both workers')
})

t.test('Ctrl-C (SIGINT to the whole process group) drains every worker once: a request in flight finishes, then every process exits', async (t) => {
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
  // Every process gets the signal, as from a terminal (or systemd's SIGTERM to the control group);
  // the primary's own word to its workers must not count as a second signal.
  process.kill(-g.r.child.pid!, 'SIGINT')
  await waitFor(() => g.r.lines.filter((l) => l.msg === 'shutting down: no new connections, finishing in-flight requests').length === 3,
    { message: 'the primary and both workers began draining', timeoutMs: PROCESS_MS })
  release()
  const reply = await inFlight
  t.equal(reply.status, 200)
  t.equal(reply.text, 'slow done')
  t.equal(await exited(g.r), 0, 'the gateway exited cleanly')
  t.notOk(g.r.lines.some((l) => l.msg === 'second signal: exiting now'), 'no process took the shutdown for a second signal')
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
