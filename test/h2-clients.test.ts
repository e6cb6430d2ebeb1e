// HTTP/2 to clients: on a TLS listener by ALPN, beside HTTP/1.1 on the same port, and h2c on a
// plaintext one. Requests take the same routes, balancing, error answers and access log; the
// answer never carries connection-specific headers (RFC 9113 section 8.2.2).
import t, { type Test } from 'tap'
import net from 'node:net'
import http2 from 'node:http2'
import { poolYaml, startBackend, startBackends, startGateway } from './helpers/gateway.js'
import { makePki } from './helpers/pki.js'
import { httpsGet } from './helpers/tls.js'
import { h2Request, h2Session } from './helpers/h2.js'
import { errorBody } from './helpers/gateway.js'
import { scrape } from './helpers/metrics.js'
import type { ServerResponse } from 'node:http'

/**
 * Rapid reset (CVE-2023-44487) on a new connection: HEADERS then RST_STREAM at once, over and
 * over; resolves with the code of the GOAWAY it got, or -1 if it was closed without one.
 */
async function rapidReset (t: Test, port: number, ca: string): Promise<number> {
  const attacker = await h2Session(t, port, { servername: 'site.test', ca })
  attacker.on('error', () => {})
  const goaway = new Promise<number>((resolve) => {
    attacker.once('goaway', (code: number) => { resolve(code) })
    attacker.once('close', () => { resolve(-1) })
  })
  for (let i = 0; i < 3000 && !attacker.destroyed && !attacker.closed; i++) {
    const s = attacker.request({ ':path': `/r${i}`, ':authority': 'site.test' })
    s.on('error', () => {})
    s.close(http2.constants.NGHTTP2_CANCEL)
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve))
  }
  return await goaway
}

t.test('a TLS listener speaks HTTP/2 and HTTP/1.1 on one port; streams of one connection are balanced per request', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const backends = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml(backends, `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n`))
  const session = await h2Session(t, gw.port, { servername: 'site.test', ca: pki.ca.cert })
  t.equal(session.alpnProtocol, 'h2', 'ALPN chose h2')
  const replies = await Promise.all(Array.from({ length: 30 }, async (_, i) => await h2Request(session, { ':path': `/r${i}`, ':authority': 'site.test' })))
  t.same(replies.map((r) => r.status), Array(30).fill(200))
  const served = backends.map((b) => b.seen.length)
  t.same(served, [10, 10, 10], 'round robin over three backends for 30 streams of one connection')
  t.equal(backends[0]!.seen[0]!.headers.host, 'site.test', ':authority is sent as Host')
  t.equal(backends[0]!.seen[0]!.headers['x-forwarded-proto'], 'https')
  t.equal(backends[0]!.seen[0]!.headers.via, '2 ultrabalancer', 'Via names the protocol the client used')
  const access = gw.logs.filter((l) => l.msg === 'access')
  t.equal(access.length, 30)
  t.match(access[0], { http: '2.0', method: 'GET', status: 200 }, 'the access line says HTTP/2')

  const h1 = await httpsGet(gw.port, '/one', { servername: 'site.test', ca: pki.ca.cert })
  t.equal(h1.status, 200, 'an HTTP/1.1 client on the same port')
  t.match(gw.logs.filter((l) => l.msg === 'access').at(-1), { http: '1.1' })
  t.equal(backends.flatMap((b) => b.seen).find((r) => r.url === '/one')!.headers.via, '1.1 ultrabalancer')
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_requests_total', { pool: 'web', code: '200' }), 31, 'HTTP/2 and HTTP/1.1 requests counted alike')
})

