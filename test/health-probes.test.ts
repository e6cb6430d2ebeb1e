import t, { type Test } from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import { httpProbe, probeFor, tcpProbe, BODY_MATCH_LIMIT } from '../lib/health/probes.js'
import type { ActiveHealthConfig } from '../lib/config/types.js'
import { deadPort } from './helpers/gateway.js'

function config (over: Partial<ActiveHealthConfig> = {}): ActiveHealthConfig {
  return {
    type: 'http',
    service: '',
    method: 'GET',
    path: '/health',
    headers: {},
    expectStatus: [[200, 399]],
    interval: 1000,
    timeout: 2000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    initialState: 'healthy',
    shared: false,
    backoff: { initial: 2000, max: 16_000, multiplier: 2, jitter: 0 },
    ...over
  }
}

interface Seen { method: string, url: string, headers: http.IncomingHttpHeaders, clientPort: number }

/**
 * A backend on 127.0.0.1 port 0 answering by path (after its /base prefix): /health 200 "all
 * good", /down 503, /moved 302, /missing 404, /big 100 KiB then "needle", /hang never, /reset
 * drops the connection. Closed in teardown (all connections, kept-alive ones too).
 */
async function backend (t: Test): Promise<{ url: string, port: number, seen: Seen[] }> {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, clientPort: req.socket.remotePort! })
    const path = req.url!.replace(/^\/base/, '')
    if (path === '/health') res.end('all good')
    else if (path === '/down') { res.statusCode = 503; res.end('down') } else if (path === '/moved') { res.statusCode = 302; res.end() } else if (path === '/missing') { res.statusCode = 404; res.end() } else if (path === '/big') res.end('x'.repeat(100 * 1024) + 'needle')
    else if (path === '/reset') req.socket.destroy()
    // /hang: never answers
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}/base`, port, seen }
}

const live = (): AbortSignal => new AbortController().signal

t.test('http: 200 passes; method, base path + path and configured headers (Host too) are sent', async (t) => {
  const b = await backend(t)
  const probe = httpProbe(config({ method: 'HEAD', path: 'health', headers: { host: 'health.internal', 'x-probe': '1' } }))
  const r = await probe({ id: 'a', url: b.url }, live())
  t.match(r, { ok: true })
  t.ok(r.ms >= 0)
  t.equal(b.seen[0]!.method, 'HEAD')
  t.equal(b.seen[0]!.url, '/base/health', 'joined to the backend url\'s base path, "/" added')
  t.equal(b.seen[0]!.headers.host, 'health.internal')
  t.equal(b.seen[0]!.headers['x-probe'], '1')
})

t.test('http: a status outside the ranges fails as "status <code>"', async (t) => {
  const b = await backend(t)
  t.match(await httpProbe(config({ path: '/down' }))({ id: 'a', url: b.url }, live()), { ok: false, reason: 'status 503' })
})

t.test('http: expectStatus ranges are inclusive, any range may match', async (t) => {
  const b = await backend(t)
  const target = { id: 'a', url: b.url }
  // "200-399" parses to [[200, 399]]: a redirect passes.
  t.match(await httpProbe(config({ path: '/moved' }))(target, live()), { ok: true })
  t.match(await httpProbe(config({ path: '/moved', expectStatus: [[200, 299]] }))(target, live()), { ok: false, reason: 'status 302' })
  const twoRanges = config({ path: '/missing', expectStatus: [[200, 200], [404, 404]] })
  t.match(await httpProbe(twoRanges)(target, live()), { ok: true }, 'the upper edge of the second range')
})

t.test('http: bodyMatch passes only when the text is in the first 64 KiB', async (t) => {
  const b = await backend(t)
  const target = { id: 'a', url: b.url }
  t.match(await httpProbe(config({ bodyMatch: 'good' }))(target, live()), { ok: true })
  t.match(await httpProbe(config({ bodyMatch: 'bad' }))(target, live()), { ok: false, reason: 'body' })
  t.ok(BODY_MATCH_LIMIT < 100 * 1024)
  t.match(await httpProbe(config({ path: '/big', bodyMatch: 'needle' }))(target, live()), { ok: false, reason: 'body' },
    'text past the limit is not read')
  t.match(await httpProbe(config({ path: '/big', bodyMatch: 'xxx' }))(target, live()), { ok: true })
})

t.test('http: uses the backend\'s dispatcher when given, and leaves it reusable', async (t) => {
  const b = await backend(t)
  const dispatcher = new Pool(new URL(b.url).origin, { connections: 1 })
  t.teardown(() => dispatcher.close())
  const target = { id: 'a', url: b.url, dispatcher }
  // One socket: each probe must have consumed its body, or the next would wait for it.
  t.match(await httpProbe(config({ path: '/down' }))(target, live()), { ok: false, reason: 'status 503' })
  t.match(await httpProbe(config())(target, live()), { ok: true })
  t.match(await httpProbe(config({ bodyMatch: 'all' }))(target, live()), { ok: true })
  t.equal(b.seen.length, 3)
  t.equal(new Set(b.seen.map((s) => s.clientPort)).size, 1, 'all three on the same connection')
})

t.test('http: a server that never answers is a "timeout", at cfg.timeout or when the signal aborts', async (t) => {
  const b = await backend(t)
  const target = { id: 'a', url: b.url }
  const r = await httpProbe(config({ path: '/hang', timeout: 100 }))(target, live())
  t.match(r, { ok: false, reason: 'timeout' })
  t.ok(r.ms >= 90, 'after about the timeout')
  const ac = new AbortController()
  const pending = httpProbe(config({ path: '/hang' }))(target, ac.signal)
  ac.abort()
  t.match(await pending, { ok: false, reason: 'timeout' }, 'the caller\'s signal aborts it too')
  const aborted = AbortSignal.abort()
  t.match(await httpProbe(config())(target, aborted), { ok: false, reason: 'timeout' }, 'already aborted')
})

t.test('http: refused connection is "connect", a dropped one "reset"', async (t) => {
  const port = await deadPort()
  t.match(await httpProbe(config())({ id: 'a', url: `http://127.0.0.1:${port}` }, live()), { ok: false, reason: 'connect' })
  const b = await backend(t)
  t.match(await httpProbe(config({ path: '/reset' }))({ id: 'a', url: b.url }, live()), { ok: false, reason: 'reset' })
})

