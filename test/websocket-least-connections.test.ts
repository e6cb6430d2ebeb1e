// least-connections counts open WebSockets: a new connection goes to the backend with the
// fewest open.
import t from 'tap'
import type { WebSocket } from 'ws'
import { startGateway } from './helpers/gateway.js'
import { waitFor } from './helpers/wait.js'
import { closed, open, openCount, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('balancing: least-connections counts open sockets', async (t) => {
  const lc = [await startWsBackend(t, 'l1'), await startWsBackend(t, 'l2'), await startWsBackend(t, 'l3')]
  const gw2 = await startGateway(t, wsYaml(lc, '', '    algorithm: least-connections\n'))
  const sockets: Array<{ ws: WebSocket, name: string }> = []
  for (let i = 0; i < 6; i++) {
    const ws = await open(t, wsUrl(gw2.port))
    sockets.push({ ws, name: await roundTrip(ws, 'whoami') })
  }
  t.same(sockets.map((s) => s.name).sort(), ['l1', 'l1', 'l2', 'l2', 'l3', 'l3'], 'six open sockets spread 2/2/2')
  // Close both sockets on l2 and one on l3: open sockets are then l1 2, l2 0, l3 1.
  const toClose = [...sockets.filter((s) => s.name === 'l2'), sockets.find((s) => s.name === 'l3')!]
  for (const s of toClose) {
    const c = closed(s.ws)
    s.ws.close()
    await c
  }
  await waitFor(() => openCount(gw2.app) === 3, { message: 'the pool counts three open sockets', seen: () => openCount(gw2.app) })
  const next: string[] = []
  for (let i = 0; i < 3; i++) {
    const ws = await open(t, wsUrl(gw2.port))
    next.push(await roundTrip(ws, 'whoami'))
  }
  t.same(next.sort(), ['l2', 'l2', 'l3'], 'new connections go to the backends with the fewest open sockets')
  t.same(gw2.app.pools.get('web')!.snapshot().map((s) => s.websockets), [2, 2, 2])
})
