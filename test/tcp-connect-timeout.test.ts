// timeouts.connect on a tcp pool: a backend connect that does not complete in time fails over
// to another backend, and is counted as a timeout.
import t from 'tap'
import { scrape } from './helpers/metrics.js'
import { startSlowTcpBackend, startTcpBackend, startTcpGateway, tcpClient, tcpYaml } from './helpers/tcp.js'

t.test('a backend connect that takes longer than timeouts.connect fails over to the other backend', async (t) => {
  const slow = await startSlowTcpBackend(t)
  const alive = await startTcpBackend(t, 'alive')
  const g3 = await startTcpGateway(t, tcpYaml([slow, alive], { poolExtra: '    timeouts: { connect: 300ms }\n' }))
  if (!await slow.stall(700)) {
    t.pass('delayed backend connects', { skip: 'could not delay connects to the backend on this system' })
    return
  }
  const c3 = tcpClient(t, g3.tcpPort)
  c3.write('whoami\nthree')

  // Connect timeout (gateway 3): the connection fails over to the other backend.
  t.equal(await c3.waitFor('three'), 'alive\nthree', 'gateway 3: after the connect timeout the connection went to the other backend')
  const m3 = await scrape(g3.app)
  t.equal(m3.value('gateway_upstream_errors_total', { pool: 'db', backend: slow.id, reason: 'timeout' }), 1, 'counted as a timeout')
})
