// Failover of tcp connects: a backend that refuses connections is skipped within the retry
// attempts; with none left, the client connection is reset.
import t from 'tap'
import { scrape } from './helpers/metrics.js'
import { dead, exchange, openTcp, snapshotOf, split, startTcpBackend, startTcpBackends, startTcpGateway, tcpYaml } from './helpers/tcp.js'

t.test('failover: a backend that refuses connections is skipped', async (t) => {
  t.test('one dead backend among three: every connection succeeds; the dead one has connect errors', async (t) => {
    const [a, b] = await startTcpBackends(t, 2)
    const d = await dead()
    const gw = await startTcpGateway(t, tcpYaml([a!, d, b!]))
    for (let i = 0; i < 6; i++) {
      const r = await exchange(gw.tcpPort, `whoami\nping ${i}`)
      t.equal(r.error, undefined, `connection ${i} was not reset`)
      t.equal(split(r.data).rest, `ping ${i}`, `connection ${i} was echoed`)
    }
    t.equal(a!.accepted + b!.accepted, 6, 'the live backends took all six')
    const m = await scrape(gw.app)
    const errors = m.value('gateway_upstream_errors_total', { pool: 'db', backend: d.id, reason: 'connect' })
    t.ok(errors > 0, `the dead backend has connect errors (${errors})`)
    t.equal(errors, 2, 'one per turn of the dead backend (connections 2 and 5)')
    t.equal(m.value('gateway_upstream_errors_total', { pool: 'db', backend: a!.id }), 0, 'none for the live ones')
    t.equal(m.value('gateway_retries_total', { pool: 'db', reason: 'connect' }), 2, 'each failure was retried')
    t.equal(snapshotOf(gw.app, d.id).inFlight, 0, 'failed attempts leave nothing in flight')
  })

  t.test('all backends dead: the client connection is reset without data', async (t) => {
    const d1 = await dead()
    const d2 = await dead()
    const gw = await startTcpGateway(t, tcpYaml([d1, d2]))
    const r = await exchange(gw.tcpPort, 'whoami\nhello')
    t.equal(r.data.length, 0, 'no data')
    t.equal(r.error, 'ECONNRESET', 'reset, not a clean end')
    const m = await scrape(gw.app)
    t.equal(m.value('gateway_upstream_errors_total', { pool: 'db', backend: d1.id, reason: 'connect' }), 1, 'both were tried')
    t.equal(m.value('gateway_upstream_errors_total', { pool: 'db', backend: d2.id, reason: 'connect' }), 1)
    t.equal(openTcp(gw.app), 0)
    t.same(gw.app.pools.get('db')!.snapshot().map((b) => b.inFlight), [0, 0])
  })

  t.test('retry.attempts: 1 gives the client no second try', async (t) => {
    const a = await startTcpBackend(t, 'alive')
    const d = await dead()
    const gw = await startTcpGateway(t, tcpYaml([d, a], { poolExtra: '    retry: { attempts: 1 }\n' }))
    const first = await exchange(gw.tcpPort, 'whoami\n')
    t.equal(first.data.length, 0, 'the connection that drew the dead backend got nothing')
    t.equal(first.error, 'ECONNRESET')
    const second = await exchange(gw.tcpPort, 'whoami\n')
    t.equal(split(second.data).name, 'alive', 'the next one reaches the live backend')
    t.equal(a.accepted, 1)
  })
})
