// A plugin's own @fastify/websocket route is served by the gateway itself; other paths on the
// websocket route are proxied.
import t from 'tap'
import { once } from 'node:events'
import { WebSocket } from 'ws'
import { startGateway } from './helpers/gateway.js'
import { closed, nextMessage, open, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

const OWN_ROUTE = `
import fp from 'fastify-plugin'
export default fp(async (app) => {
  app.route({ method: 'GET', url: '/own', websocket: true, handler: (socket) => { socket.send('own') } })
})
`

t.test('a plugin\'s own @fastify/websocket route is served by the gateway; other paths are proxied', async (t) => {
  const dir = t.testdir({ 'own.mjs': OWN_ROUTE })
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b], 'plugins:\n  - { module: ./own.mjs }\n'), {}, dir)
  // The handler sends at once: the listener must be on before 'open' (the message may come with the 101).
  const own = new WebSocket(wsUrl(gw.port, '/own'))
  const first = nextMessage(own)
  await once(own, 'open')
  t.equal(own.protocol, '', 'a plain ws connection')
  t.equal((await first).data.toString(), 'own', 'the plugin\'s handler answered')
  const ownClosed = closed(own)
  own.close(1000)
  t.equal((await ownClosed).code, 1000)
  t.equal(b.accepted, 0, 'nothing reached the backend')
  const other = await open(t, wsUrl(gw.port, '/elsewhere'))
  t.equal(await roundTrip(other, 'whoami'), 'b1', 'another path is proxied')
  t.equal(b.accepted, 1)
  t.equal(b.upgrades.length, 1)
})
