// WebSocket proxying end to end: real `ws` clients, the real gateway, real `ws` backends.
import t from 'tap'
import http from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import { WebSocket } from 'ws'
import net from 'node:net'
import { loadConfigText } from '../lib/config/load.js'
import { CLOSE_DEADLINE_MS } from '../lib/ws/tunnel.js'
import { deadUrl, rawExchange, startBackend, startGateway } from './helpers/gateway.js'
import { scrape } from './helpers/metrics.js'
import { closed, nextMessage, openWs, roundTrip, serverSockets, startWsBackend, until, wsYaml } from './helpers/ws.js'

const wsUrl = (port: number, path = '/'): string => `ws://127.0.0.1:${port}${path}`
const idOf = (b: { port: number }): string => `127.0.0.1:${b.port}`
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

const cfg = (yaml: string): ReturnType<typeof loadConfigText> => {
  const c = loadConfigText(yaml, { env: {} })
  c.listen.port = 0
  c.listen.host = '127.0.0.1'
  return c
}

/** Open proxied WebSockets the pool counts, summed over its backends. */
const openCount = (app: FastifyInstance, pool = 'web'): number =>
  app.pools.get(pool)!.backends.reduce((n, b) => n + b.websockets, 0)

/** Opens a socket; at teardown one still open is closed by the client (code 1000). */
async function open (t: { teardown: (fn: () => unknown) => void }, url: string, opts?: Parameters<typeof openWs>[1]): Promise<WebSocket> {
  const ws = await openWs(url, opts)
  t.teardown(async () => {
    if (ws.readyState === WebSocket.CLOSED) return
    const done = once(ws, 'close')
    if (ws.readyState === WebSocket.OPEN) ws.close(1000)
    await done
  })
  return ws
}

t.test('messages pass unchanged: text, binary, 16 MB, fragmented; a ping is answered by the backend', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const ws = await open(t, wsUrl(gw.port, '/chat'))
  t.equal(b.accepted, 1, 'the backend accepted the connection')

  let m = nextMessage(ws)
  ws.send('héllo wörld')
  let got = await m
  t.equal(got.isBinary, false, 'text stays text')
  t.equal(got.data.toString(), 'héllo wörld')

  const bin = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80])
  m = nextMessage(ws)
  ws.send(bin)
  got = await m
  t.equal(got.isBinary, true, 'binary stays binary')
  t.same([...got.data], [...bin])

  const big = randomBytes(16 * 1024 * 1024)
  m = nextMessage(ws)
  ws.send(big)
  got = await m
  t.equal(got.isBinary, true)
  t.equal(got.data.length, big.length, '16 MB came back')
  t.equal(sha(got.data), sha(big), 'byte for byte')

  const backendSide = serverSockets(b)[0]!
  const fragmentsSeen: boolean[] = []
  backendSide.on('message', (_d, isBinary) => { fragmentsSeen.push(isBinary) })
  m = nextMessage(ws)
  ws.send('frag', { fin: false })
  ws.send('men', { fin: false })
  ws.send('ted', { fin: true })
  got = await m
  t.equal(got.data.toString(), 'fragmented', 'a fragmented message arrives whole')
  t.equal(got.isBinary, false)
  t.same(fragmentsSeen, [false], 'the backend got it as one text message')

  const pings: string[] = []
  backendSide.on('ping', (d) => { pings.push(d.toString()) })
  const pong = once(ws, 'pong')
  ws.ping('are-you-there')
  const [pongData] = await pong as [Buffer]
  t.equal(pongData.toString(), 'are-you-there', 'pong with the ping payload')
  t.same(pings, ['are-you-there'], 'the ping went through to the backend, which answered it')

  t.equal(await roundTrip(ws, 'still open'), 'still open', 'the connection keeps working')
  t.equal(b.accepted, 1, 'all on one backend connection')
})

