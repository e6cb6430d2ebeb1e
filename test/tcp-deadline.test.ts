// The deadline (timeouts.request) bounds TCP connect failover: backoffs and connects fit in it
// (docs/resilience.md#deadlines). Wide time bounds only; tests do not assert tight timings.
import t from 'tap'
import { performance } from 'node:perf_hooks'
import { dead, exchange, split, startSlowTcpBackend, startTcpBackend, startTcpGateway, tcpClient, tcpYaml } from './helpers/tcp.js'

t.test('a 60 s backoff is cut to the deadline: the connection fails over in time', async (t) => {
  const alive = await startTcpBackend(t, 'alive')
  const d = await dead()
  const gw = await startTcpGateway(t, tcpYaml([d, alive], {
    poolExtra: '    timeouts: { request: 800ms }\n    retry: { attempts: 2, backoff: { base: 60s, max: 60s } }\n'
  }))
  const start = performance.now()
  const r = await exchange(gw.tcpPort, 'whoami\nping')
  const ms = performance.now() - start
  t.equal(r.error, undefined)
  t.equal(split(r.data).name, 'alive')
  t.ok(ms < 1600, `the failover happened within the deadline (${Math.round(ms)} ms)`)
})

t.test('a connect slower than the deadline is cut at the deadline, not at timeouts.connect', async (t) => {
  const slow = await startSlowTcpBackend(t)
  const gw = await startTcpGateway(t, tcpYaml([slow], { poolExtra: '    timeouts: { connect: 20s, request: 500ms }\n' }))
  if (!await slow.stall(5000)) {
    t.pass('delayed backend connects', { skip: 'could not delay connects to the backend on this system' })
    return
  }
  const start = performance.now()
  const c = tcpClient(t, gw.tcpPort)
  c.write('whoami\nx')
  const end = await c.closed
  const ms = performance.now() - start
  t.equal(end.error, 'ECONNRESET', 'the client is reset: no backend in time')
  t.ok(ms < 3000, `at the deadline, not after the 20 s connect timeout (${Math.round(ms)} ms)`)
})
