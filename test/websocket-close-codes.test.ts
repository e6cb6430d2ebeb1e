// Close codes and reasons pass through the gateway both ways.
import t from 'tap'
import { once } from 'node:events'
import { startGateway } from './helpers/gateway.js'
import { waitFor } from './helpers/wait.js'
import { closed, open, openCount, serverSockets, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('close codes pass through both ways', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))

  const c1 = await open(t, wsUrl(gw.port))
  const backendReason = once(serverSockets(b)[0]!, 'close') as Promise<[number, Buffer]>
  const c1Closed = closed(c1)
  c1.close(4001, 'x')
  const [code, reason] = await backendReason
  t.equal(code, 4001, 'the backend got the client\'s code')
  t.equal(reason.toString(), 'x', 'and its reason')
  t.equal((await c1Closed).code, 4001, 'the backend\'s echo of the close reached the client')
  t.same(b.closeCodes, [4001])

  const c2 = await open(t, wsUrl(gw.port))
  const c2Closed = closed(c2)
  c2.send('close:4002')
  t.same(await c2Closed, { code: 4002, reason: 'bye' }, 'the client got the backend\'s code and reason')
  await waitFor(() => openCount(gw.app) === 0, { message: 'both connections are gone from the pool counts', seen: () => openCount(gw.app) })
  t.pass('both connections are gone from the pool counts')
})