t.test('subprotocol and permessage-deflate are negotiated with the backend end to end', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const ws = await open(t, wsUrl(gw.port), { protocols: ['chat.v2', 'chat.v1'] })
  t.equal(ws.protocol, 'chat.v2', 'the backend picked chat.v2 and the client got it')
  t.same(String(b.upgrades[0]!['sec-websocket-protocol']).split(/\s*,\s*/), ['chat.v2', 'chat.v1'], 'the whole offer, in order, reached the backend')
  t.match(String(b.upgrades[0]!['sec-websocket-extensions']), /permessage-deflate/, 'the backend saw the extension offer')
  t.match(ws.extensions, /permessage-deflate/, 'the client has permessage-deflate')
  t.match(serverSockets(b)[0]!.extensions, /permessage-deflate/, 'and so does the backend side')
  // Compressed frames (the payload compresses well) must survive the tunnel untouched.
  const text = 'abc'.repeat(10_000)
  t.equal(await roundTrip(ws, text), text, 'a compressed message round-trips')

  const plain = await open(t, wsUrl(gw.port), { perMessageDeflate: false })
  t.equal(plain.extensions, '', 'a client that offers no extension gets none')
  t.equal(b.upgrades[1]!['sec-websocket-extensions'], undefined, 'and the backend saw no offer')
  t.equal(await roundTrip(plain, text), text)
})

t.test('close codes pass through both ways', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))

  const c1 = await open(t, wsUrl(gw.port))
  const backendReason = once(serverSockets(b)[0]!, 'close') as Promise<[number, Buffer]>
  const c1Closed = closed(c1)
  c1.close(4001, 'x')
  const [code, reason] = await backendReason
  t.equal(code, 4001, 'the backend got the client\'s code')
  t.equal(reason.toString(), 'x', 'and its reason')
  t.equal((await c1Closed).code, 4001, 'the backend\'s echo of the close reached the client')
  t.same(b.closeCodes, [4001])

  const c2 = await open(t, wsUrl(gw.port))
  const c2Closed = closed(c2)
  c2.send('close:4002')
  t.same(await c2Closed, { code: 4002, reason: 'bye' }, 'the client got the backend\'s code and reason')
  await until(() => openCount(gw.app) === 0)
  t.pass('both connections are gone from the pool counts')
})

t.test('a backend that dies without a close frame: the client gets close 1014', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const ws = await open(t, wsUrl(gw.port))
  t.equal(await roundTrip(ws, 'hi'), 'hi')
  const c = closed(ws)
  for (const s of serverSockets(b)) s.terminate()
  const { code } = await c
  t.equal(code, 1014, '1014 Bad Gateway: the upstream connection was lost')
  await until(() => openCount(gw.app) === 0)
  t.pass('the connection is no longer counted')
})

t.test('balancing: round-robin spreads connections; least-connections counts open sockets', async (t) => {
  const rr = [await startWsBackend(t, 'b1'), await startWsBackend(t, 'b2'), await startWsBackend(t, 'b3')]
  const gw = await startGateway(t, wsYaml(rr, '', '    algorithm: round-robin\n'))
  const names: string[] = []
  for (let i = 0; i < 9; i++) {
    const ws = await open(t, wsUrl(gw.port))
    names.push(await roundTrip(ws, 'whoami'))
    ws.close()
  }
  t.same(rr.map((b) => b.accepted), [3, 3, 3], 'each backend accepted 3 of 9')
  t.same(names.slice(0, 3).sort(), ['b1', 'b2', 'b3'])

  const lc = [await startWsBackend(t, 'l1'), await startWsBackend(t, 'l2'), await startWsBackend(t, 'l3')]
  const gw2 = await startGateway(t, wsYaml(lc, '', '    algorithm: least-connections\n'))
  const sockets: Array<{ ws: WebSocket, name: string }> = []
  for (let i = 0; i < 6; i++) {
    const ws = await open(t, wsUrl(gw2.port))
    sockets.push({ ws, name: await roundTrip(ws, 'whoami') })
  }
  t.same(sockets.map((s) => s.name).sort(), ['l1', 'l1', 'l2', 'l2', 'l3', 'l3'], 'six open sockets spread 2/2/2')
  // Close both sockets on l2 and one on l3: open sockets are then l1 2, l2 0, l3 1.
  const toClose = [...sockets.filter((s) => s.name === 'l2'), sockets.find((s) => s.name === 'l3')!]
  for (const s of toClose) {
    const c = closed(s.ws)
    s.ws.close()
    await c
  }
  await until(() => openCount(gw2.app) === 3)
  const next: string[] = []
  for (let i = 0; i < 3; i++) {
    const ws = await open(t, wsUrl(gw2.port))
    next.push(await roundTrip(ws, 'whoami'))
  }
  t.same(next.sort(), ['l2', 'l2', 'l3'], 'new connections go to the backends with the fewest open sockets')
  t.same(gw2.app.pools.get('web')!.snapshot().map((s) => s.websockets), [2, 2, 2])
})

