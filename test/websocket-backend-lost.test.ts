// A backend connection lost without a close frame: the client gets 1014 (Bad Gateway, in the
// IANA WebSocket close code registry), and the connection leaves the pool counts.
import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { waitFor } from './helpers/wait.js'
import { closed, open, openCount, roundTrip, serverSockets, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('a backend that dies without a close frame: the client gets close 1014', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const ws = await open(t, wsUrl(gw.port))
  t.equal(await roundTrip(ws, 'hi'), 'hi')
  const c = closed(ws)
  for (const s of serverSockets(b)) s.terminate()
  const { code } = await c
  t.equal(code, 1014, '1014 Bad Gateway: the upstream connection was lost')
  await waitFor(() => openCount(gw.app) === 0, { message: 'the connection is no longer counted', seen: () => openCount(gw.app) })
  t.pass('the connection is no longer counted')
})
