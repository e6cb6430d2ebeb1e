// Shutdown with open tcp connections: they are ended (FIN both ways) after drainTimeout, close()
// resolves, and the listener is gone.
import t from 'tap'
import { refused, startTcpBackends, startTcpGateway, tcpYaml, whoami } from './helpers/tcp.js'
import { within } from './helpers/wait.js'

t.test('shutdown: app.close() ends open tcp connections after drainTimeout and resolves; new connections are refused', async (t) => {
  const [b] = await startTcpBackends(t, 1)
  const gw = await startTcpGateway(t, tcpYaml([b!], { listener: { drainTimeout: '200ms' } }))
  const held = await whoami(t, gw.tcpPort)
  const closing = gw.app.close()
  const end = await held.client.waitClosed()
  t.ok(end.ended, 'the client got a FIN')
  t.equal(end.error, undefined, 'not a reset')
  await within(closing, { message: 'app.close() resolved' })
  t.pass('close resolved')
  t.ok(b!.endsSeen >= 1, 'the backend got a FIN')
  t.equal((await refused(gw.tcpPort)).error, 'ECONNREFUSED', 'the tcp listener is gone')
})
