// Shutdown while a tcp backend connect is pending: the connection, established after shutdown
// began, is ended after drainTimeout and app.close() resolves.
// (lib/conn/registry.ts add() gives a tunnel registered after shutdown began the same grace.)
import t from 'tap'
import { connecting, refused, startSlowTcpBackend, startTcpGateway, tcpClient, tcpYaml } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('a shutdown while a backend connect is pending ends the late connection and resolves', async (t) => {
  const slow = await startSlowTcpBackend(t)
  const opts = { poolExtra: '    timeouts: { connect: 10s }\n', listener: { drainTimeout: '200ms', idleTimeout: 0 } }
  const g2 = await startTcpGateway(t, tcpYaml([slow], opts)) // shut down while connecting
  if (!await slow.stall(700)) {
    t.pass('delayed backend connects', { skip: 'could not delay connects to the backend on this system' })
    return
  }
  const c2 = tcpClient(t, g2.tcpPort)
  c2.write('two')
  await waitFor(() => connecting(g2.app, slow.id), { message: 'the gateway is connecting to the backend' })

  // While the connect is pending: a shutdown.
  const closing = g2.app.close()
  t.ok(connecting(g2.app, slow.id), 'the connects were still pending')

  // The connect completes about 1 s after it began; drainTimeout is 200ms. 4 s is a guard.
  const sleep = async (ms: number): Promise<false> => await new Promise((resolve) => setTimeout(() => { resolve(false) }, ms))
  const closedInTime = await Promise.race([closing.then(() => true), sleep(4000)])
  t.ok(closedInTime, 'gateway 2: app.close() resolved, the late connection ended after drainTimeout')
  if (!closedInTime) {
    t.ok(c2.text === 'two' && !c2.ended, 'the connection was established after shutdown began and left open')
    c2.destroy()
    await closing
  }
  t.equal((await refused(g2.tcpPort)).error, 'ECONNREFUSED', 'gateway 2 is closed')
})