t.test('no backend can be reached: the upgrade is refused with a JSON error, not a 101', async (t) => {
  const gw = await startGateway(t, wsYaml([{ url: await deadUrl() }, { url: await deadUrl() }]))
  const err = await openWs(wsUrl(gw.port)).then(() => undefined, (e: { status?: number, body?: string }) => e)
  t.ok(err !== undefined, 'the upgrade failed')
  t.ok(err!.status === 502 || err!.status === 503, `answered ${String(err!.status)}`)
  const body = JSON.parse(err!.body!) as { error: string }
  t.match(body.error, /^GW_/)
  t.notOk(err!.body!.includes('127.0.0.1'), 'the body names no backend address')
})

t.test('failover: a refused connect is retried on another backend', async (t) => {
  const live = await startWsBackend(t, 'live')
  const dead = await deadUrl()
  const gw = await startGateway(t, wsYaml([{ url: dead }, live], '', '    retry: { attempts: 2 }\n'))
  for (let i = 0; i < 6; i++) {
    const ws = await open(t, wsUrl(gw.port))
    t.equal(await roundTrip(ws, 'whoami'), 'live', `upgrade ${i + 1} succeeded on the live backend`)
    ws.close()
  }
  t.equal(live.accepted, 6)
  t.ok(gw.app.pools.get('web')!.find(new URL(dead).host)!.requests >= 1, 'the dead backend was tried (and failed over from)')
})

t.test('a backend that answers the upgrade without 101: the client gets that answer', async (t) => {
  const forbid = await startBackend(t, 'forbid', (_req, res) => { res.statusCode = 403; res.setHeader('x-why', 'nope'); res.end('forbidden here') })
  const gw = await startGateway(t, wsYaml([forbid]))
  const err = await openWs(wsUrl(gw.port, '/secret')).then(() => undefined, (e: { status?: number, body?: string, headers?: http.IncomingHttpHeaders }) => e)
  t.ok(err !== undefined, 'refused')
  t.equal(err!.status, 403)
  t.equal(err!.body, 'forbidden here', 'with the backend\'s body')
  t.equal(err!.headers!['x-why'], 'nope', 'and headers')
  t.equal(forbid.seen[0]!.url, '/secret')
  t.equal(forbid.seen[0]!.headers.upgrade, 'websocket', 'the backend was asked to upgrade')
})

