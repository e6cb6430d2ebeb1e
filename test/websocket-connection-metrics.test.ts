// Open WebSockets are counted by the admin API and in Prometheus, and their bytes once they
// close.
import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { scrape } from './helpers/metrics.js'
import { waitFor } from './helpers/wait.js'
import { closed, idOf, open, openCount, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

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
  await waitFor(() => openCount(gw.app) === 0, { message: 'the pool counts no open socket', seen: () => openCount(gw.app) })
  const after = await pool()
  t.equal(sum(after.backends), 0, 'back to 0')
  t.same(after.backends.map((b) => b.inFlight), [0, 0])
  m = await scrape(gw.app)
  t.equal(m.value('gateway_websocket_connections', { pool: 'web' }), 0, 'the gauge is back to 0')
  t.equal(m.value('gateway_connections_total', { kind: 'websocket', pool: 'web' }), 2, 'the counter keeps its 2')
  t.ok(m.value('gateway_connection_bytes_total', { kind: 'websocket', pool: 'web', direction: 'in' }) > 0, 'bytes from clients counted at close')
  t.ok(m.value('gateway_connection_bytes_total', { kind: 'websocket', pool: 'web', direction: 'out' }) > 0, 'bytes to clients counted at close')
})
