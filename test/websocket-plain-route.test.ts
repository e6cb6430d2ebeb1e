// An upgrade request on a route without `websocket: true` is served as a plain request (no
// Upgrade reaches the backend), and then the connection is closed.
import t from 'tap'
import { rawExchange, startBackend, startGateway } from './helpers/gateway.js'
import { openWs, wsUrl } from './helpers/ws.js'

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
