// `workers: 2`, traffic: every listener kind served by both workers, one view of their counters
// and metrics, the same backend for a key from every worker, rate limits for the whole gateway.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import net from 'node:net'
import { send, startBackend, type TestBackend } from './helpers/gateway.js'
import { parseScrape } from './helpers/metrics.js'
import { startTcpBackend, TcpClient } from './helpers/tcp.js'
import { openWs, roundTrip, startWsBackend } from './helpers/ws.js'
import { getJson, parentOf, spread, start, workers } from './helpers/workers.js'

// Each test starts three processes (about 2.5 s, more on a loaded machine) and stops them.
t.setTimeout(240_000)

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error === undefined

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

t.test('a tcp listener is served by the workers too', async (t) => {
  const web = await startBackend(t, 'web')
  const db = await startTcpBackend(t, 'db')
  // A free port for the tcp listener (the ready line names the HTTP listeners only).
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as net.AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  const g = await start(t, [web], `tcp:\n  - { listen: { port: ${port} }, pool: db }\nroutes:\n  - { pool: web }\n`, '', `  db:\n    backends:\n      - url: ${db.url}\n`)
  const clients = Array.from({ length: 20 }, () => new TcpClient(port))
  t.teardown(() => { for (const c of clients) c.socket.destroy() })
  await Promise.all(clients.map(async (c, i) => {
    await c.connected
    c.socket.write(`ping ${i}`)
    await c.waitFor(`ping ${i}`)
  }))
  t.same(clients.map((c) => c.text), clients.map((_c, i) => `ping ${i}`), 'every connection was piped to the backend and back')
  const pool = await getJson(`${g.admin}/admin/pools/db`)
  t.equal(pool.backends[0].tcpConnections, 20, 'the open connections, summed over the workers')
})

t.test('WebSocket upgrades are served by both workers', async (t) => {
  const ws = await startWsBackend(t, 'echo')
  const g = await start(t, [ws as unknown as TestBackend], 'routes:\n  - { pool: web, websocket: true }\n')
  const wsBase = g.url.replace('http://', 'ws://')
  const sockets = await Promise.all(Array.from({ length: 20 }, async () => await openWs(wsBase + '/')))
  t.teardown(() => { for (const s of sockets) s.terminate() })
  const echoes = await Promise.all(sockets.map(async (s, i) => await roundTrip(s, `hello ${i}`)))
  t.same(echoes, sockets.map((_s, i) => `hello ${i}`), 'every WebSocket echoed through the gateway')
  const pool = await getJson(`${g.admin}/admin/pools/web`)
  t.equal(pool.backends[0].websockets, 20, 'the open WebSockets, summed over the workers')
  const rows = await workers(g)
  t.ok(rows.every((w) => (w.requests ?? 0) > 0), `both workers took upgrades (${rows.map((w) => String(w.requests)).join(', ')})`)
})

t.test('a rate limit holds for the whole gateway, not per worker', async (t) => {
  const b = await startBackend(t, 'b')
  const g = await start(t, [b], 'routes:\n  - { pool: web, rateLimit: { max: 10, window: 1m } }\n')
  const { statuses, byWorker } = await spread(g.url, 30)
  t.equal(byWorker.size, 2, 'both workers took requests')
  t.equal(statuses.filter((s) => s === 200).length, 10, 'the limit of 10 let 10 through in all, not 10 per worker')
  t.equal(statuses.filter((s) => s === 429).length, 20, 'the rest got 429')
})