t.test('reloads: sockets on kept backends survive; a removed backend\'s sockets get 1001 after drainTimeout', async (t) => {
  const b1 = await startWsBackend(t, 'b1')
  const b2 = await startWsBackend(t, 'b2')
  const extra = 'websocket: { drainTimeout: 200ms }\n'
  const yaml = wsYaml([b1, b2], extra)
  const gw = await startGateway(t, yaml)
  const s1 = await open(t, wsUrl(gw.port))
  const s2 = await open(t, wsUrl(gw.port))
  t.same([await roundTrip(s1, 'whoami'), await roundTrip(s2, 'whoami')], ['b1', 'b2'])

  await gw.app.reloadConfig(cfg(yaml))
  t.equal(await roundTrip(s1, 'after same'), 'after same', 'same config: the b1 socket still echoes')
  t.equal(await roundTrip(s2, 'after same'), 'after same', 'and the b2 one')

  const changedRoutes = yaml.replace('routes:\n', 'routes:\n  - { match: { pathPrefix: /other }, pool: web }\n')
  t.not(changedRoutes, yaml)
  await gw.app.reloadConfig(cfg(changedRoutes))
  t.equal(await roundTrip(s1, 'after routes'), 'after routes', 'unrelated route change: sockets still echo')
  t.equal(await roundTrip(s2, 'after routes'), 'after routes')
  t.equal(openCount(gw.app), 2, 'both still counted in the new pool')

  const s1Closed = closed(s1)
  await gw.app.reloadConfig(cfg(wsYaml([b2], extra)))
  t.equal((await s1Closed).code, 1001, 'the socket on the removed backend is closed with 1001 once drainTimeout has passed')
  await until(() => b1.closeCodes.length > 0)
  t.same(b1.closeCodes, [1001], 'the removed backend got 1001 too')
  t.equal(await roundTrip(s2, 'kept'), 'kept', 'the socket on the kept backend is untouched')
  const s3 = await open(t, wsUrl(gw.port))
  t.equal(await roundTrip(s3, 'whoami'), 'b2', 'new connections go to the remaining backend')
  t.equal(b2.closeCodes.length, 0)
})

t.test('admin drain: the backend\'s sockets get 1001 both ways after drainTimeout; new ones go elsewhere', async (t) => {
  const b1 = await startWsBackend(t, 'b1')
  const b2 = await startWsBackend(t, 'b2')
  const gw = await startGateway(t, wsYaml([b1, b2], 'websocket: { drainTimeout: 200ms }\n'))
  const s1 = await open(t, wsUrl(gw.port))
  const s2 = await open(t, wsUrl(gw.port))
  t.same([await roundTrip(s1, 'whoami'), await roundTrip(s2, 'whoami')], ['b1', 'b2'])
  const s1Closed = closed(s1)
  const r = await gw.app.adminServer.inject({ method: 'POST', url: `/admin/pools/web/backends/${idOf(b1)}/drain` })
  t.equal(r.statusCode, 202)
  t.match(r.json(), { draining: true, websockets: 1 })
  for (let i = 0; i < 3; i++) {
    const ws = await open(t, wsUrl(gw.port))
    t.equal(await roundTrip(ws, 'whoami'), 'b2', 'a new connection goes to the other backend')
  }
  t.equal((await s1Closed).code, 1001, 'the client got 1001')
  await until(() => b1.closeCodes.length > 0)
  t.same(b1.closeCodes, [1001], 'the backend got 1001')
  t.equal(await roundTrip(s2, 'ok'), 'ok', 'the other backend\'s socket is untouched')
  await until(() => gw.app.pools.get('web')!.find(idOf(b1))!.inFlight === 0)
  t.pass('the drained backend has nothing in flight')
})

t.test('graceful shutdown closes open sockets with 1001 and close() resolves', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b], 'websocket: { drainTimeout: 100ms }\n'))
  const ws = await open(t, wsUrl(gw.port))
  t.equal(await roundTrip(ws, 'hi'), 'hi')
  const c = closed(ws)
  await gw.app.close()
  t.pass('app.close() resolved')
  t.equal((await c).code, 1001, 'the client got 1001')
  await until(() => b.closeCodes.length > 0)
  t.same(b.closeCodes, [1001], 'the backend got 1001')
})

