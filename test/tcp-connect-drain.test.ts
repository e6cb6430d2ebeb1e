// A tcp backend drained while the gateway's connect to it is still pending: the connection,
// established after the drain began, is ended after drainTimeout like the others.
// (lib/conn/registry.ts add() gives a tunnel registered after a drain began the same grace.)
import t from 'tap'
import { connecting, startSlowTcpBackend, startTcpGateway, tcpClient, tcpYaml } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('a drain while a backend connect is pending ends the late connection after drainTimeout', async (t) => {
  const slow = await startSlowTcpBackend(t)
  const opts = { poolExtra: '    timeouts: { connect: 10s }\n', listener: { drainTimeout: '200ms', idleTimeout: 0 } }
  const g1 = await startTcpGateway(t, tcpYaml([slow], opts)) // drained while connecting
  if (!await slow.stall(700)) {
    t.pass('delayed backend connects', { skip: 'could not delay connects to the backend on this system' })
    return
  }
  const c1 = tcpClient(t, g1.tcpPort)
  c1.write('one')
  await waitFor(() => connecting(g1.app, slow.id), { message: 'the gateway is connecting to the backend' })

  // While the connect is pending: a drain.
  const r = await g1.app.adminServer.inject({ method: 'POST', url: `/admin/pools/db/backends/${encodeURIComponent(slow.id)}/drain` })
  t.equal(r.statusCode, 202, 'gateway 1: the backend drains while the connect is in progress')
  t.ok(connecting(g1.app, slow.id), 'the connects were still pending')

  // The connect completes about 1 s after it began; drainTimeout is 200ms. 4 s is a guard.
  const sleep = async (ms: number): Promise<false> => await new Promise((resolve) => setTimeout(() => { resolve(false) }, ms))
  const end1 = await Promise.race([c1.closed, sleep(4000)])
  t.ok(end1 !== false, 'gateway 1 ended the connection to the drained backend')
})
