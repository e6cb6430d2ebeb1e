// An admin drain of a WebSocket backend: new connections go elsewhere, and its sockets are
// closed with 1001 both ways after drainTimeout.
import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { waitFor } from './helpers/wait.js'
import { closed, idOf, open, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('admin drain: the backend\'s sockets get 1001 both ways after drainTimeout; new ones go elsewhere', async (t) => {
  const b1 = await startWsBackend(t, 'b1')
  const b2 = await startWsBackend(t, 'b2')
  const gw = await startGateway(t, wsYaml([b1, b2], 'websocket: { drainTimeout: 200ms }\n'))
  const s1 = await open(t, wsUrl(gw.port))
  const s2 = await open(t, wsUrl(gw.port))
  t.same([await roundTrip(s1, 'whoami'), await roundTrip(s2, 'whoami')], ['b1', 'b2'])
  const s1Closed = closed(s1)
  const r = await gw.app.adminServer.inject({ method: 'POST', url: `/admin/pools/web/backends/${idOf(b1)}/drain` })
  t.equal(r.statusCode, 202)
  t.match(r.json(), { draining: true, websockets: 1 })
  for (let i = 0; i < 3; i++) {
    const ws = await open(t, wsUrl(gw.port))
    t.equal(await roundTrip(ws, 'whoami'), 'b2', 'a new connection goes to the other backend')
  }
  t.equal((await s1Closed).code, 1001, 'the client got 1001')
  await waitFor(() => b1.closeCodes.length > 0, { message: 'the drained backend saw its socket close', seen: () => b1.closeCodes })
  t.same(b1.closeCodes, [1001], 'the backend got 1001')
  t.equal(await roundTrip(s2, 'ok'), 'ok', 'the other backend\'s socket is untouched')
  const inFlight = (): number => gw.app.pools.get('web')!.find(idOf(b1))!.inFlight
  await waitFor(() => inFlight() === 0, { message: 'the drained backend has nothing in flight', seen: inFlight })
  t.pass('the drained backend has nothing in flight')
})