t.test('open sockets are counted by the admin API and in Prometheus', async (t) => {
  const b1 = await startWsBackend(t, 'b1')
  const b2 = await startWsBackend(t, 'b2')
  const gw = await startGateway(t, wsYaml([b1, b2]))
  const pool = async (): Promise<{ backends: Array<{ websockets: number, inFlight: number, tcpConnections: number }> }> =>
    (await gw.app.adminServer.inject({ method: 'GET', url: '/admin/pools/web' })).json()
  const sum = (xs: Array<{ websockets: number }>): number => xs.reduce((n, x) => n + x.websockets, 0)
  t.equal(sum((await pool()).backends), 0)

  const a = await open(t, wsUrl(gw.port))
  const c = await open(t, wsUrl(gw.port))
  t.equal(await roundTrip(a, 'x'), 'x')
  t.equal(await roundTrip(c, 'y'), 'y')
  const during = await pool()
  t.equal(sum(during.backends), 2, 'websockets: 2 over the pool')
  t.same(during.backends.map((b) => b.inFlight), [1, 1], 'and each open socket is in flight')
  t.same(during.backends.map((b) => b.tcpConnections), [0, 0])
  let m = await scrape(gw.app)
  t.equal(m.value('gateway_websocket_connections', { pool: 'web' }), 2, 'the gauge sums to 2')
  t.equal(m.value('gateway_websocket_connections', { pool: 'web', backend: idOf(b1) }), 1)
  t.ok(m.value('gateway_connections_total', { kind: 'websocket', pool: 'web' }) >= 2, 'connections_total counted both')

  for (const ws of [a, c]) {
    const done = closed(ws)
    ws.close()
    await done
  }
  await until(() => openCount(gw.app) === 0)
  const after = await pool()
  t.equal(sum(after.backends), 0, 'back to 0')
  t.same(after.backends.map((b) => b.inFlight), [0, 0])
  m = await scrape(gw.app)
  t.equal(m.value('gateway_websocket_connections', { pool: 'web' }), 0, 'the gauge is back to 0')
  t.equal(m.value('gateway_connections_total', { kind: 'websocket', pool: 'web' }), 2, 'the counter keeps its 2')
  t.ok(m.value('gateway_connection_bytes_total', { kind: 'websocket', pool: 'web', direction: 'in' }) > 0, 'bytes from clients counted at close')
  t.ok(m.value('gateway_connection_bytes_total', { kind: 'websocket', pool: 'web', direction: 'out' }) > 0, 'bytes to clients counted at close')
})

const OWN_ROUTE = `
import fp from 'fastify-plugin'
export default fp(async (app) => {
  app.route({ method: 'GET', url: '/own', websocket: true, handler: (socket) => { socket.send('own') } })
})
`

t.test('a plugin\'s own @fastify/websocket route is served by the gateway; other paths are proxied', async (t) => {
  const dir = t.testdir({ 'own.mjs': OWN_ROUTE })
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b], 'plugins:\n  - { module: ./own.mjs }\n'), {}, dir)
  // The handler sends at once: the listener must be on before 'open' (the message may come with the 101).
  const own = new WebSocket(wsUrl(gw.port, '/own'))
  const first = nextMessage(own)
  await once(own, 'open')
  t.equal(own.protocol, '', 'a plain ws connection')
  t.equal((await first).data.toString(), 'own', 'the plugin\'s handler answered')
  const ownClosed = closed(own)
  own.close(1000)
  t.equal((await ownClosed).code, 1000)
  t.equal(b.accepted, 0, 'nothing reached the backend')
  const other = await open(t, wsUrl(gw.port, '/elsewhere'))
  t.equal(await roundTrip(other, 'whoami'), 'b1', 'another path is proxied')
  t.equal(b.accepted, 1)
  t.equal(b.upgrades.length, 1)
})

t.test('an upgrade on a route without websocket: true is served as a plain request, then the connection closes', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, `pools:\n  web:\n    backends:\n      - url: ${b.url}\n`)
  const r = await rawExchange(gw.port,
    'GET /plain HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  t.match(r.text, /^HTTP\/1\.1 200 /, 'the backend\'s 200, not a 101')
  t.match(r.text, /\r\nconnection: close\r\n/i, 'with Connection: close')
  t.match(r.text, /\r\n\r\nb1$/, 'and the backend\'s body')
  t.ok(r.closed, 'the gateway closed the connection')
  t.equal(b.seen.length, 1)
  t.equal(b.seen[0]!.method, 'GET')
  t.equal(b.seen[0]!.url, '/plain')
  t.equal(b.seen[0]!.headers.upgrade, undefined, 'no Upgrade reached the backend')
  t.notMatch(String(b.seen[0]!.headers.connection ?? ''), /upgrade/i, 'nor Connection: upgrade')

  const err = await openWs(wsUrl(gw.port, '/ws')).then(() => undefined, (e: { status?: number, body?: string }) => e)
  t.equal(err?.status, 200, 'a ws client gets the plain answer, not a 101')
  t.equal(err?.body, 'b1')
})

