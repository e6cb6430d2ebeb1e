import t from 'tap'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'

t.test('one access line per request with request id, pool, backend, method, path, status, bytes and duration', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b]))
  await send(gw.url + '/hello?x=1', { headers: { 'x-request-id': 'req-42' } })
  await send(gw.url + '/', { method: 'POST', body: 'abc' })
  const lines = gw.logs.filter((l) => l.msg === 'access')
  t.equal(lines.length, 2)
  const first = lines[0]!
  t.match(first, { reqId: 'req-42', pool: 'web', backend: `127.0.0.1:${b.port}`, method: 'GET', path: '/hello?x=1', status: 200, bytes: 2, level: 30 })
  t.type(first.ms, 'number')
  t.ok((first.ms as number) >= 0)
  t.equal(lines[1]!.method, 'POST')
  t.notOk(JSON.stringify(lines).includes('abc'), 'bodies are never logged')
})

t.test('requests answered without a backend are logged too, with their error code', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b], 'routes: [ { match: { pathPrefix: /only }, pool: web } ]\n'))
  await send(gw.url + '/elsewhere')
  const line = gw.logs.find((l) => l.msg === 'access')
  t.match(line, { status: 404, error: 'GW_ROUTE_NOT_FOUND', path: '/elsewhere', method: 'GET' })
})

t.test('log.access: false turns access lines off; errors are still logged', async (t) => {
  const gw = await startGateway(t, poolYaml([{ url: 'http://127.0.0.1:1' }], 'log: { access: false }\n'))
  const r = await send(gw.url + '/')
  t.equal(r.status, 502)
  t.equal(gw.logs.filter((l) => l.msg === 'access').length, 0)
  const err = gw.logs.find((l) => l.msg === 'upstream request failed')
  t.match(err, { level: 50, pool: 'web', backend: '127.0.0.1:1', code: 'GW_UPSTREAM_UNAVAILABLE' })
  t.type(err?.reqId, 'string')
})
