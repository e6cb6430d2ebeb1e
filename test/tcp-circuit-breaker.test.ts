// Circuit breaking on a tcp pool: connect failures open the dead backend's circuit, and while
// it is open no connection is tried on it.
import t from 'tap'
import { scrape } from './helpers/metrics.js'
import { adminPool, dead, exchange, split, startTcpBackend, startTcpGateway, tcpYaml } from './helpers/tcp.js'

t.test('circuit breaker: connect failures open the dead backend\'s circuit; connections keep succeeding', async (t) => {
  const a = await startTcpBackend(t, 'alive')
  const d = await dead()
  const gw = await startTcpGateway(t, tcpYaml([d, a], { poolExtra: '    circuitBreaker: { consecutiveFailures: 2, openDuration: 10s }\n' }))
  for (let i = 0; i < 8; i++) {
    const r = await exchange(gw.tcpPort, `whoami\n${i}`)
    t.equal(r.error, undefined, `connection ${i} succeeded`)
    t.same(split(r.data), { name: 'alive', rest: String(i) })
  }
  const pool = await adminPool(gw.app)
  const byId = new Map(pool.backends.map((b) => [b.id, b]))
  t.equal(byId.get(d.id)?.circuit, 'open', 'the dead backend\'s circuit is open')
  t.equal(byId.get(a.id)?.circuit, 'closed')
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_upstream_errors_total', { pool: 'db', backend: d.id, reason: 'connect' }), 2,
    'two failures opened it; no connection was tried on it after that')
  t.equal(m.value('gateway_circuit_opens_total', { pool: 'db', backend: d.id }), 1)
  t.equal(m.value('gateway_circuit_state', { pool: 'db', backend: d.id }), 1)
  t.equal(a.accepted, 8)
})
