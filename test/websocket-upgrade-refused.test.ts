// A backend that answers an upgrade without 101: the client gets that answer as it was.
import t from 'tap'
import type http from 'node:http'
import { startBackend, startGateway } from './helpers/gateway.js'
import { openWs, wsUrl, wsYaml } from './helpers/ws.js'

t.test('a backend that answers the upgrade without 101: the client gets that answer', async (t) => {
  const forbid = await startBackend(t, 'forbid', (_req, res) => { res.statusCode = 403; res.setHeader('x-why', 'nope'); res.end('forbidden here') })
  const gw = await startGateway(t, wsYaml([forbid]))
  const err = await openWs(wsUrl(gw.port, '/secret')).then(() => undefined, (e: { status?: number, body?: string, headers?: http.IncomingHttpHeaders }) => e)
  t.ok(err !== undefined, 'refused')
  t.equal(err!.status, 403)
  t.equal(err!.body, 'forbidden here', 'with the backend\'s body')
  t.equal(err!.headers!['x-why'], 'nope', 'and headers')
  t.equal(forbid.seen[0]!.url, '/secret')
  t.equal(forbid.seen[0]!.headers.upgrade, 'websocket', 'the backend was asked to upgrade')
})