t.test('http: a failed TLS handshake is "tls"', async (t) => {
  const b = await backend(t)
  // https to a plain HTTP server: the handshake fails (wrong version number).
  t.match(await httpProbe(config())({ id: 'a', url: `https://127.0.0.1:${b.port}` }, live()), { ok: false, reason: 'tls' })
})

t.test('other errors are "error"; probes never throw', async (t) => {
  t.match(await httpProbe(config())({ id: 'a', url: 'not a url' }, live()), { ok: false, reason: 'error' })
  t.match(await tcpProbe(config())({ id: 'a', url: 'not a url' }, live()), { ok: false, reason: 'error' })
})

t.test('tcp: connects and closes at once; refused is "connect"; an aborted signal "timeout"', async (t) => {
  const b = await backend(t)
  const probe = tcpProbe(config({ type: 'tcp' }))
  t.match(await probe({ id: 'a', url: b.url }, live()), { ok: true })
  t.same(b.seen, [], 'no HTTP request was sent')
  const port = await deadPort()
  t.match(await probe({ id: 'a', url: `http://127.0.0.1:${port}` }, live()), { ok: false, reason: 'connect' })
  t.match(await probe({ id: 'a', url: b.url }, AbortSignal.abort()), { ok: false, reason: 'timeout' })
})

t.test('probeFor picks the probe by cfg.type', async (t) => {
  const b = await backend(t)
  await probeFor(config({ type: 'tcp' }))({ id: 'a', url: b.url }, live())
  t.same(b.seen, [], 'tcp: no request')
  await probeFor(config())({ id: 'a', url: b.url }, live())
  t.equal(b.seen.length, 1, 'http: one request')
})
