// Graceful shutdown with open WebSockets: they are closed with 1001 both ways, and close()
// resolves.
import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { waitFor, within } from './helpers/wait.js'
import { closed, open, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('graceful shutdown closes open sockets with 1001 and close() resolves', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b], 'websocket: { drainTimeout: 100ms }\n'))
  const ws = await open(t, wsUrl(gw.port))
  t.equal(await roundTrip(ws, 'hi'), 'hi')
  const c = closed(ws)
  await within(gw.app.close(), { message: 'app.close() resolved' })
  t.pass('app.close() resolved')
  t.equal((await c).code, 1001, 'the client got 1001')
  await waitFor(() => b.closeCodes.length > 0, { message: 'the backend saw its socket close', seen: () => b.closeCodes })
  t.same(b.closeCodes, [1001], 'the backend got 1001')
})
