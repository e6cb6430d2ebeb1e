// Open tcp connections are counted by the admin API and in Prometheus, and their bytes once
// they close.
import t from 'tap'
import { scrape } from './helpers/metrics.js'
import { adminPool, openTcp, startTcpBackends, startTcpGateway, tcpYaml, whoami } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('admin API and metrics count open tcp connections', async (t) => {
  const bs = await startTcpBackends(t, 2)
  const gw = await startTcpGateway(t, tcpYaml(bs))
  const held = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(held.map((h) => h.name), ['t1', 't2'])

  const open = await adminPool(gw.app)
  t.same(open.backends.map((b) => b.tcpConnections), [1, 1], 'admin: one open connection per backend')
  t.equal(open.backends.reduce((n, b) => n + b.tcpConnections, 0), 2)
  t.same(open.backends.map((b) => b.inFlight), [1, 1], 'open connections count in flight')
  let m = await scrape(gw.app)
  t.equal(m.value('gateway_tcp_connections', { pool: 'db' }), 2, 'gateway_tcp_connections sums to 2')
  t.equal(m.value('gateway_tcp_connections', { pool: 'db', backend: bs[0]!.id }), 1)
  t.equal(m.value('gateway_in_flight_requests', { pool: 'db' }), 2)
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 2)

  for (const h of held) h.client.end()
  await Promise.all(held.map(async (h) => await h.client.waitClosed()))
  await waitFor(() => openTcp(gw.app) === 0, { message: 'both closed at the gateway', seen: () => openTcp(gw.app) })
  const closed = await adminPool(gw.app)
  t.same(closed.backends.map((b) => b.tcpConnections), [0, 0], 'admin: none open')
  t.same(closed.backends.map((b) => b.inFlight), [0, 0])
  m = await scrape(gw.app)
  t.equal(m.value('gateway_tcp_connections', { pool: 'db' }), 0, 'gauge back to 0')
  t.ok(m.families.get('gateway_tcp_connections')?.metrics.some((s) => s.labels?.backend === bs[0]!.id), 'the series of a tcp pool stays, at 0')
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 2, 'the total keeps counting opened ones')
  t.equal(m.value('gateway_connection_bytes_total', { kind: 'tcp', pool: 'db', direction: 'in' }), 14, '"whoami\\n" twice')
  t.equal(m.value('gateway_connection_bytes_total', { kind: 'tcp', pool: 'db', direction: 'out' }), 6, '"t1\\n" and "t2\\n"')
})