/**
 * Holds back the tunnel's close deadline (CLOSE_DEADLINE_MS, after which it destroys both
 * sockets of a closing connection), so a test sees only what the gateway does on its own when
 * the close completes. The held callbacks run at teardown (before the gateway closes, which
 * waits for its connections). `settled(p)` is `p`, except that it stays pending if it only
 * settles because of them: a test that timed out is not reported twice.
 */
function holdCloseDeadlines (t: { teardown: (fn: () => unknown) => void }): { settled: <T>(p: Promise<T>) => Promise<T> } {
  const real = globalThis.setTimeout
  const held: Array<() => void> = []
  let released = false
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (ms !== CLOSE_DEADLINE_MS) return real(fn, ms, ...args)
    held.push(() => { fn(...args) })
    return real(() => {}, 2 ** 31 - 1)
  }) as typeof setTimeout
  t.teardown(() => {
    globalThis.setTimeout = real
    released = true
    for (const fn of held) fn()
  })
  return { settled: async (p) => await p.then((v) => released ? new Promise<never>(() => {}) : v) }
}

/** A masked client close frame with a status code. */
function clientClose (code: number): Buffer {
  const key = [0x11, 0x22, 0x33, 0x44]
  return Buffer.from([0x88, 0x82, ...key, (code >> 8) ^ key[0]!, (code & 0xff) ^ key[1]!])
}

const UPGRADE = (): string => 'GET /raw HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`

// The close races that matter: a `ws` client answers a close frame and ends its side of the
// TCP connection at once, so its FIN reaches the gateway before the backend's; a client may
// also half-close right after its own close frame (RFC 6455 §7.1.1). Either way, once the
// backend has ended too, the gateway must end the client's connection, or the client waits for
// the tunnel's 2 s fallback (CLOSE_DEADLINE_MS) that destroys both sockets. That fallback is
// held back here, so each case completes only if the gateway ends the connection itself; tap's
// timeout is the guard. The awaited end is each case's last step.
t.test('close completion: backend-initiated close with a ws client (which ends its side at once)', { timeout: 3000 }, async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const hold = holdCloseDeadlines(t)
  const ws = await openWs(wsUrl(gw.port))
  t.teardown(() => { ws.terminate() })
  const c = closed(ws)
  ws.send('close:4002')
  await until(() => b.closeCodes.length === 1)
  t.same(b.closeCodes, [4002], 'the backend completed its close handshake')
  t.same(await hold.settled(c), { code: 4002, reason: 'bye' }, 'the client\'s connection closed: its close event came')
})

t.test('close completion: a client that half-closes right after its close frame', { timeout: 3000 }, async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const hold = holdCloseDeadlines(t)
  const sock = net.connect(gw.port, '127.0.0.1')
  t.teardown(() => { sock.destroy() })
  const chunks: Buffer[] = []
  sock.on('data', (c: Buffer) => { chunks.push(c) })
  const ended = once(sock, 'end')
  await once(sock, 'connect')
  sock.write(UPGRADE())
  await until(() => Buffer.concat(chunks).includes('\r\n\r\n'))
  t.match(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 101 /)
  sock.end(clientClose(1000))
  await until(() => b.closeCodes.length === 1)
  t.same(b.closeCodes, [1000], 'the backend got the close')
  await until(() => Buffer.concat(chunks).length >= Buffer.concat(chunks).indexOf('\r\n\r\n') + 8)
  const all = Buffer.concat(chunks)
  t.same([...all.subarray(all.indexOf('\r\n\r\n') + 4)], [0x88, 0x02, 0x03, 0xe8], 'its close reply came through')
  await hold.settled(ended)
  t.pass('then the gateway ended the connection')
})