t.test('shutdown: an HTTP/2 stream in flight finishes, and the connection gets a GOAWAY', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  // A backend that holds its answer until the test releases it.
  let held: ServerResponse | undefined
  let arrivedNow: () => void = () => {}
  const arrived = new Promise<void>((resolve) => { arrivedNow = resolve })
  const slow = await startBackend(t, 'slow', (_req, res) => { held = res; arrivedNow() })
  const gw = await startGateway(t, poolYaml([slow], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n`))
  const session = await h2Session(t, gw.port, { servername: 'site.test', ca: pki.ca.cert })
  const goaway = new Promise<void>((resolve) => { session.once('goaway', () => { resolve() }) })
  const reply = h2Request(session, { ':path': '/long', ':authority': 'site.test' })
  await arrived
  const closed = gw.app.close()
  await goaway
  t.pass('the session got a GOAWAY')
  held!.end('finished')
  const r = await reply
  t.equal(r.status, 200)
  t.equal(r.body, 'finished', 'the stream in flight finished')
  await closed
})

t.test('a request body over HTTP/2 without content-length streams to the backend', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b', undefined, { collectBody: true })
  const gw = await startGateway(t, poolYaml([b], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n`))
  const session = await h2Session(t, gw.port, { servername: 'site.test', ca: pki.ca.cert })
  const body = 'x'.repeat(100_000)
  const r = await h2Request(session, { ':path': '/upload', ':method': 'POST', ':authority': 'site.test' }, body)
  t.equal(r.status, 200)
  t.equal(b.seen[0]!.body?.length, body.length, 'the whole body arrived')
  t.equal(b.seen[0]!.headers['transfer-encoding'], 'chunked', 'sent chunked to the HTTP/1.1 backend')
})

t.test('connection-specific headers from a backend never reach an HTTP/2 client', async (t) => {
  // A backend that answers with every hop-by-hop header there is.
  const raw = net.createServer((socket) => {
    socket.on('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: secret\r\nProxy-Connection: keep-alive\r\n' +
        'Upgrade: h2c\r\nTransfer-Encoding: chunked\r\nX-Kept: yes\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { raw.close() })
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const gw = await startGateway(t, poolYaml([{ url: `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}` }], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n`))
  const session = await h2Session(t, gw.port, { servername: 'site.test', ca: pki.ca.cert })
  const r = await h2Request(session, { ':path': '/', ':authority': 'site.test' })
  t.equal(r.status, 200)
  t.equal(r.body, 'hello')
  for (const h of ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'transfer-encoding', 'x-hop']) t.equal(r.headers[h], undefined, `no ${h}`)
  t.equal(r.headers['x-kept'], 'yes', 'end-to-end headers pass')
})

t.test('h2c by prior knowledge on a plaintext listener with http2: true; gateway errors are JSON there too', async (t) => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], 'listen: { http2: true }\nroutes:\n  - { match: { pathPrefix: /limited }, pool: web, rateLimit: { max: 1, window: 1h } }\n  - { match: { pathPrefix: /api }, pool: web }\n'))
  const session = await h2Session(t, gw.port)
  const ok = await h2Request(session, { ':path': '/api/x', ':authority': 'api.test' })
  t.equal(ok.status, 200)
  t.equal(ok.body, 'b')
  t.equal(b.seen[0]!.headers['x-forwarded-proto'], 'http')
  const missing = await h2Request(session, { ':path': '/nowhere', ':authority': 'api.test' })
  t.equal(missing.status, 404)
  t.equal(errorBody(missing.body).error, 'GW_ROUTE_NOT_FOUND')
  t.equal(missing.headers['content-type'], 'application/json; charset=utf-8')
  t.equal((await h2Request(session, { ':path': '/limited', ':authority': 'api.test' })).status, 200)
  const limited = await h2Request(session, { ':path': '/limited', ':authority': 'api.test' })
  t.equal(limited.status, 429, 'the rate limiter (a Fastify hook) answers over HTTP/2 too')
  t.equal(errorBody(limited.body).error, 'GW_RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) > 0)
})

t.test('a client doing rapid reset gets GOAWAY; another client is served meanwhile', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n  http2Limits: { streamResetBurst: 20, streamResetRate: 1 }\n`))
  const code = await rapidReset(t, gw.port, pki.ca.cert)
  t.equal(code, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'GOAWAY with ENHANCE_YOUR_CALM')
  const other = await h2Session(t, gw.port, { servername: 'site.test', ca: pki.ca.cert })
  t.equal((await h2Request(other, { ':path': '/fine', ':authority': 'site.test' })).status, 200, 'a well-behaved client is served')
})

t.test('with the default limits, rapid reset gets the gateway\'s ENHANCE_YOUR_CALM before nghttp2\'s own limit', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n`))
  t.equal(await rapidReset(t, gw.port, pki.ca.cert), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'not INTERNAL_ERROR')
})
