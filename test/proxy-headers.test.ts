import t from 'tap'
import { poolYaml, rawExchange, send, startBackend, startGateway } from './helpers/gateway.js'

t.test('hop-by-hop request headers are removed, the rest forwarded; the client still gets an answer', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b]))
  const r = await rawExchange(gw.port, [
    'GET /h HTTP/1.1', 'Host: shop.example', 'Connection: keep-alive, X-Secret, close', 'X-Secret: s3cret',
    'Keep-Alive: timeout=5', 'TE: trailers', 'Trailer: X-T', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQAAP__',
    'Proxy-Connection: keep-alive', 'Proxy-Authorization: Basic Zm9vOmJhcg==', 'X-Kept: yes', '', ''
  ].join('\r\n'))
  t.match(r.text, /^HTTP\/1\.1 200 OK/, 'a proxied answer, never a 500')
  const h = b.seen[0]!.headers
  for (const gone of ['x-secret', 'keep-alive', 'te', 'trailer', 'upgrade', 'http2-settings', 'proxy-connection', 'proxy-authorization']) {
    t.equal(h[gone], undefined, `${gone} not forwarded`)
  }
  t.not(h.connection, 'close', 'the client\'s Connection header is not forwarded')
  t.equal(h['x-kept'], 'yes')
  t.equal(h.host, 'shop.example', 'Host preserved by default')
})

t.test('hop-by-hop response headers are removed, including those the backend Connection names', async (t) => {
  const b = await startBackend(t, 'b1', (_req, res) => {
    res.setHeader('Connection', 'X-Internal')
    res.setHeader('X-Internal', 'leak')
    res.setHeader('Keep-Alive', 'timeout=99')
    res.setHeader('Proxy-Authenticate', 'Basic')
    res.setHeader('X-Public', 'ok')
    res.end('ok')
  })
  const gw = await startGateway(t, poolYaml([b]))
  const r = await send(gw.url + '/')
  t.equal(r.status, 200)
  t.equal(r.headers['x-internal'], undefined)
  t.equal(r.headers['proxy-authenticate'], undefined)
  t.equal(r.headers['x-public'], 'ok')
  t.not(r.headers['keep-alive'], 'timeout=99', 'the backend\'s Keep-Alive does not reach the client')
  t.equal(r.headers.via, '1.1 ultrabalancer')
})

t.test('X-Forwarded-* replaced when the client is not trusted', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b]))
  await send(gw.url + '/', { headers: { host: 'app.example:8443', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'forged', via: '1.0 edge' } })
  const h = b.seen[0]!.headers
  t.equal(h['x-forwarded-for'], '127.0.0.1')
  t.equal(h['x-forwarded-proto'], 'http')
  t.equal(h['x-forwarded-host'], 'app.example:8443')
  t.equal(h.via, '1.0 edge, 1.1 ultrabalancer', 'Via appended')
})

t.test('X-Forwarded-* kept and appended when listen.trustProxy is on', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b], 'listen: { trustProxy: true }\n'))
  await send(gw.url + '/', { headers: ['Host', 'h.example', 'X-Forwarded-For', '1.1.1.1', 'X-Forwarded-For', '2.2.2.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'public.example'] })
  const h = b.seen[0]!.headers
  t.equal(h['x-forwarded-for'], '1.1.1.1, 2.2.2.2, 127.0.0.1')
  t.equal(h['x-forwarded-proto'], 'https')
  t.equal(h['x-forwarded-host'], 'public.example')
})

t.test('X-Request-Id is propagated, or generated and forwarded', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b]))
  const given = await send(gw.url + '/', { headers: { 'x-request-id': 'abc-123' } })
  t.equal(b.seen[0]!.headers['x-request-id'], 'abc-123')
  t.equal(given.headers['x-request-id'], 'abc-123', 'echoed to the client')
  const made = await send(gw.url + '/')
  const id = b.seen[1]!.headers['x-request-id']
  t.match(id, /^[0-9a-f]{12}-[0-9a-z]+$/, 'an id is generated')
  t.equal(made.headers['x-request-id'], id)
  await send(gw.url + '/', { headers: { 'x-request-id': 'x'.repeat(500) } })
  t.not(b.seen[2]!.headers['x-request-id'], 'x'.repeat(500), 'an absurd id is replaced')
})

t.test('hostHeader: backend sends the backend\'s own host', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b], '', '    hostHeader: backend\n'))
  await send(gw.url + '/', { headers: { host: 'public.example' } })
  t.equal(b.seen[0]!.headers.host, `127.0.0.1:${b.port}`)
  t.equal(b.seen[0]!.headers['x-forwarded-host'], 'public.example')
})

t.test('other forwarding headers a client could forge are dropped unless the client is trusted', async (t) => {
  const b = await startBackend(t, 'b1')
  const forged = { forwarded: 'for=10.0.0.1;host=admin.internal', 'x-real-ip': '10.0.0.2', 'x-forwarded-port': '443', 'x-forwarded-prefix': '/admin', 'x-forwarded-server': 'edge' }
  const gw = await startGateway(t, poolYaml([b]))
  await send(gw.url + '/', { headers: forged })
  for (const name of Object.keys(forged)) t.equal(b.seen[0]!.headers[name], undefined, `${name} dropped`)
  const trusted = await startGateway(t, poolYaml([b], 'listen: { trustProxy: true }\n'))
  await send(trusted.url + '/', { headers: forged })
  for (const [name, value] of Object.entries(forged)) t.equal(b.seen[1]!.headers[name], value, `${name} kept from a trusted proxy`)
})

t.test('103 Early Hints are passed on, then the final answer', async (t) => {
  const b = await startBackend(t, 'hints', (_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
    res.end('final')
  })
  const gw = await startGateway(t, poolYaml([b]))
  const r = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(r.text, /^HTTP\/1\.1 103 Early Hints\r\n[Ll]ink: <\/style\.css>; rel=preload; as=style\r\n\r\nHTTP\/1\.1 200 OK/)
  t.ok(r.text.endsWith('final'))
  t.equal(gw.app.pools.get('web')!.snapshot()[0]!.errors, 0, 'not counted as a backend error')
})
