// maxConnections of a tcp listener: connections over the limit are closed at accept and never
// reach a backend; a freed slot serves again.
import t from 'tap'
import { exchange, openTcp, startTcpBackends, startTcpGateway, tcpYaml, whoami } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('maxConnections: connections over the limit are closed at accept', async (t) => {
  const [b] = await startTcpBackends(t, 1)
  const gw = await startTcpGateway(t, tcpYaml([b!], { listener: { maxConnections: 1 } }))
  const held = await whoami(t, gw.tcpPort)
  const over = await exchange(gw.tcpPort, 'whoami\n')
  t.equal(over.data.length, 0, 'the second connection got nothing')
  t.equal(b!.accepted, 1, 'and never reached the backend')
  held.client.end()
  await held.client.waitClosed()
  await waitFor(() => openTcp(gw.app) === 0, { message: 'the first one is closed', seen: () => openTcp(gw.app) })
  await waitFor(async () => (await exchange(gw.tcpPort, 'whoami\n')).data.toString() === 't1\n', { message: 'a new connection is served again' })
  t.equal(b!.accepted, 2)
})
