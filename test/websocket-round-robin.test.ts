// round-robin spreads WebSocket connections evenly over the backends.
import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { open, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('balancing: round-robin spreads connections', async (t) => {
  const rr = [await startWsBackend(t, 'b1'), await startWsBackend(t, 'b2'), await startWsBackend(t, 'b3')]
  const gw = await startGateway(t, wsYaml(rr, '', '    algorithm: round-robin\n'))
  const names: string[] = []
  for (let i = 0; i < 9; i++) {
    const ws = await open(t, wsUrl(gw.port))
    names.push(await roundTrip(ws, 'whoami'))
    ws.close()
  }
  t.same(rr.map((b) => b.accepted), [3, 3, 3], 'each backend accepted 3 of 9')
  t.same(names.slice(0, 3).sort(), ['b1', 'b2', 'b3'])
})
