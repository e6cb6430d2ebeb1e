import t from 'tap'
import { loadConfigText, type ConfigError } from '../lib/config/load.js'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'

t.test('per-route header rules set and remove headers on the forwarded request and on the answer', async (t) => {
  const b = await startBackend(t, 'b', (_req, res) => {
    res.setHeader('server', 'internal/1.2.3')
    res.setHeader('x-powered-by', 'secret-framework')
    res.end('ok')
  })
  const gw = await startGateway(t, poolYaml([b], `routes:
  - match: { pathPrefix: /api }
    pool: web
    headers:
      request: { set: { X-Env: prod, X-Client: gateway }, remove: [cookie] }
      response: { set: { Strict-Transport-Security: max-age=31536000 }, remove: [server, x-powered-by] }
  - { match: { pathPrefix: / }, pool: web }
`))
  const r = await send(gw.url + '/api/x', { headers: { cookie: 'sid=1', 'x-client': 'forged' } })
  t.equal(r.status, 200)
  const h = b.seen[0]!.headers
  t.equal(h['x-env'], 'prod')
  t.equal(h['x-client'], 'gateway', 'set replaces what the client sent')
  t.equal(h.cookie, undefined, 'removed')
  t.equal(r.headers['strict-transport-security'], 'max-age=31536000')
  t.equal(r.headers.server, undefined)
  t.equal(r.headers['x-powered-by'], undefined)
  const other = await send(gw.url + '/elsewhere', { headers: { cookie: 'sid=1' } })
  t.equal(other.headers.server, 'internal/1.2.3', 'rules belong to their route only')
  t.equal(b.seen[1]!.headers.cookie, 'sid=1')
})

t.test('rules cannot set the gateway\'s own framing headers', async (t) => {
  const yaml = poolYaml([{ url: 'http://127.0.0.1:9' }], 'routes:\n  - { match: { pathPrefix: / }, pool: web, headers: { request: { set: { Host: evil } } } }\n')
  let issues: ConfigError['issues'] = []
  try { loadConfigText(yaml, { env: {} }) } catch (err) { issues = (err as ConfigError).issues }
  t.same(issues.map((i) => [i.path, i.message]), [['routes[0].headers.request.set.Host', 'host is managed by the gateway and cannot be set']])
})
