// An upgrade whose backend refuses the connection is retried on another backend.
import t from 'tap'
import { deadUrl, startGateway } from './helpers/gateway.js'
import { open, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('failover: a refused connect is retried on another backend', async (t) => {
  const live = await startWsBackend(t, 'live')
  const dead = await deadUrl()
  const gw = await startGateway(t, wsYaml([{ url: dead }, live], '', '    retry: { attempts: 2 }\n'))
  for (let i = 0; i < 6; i++) {
    const ws = await open(t, wsUrl(gw.port))
    t.equal(await roundTrip(ws, 'whoami'), 'live', `upgrade ${i + 1} succeeded on the live backend`)
    ws.close()
  }
  t.equal(live.accepted, 6)
  t.ok(gw.app.pools.get('web')!.find(new URL(dead).host)!.requests >= 1, 'the dead backend was tried (and failed over from)')
})
