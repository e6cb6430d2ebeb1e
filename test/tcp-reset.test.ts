// A reset (RST) on either side of a tcp tunnel closes the other side.
import t from 'tap'
import { echoHandler, openTcp, startTcpBackend, startTcpGateway, tcpYaml, whoami } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('a reset on one side closes the other side', async (t) => {
  const b = await startTcpBackend(t, 'resetter', (socket, backend) => {
    socket.on('data', (c: Buffer) => { if (c.toString().includes('RESET')) socket.resetAndDestroy() })
    echoHandler(socket, backend)
  })
  const gw = await startTcpGateway(t, tcpYaml([b]))
  const byBackend = await whoami(t, gw.tcpPort)
  byBackend.client.write('RESET')
  const end = await byBackend.client.waitClosed()
  t.equal(end.data.toString().startsWith('resetter\n'), true)
  t.ok(end.ended || end.error !== undefined, 'the client connection was closed when the backend reset its side')
  await waitFor(() => openTcp(gw.app) === 0, { message: 'the gateway counts it closed', seen: () => openTcp(gw.app) })
  t.ok(gw.logs.some((l) => l.msg === 'tcp connection closed' && l.endedBy === 'error'), 'logged as ended by an error')

  const byClient = await whoami(t, gw.tcpPort)
  await waitFor(() => b.open === 1, { message: 'the backend has the connection', seen: () => b.open })
  byClient.client.socket.resetAndDestroy()
  await waitFor(() => b.open === 0, { message: 'the backend connection was closed after the client reset its side', seen: () => b.open })
  await waitFor(() => openTcp(gw.app) === 0, { message: 'the gateway counts it closed', seen: () => openTcp(gw.app) })
})
