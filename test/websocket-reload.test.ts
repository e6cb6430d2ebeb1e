// Reloads and open WebSockets: sockets on backends the reload keeps are untouched; a removed
// backend's sockets are closed with 1001 (going away) after drainTimeout.
import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { reloadConfigOf as cfg } from './helpers/reload-config.js'
import { waitFor } from './helpers/wait.js'
import { closed, open, openCount, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('reloads: sockets on kept backends survive; a removed backend\'s sockets get 1001 after drainTimeout', async (t) => {
  const b1 = await startWsBackend(t, 'b1')
  const b2 = await startWsBackend(t, 'b2')
  const extra = 'websocket: { drainTimeout: 200ms }\n'
  const yaml = wsYaml([b1, b2], extra)
  const gw = await startGateway(t, yaml)
  const s1 = await open(t, wsUrl(gw.port))
  const s2 = await open(t, wsUrl(gw.port))
  t.same([await roundTrip(s1, 'whoami'), await roundTrip(s2, 'whoami')], ['b1', 'b2'])

  await gw.app.reloadConfig(cfg(yaml))
  t.equal(await roundTrip(s1, 'after same'), 'after same', 'same config: the b1 socket still echoes')
  t.equal(await roundTrip(s2, 'after same'), 'after same', 'and the b2 one')

  const changedRoutes = yaml.replace('routes:\n', 'routes:\n  - { match: { pathPrefix: /other }, pool: web }\n')
  t.not(changedRoutes, yaml)
  await gw.app.reloadConfig(cfg(changedRoutes))
  t.equal(await roundTrip(s1, 'after routes'), 'after routes', 'unrelated route change: sockets still echo')
  t.equal(await roundTrip(s2, 'after routes'), 'after routes')
  t.equal(openCount(gw.app), 2, 'both still counted in the new pool')

  const s1Closed = closed(s1)
  await gw.app.reloadConfig(cfg(wsYaml([b2], extra)))
  t.equal((await s1Closed).code, 1001, 'the socket on the removed backend is closed with 1001 once drainTimeout has passed')
  await waitFor(() => b1.closeCodes.length > 0, { message: 'the removed backend saw its socket close', seen: () => b1.closeCodes })
  t.same(b1.closeCodes, [1001], 'the removed backend got 1001 too')
  t.equal(await roundTrip(s2, 'kept'), 'kept', 'the socket on the kept backend is untouched')
  const s3 = await open(t, wsUrl(gw.port))
  t.equal(await roundTrip(s3, 'whoami'), 'b2', 'new connections go to the remaining backend')
  t.equal(b2.closeCodes.length, 0)
})
