// `workers: 2`, traffic: every listener kind served by both workers, one view of their counters
// and metrics, the same backend for a key from every worker, rate limits for the whole gateway.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { send, startBackend } from './helpers/gateway.js'
import { parseScrape } from './helpers/metrics.js'
import { startTcpBackend, TcpClient } from './helpers/tcp.js'
import { openWs, roundTrip, startWsBackend } from './helpers/ws.js'
import { getJson, parentOf, spread, start, workers } from './helpers/workers.js'
import { makePki } from './helpers/pki.js'
import { httpsGet } from './helpers/tls.js'
import { h2Request, h2Session } from './helpers/h2.js'

// Each test starts three processes (about 2.5 s, more on a loaded machine) and stops them.
t.setTimeout(240_000)

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error === undefined

t.test('requests from many connections reach both workers (children of the gateway); counters and /metrics add up', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const g = await start(t, [a, b])
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
  t.equal(pool.backends.find((x: { id: string }) => x.id === `127.0.0.1:${a.port}`).requests, a.seen.length, 'GET /admin/pools sums the workers\' requests per backend')
  t.equal(pool.backends.reduce((n: number, x: { requests: number }) => n + x.requests, 0), 60)

  const m = parseScrape((await send(`${g.admin}/metrics`)).text)
  t.equal(m.value('gateway_requests_total'), 60, '/metrics: requests counted by both workers add up to the requests sent')
  t.equal(m.value('gateway_requests_total', { backend: `127.0.0.1:${a.port}` }), a.seen.length, 'per backend too')
  t.equal(m.count('gateway_request_duration_seconds'), 60, 'histograms are summed bucket by bucket')
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

t.test('consistent hashing and sticky cookies send a key to the same backend whichever worker takes the connection', async (t) => {
  const backends = [await startBackend(t, 'a'), await startBackend(t, 'b'), await startBackend(t, 'c')]
  const pinned = `  pinned:\n    algorithm: { name: sticky }\n    backends:\n${backends.map((b) => `      - url: ${b.url}\n`).join('')}`
  const g = await start(t, backends, 'routes:\n  - { match: { pathPrefix: /pinned }, pool: pinned }\n  - { pool: web }\n',
    '    algorithm: { name: consistent-hash, key: { header: x-user } }\n', pinned)
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
  for (let client = 0; client < 3; client++) {
    const first = await send(g.url + '/pinned')
    const cookie = String(first.headers['set-cookie']).split(';')[0]!
    t.match(cookie, /^ub_affinity=/, 'the first answer pins the client')
    const answers = new Map<string, Set<string>>()
    let left = 30
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (left-- > 0) {
        const r = await send(g.url + '/pinned', { headers: { cookie } })
        const w = String(r.headers['x-gateway-worker'])
        if (!answers.has(w)) answers.set(w, new Set())
        answers.get(w)!.add(r.text)
      }
    }))
    t.equal(answers.size, 2, `sticky client ${client}: both workers answered`)
    const all = new Set([...answers.values()].flatMap((x) => [...x]))
    t.same([...all], [first.text], `sticky client ${client}: the pinned backend (${first.text}) from every worker`)
  }
})

t.test('WebSocket upgrades, a tcp listener and a rate-limited route, with 2 workers', async (t) => {
  const web = await startBackend(t, 'web')
  const echo = await startWsBackend(t, 'echo')
  const db = await startTcpBackend(t, 'db')
  // A free port for the tcp listener (the ready line names the HTTP listeners only).
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as net.AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  const g = await start(t, [web],
    `tcp:\n  - { listen: { port: ${port} }, pool: db }\nroutes:\n  - { match: { pathPrefix: /ws }, pool: ws, websocket: true }\n  - { match: { pathPrefix: /limited }, pool: web, rateLimit: { max: 10, window: 1m } }\n  - { pool: web }\n`,
    '', `  ws:\n    backends:\n      - url: ${echo.url}\n  db:\n    backends:\n      - url: ${db.url}\n`)

  // WebSocket first, on a fresh gateway, so the workers' request counts are the upgrades.
  // In bursts of 20 until both workers took some (at most 5): the worker the kernel wakes first
  // accepts every connection pending, so one burst on a loaded machine may all go to one.
  const sockets: Awaited<ReturnType<typeof openWs>>[] = []
  t.teardown(() => { for (const s of sockets) s.terminate() })
  let rows = await workers(g)
  for (let burst = 0; burst < 5 && (burst === 0 || !rows.every((w) => (w.requests ?? 0) > 0)); burst++) {
    sockets.push(...await Promise.all(Array.from({ length: 20 }, async () => await openWs(g.url.replace('http://', 'ws://') + '/ws'))))
    rows = await workers(g)
  }
  const echoes = await Promise.all(sockets.map(async (s, i) => await roundTrip(s, `hello ${i}`)))
  t.same(echoes, sockets.map((_s, i) => `hello ${i}`), 'every WebSocket echoed through the gateway')
  t.equal((await getJson(`${g.admin}/admin/pools/ws`)).backends[0].websockets, sockets.length, 'the open WebSockets, summed over the workers')
  t.ok(rows.every((w) => (w.requests ?? 0) > 0), `both workers took upgrades (${rows.map((w) => String(w.requests)).join(', ')})`)

  const clients = Array.from({ length: 20 }, () => new TcpClient(port))
  t.teardown(() => { for (const c of clients) c.socket.destroy() })
  await Promise.all(clients.map(async (c, i) => {
    await c.connected
    c.socket.write(`ping ${i}`)
    await c.waitFor(`ping ${i}`)
  }))
  t.same(clients.map((c) => c.text), clients.map((_c, i) => `ping ${i}`), 'every tcp connection was piped to the backend and back')
  t.equal((await getJson(`${g.admin}/admin/pools/db`)).backends[0].tcpConnections, 20, 'the open tcp connections, summed over the workers')

  const limited = await spread(`${g.url}/limited`, 60)
  t.equal(limited.byWorker.size, 2, 'both workers took rate-limited requests')
  t.equal(limited.statuses.filter((s) => s === 200).length, 10, 'a limit of 10 let 10 through in all, not 10 per worker')
  t.equal(limited.statuses.filter((s) => s === 429).length, 50, 'the rest got 429')
})

t.test('a TLS listener (HTTP/1.1 and HTTP/2 by ALPN) is served by both workers', async (t) => {
  // Not t.testdir(): start() makes that afresh for the config file.
  const dir = mkdtempSync(join(tmpdir(), 'workers-pki-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const pki = makePki(dir)
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const g = await start(t, [b], '', '', '', `{ host: 127.0.0.1, port: 0, tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] } }`)
  const byWorker = new Map<string, number>()
  for (let i = 0; i < 30; i++) {
    const r = await httpsGet(g.port, '/', { servername: 'site.test', ca: pki.ca.cert })
    t.equal(r.status, 200)
    const w = String(r.headers['x-gateway-worker'])
    byWorker.set(w, (byWorker.get(w) ?? 0) + 1)
  }
  t.equal(byWorker.size, 2, `HTTPS connections reached both workers (${JSON.stringify([...byWorker])})`)
  const session = await h2Session(t, g.port, { servername: 'site.test', ca: pki.ca.cert })
  const h2 = await h2Request(session, { ':path': '/', ':authority': 'site.test' })
  t.equal(h2.status, 200, 'HTTP/2 over TLS is answered')
  t.match(String(h2.headers['x-gateway-worker']), /^[12]$/, 'by a worker')
})
