import t from 'tap'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'

t.test('a route rate limit answers 429 with Retry-After past max, per client key; other routes are not limited', async (t) => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `routes:
  - { match: { pathPrefix: /limited }, pool: web, rateLimit: { max: 3, window: 1m, key: { header: x-user } } }
  - { match: { pathPrefix: / }, pool: web }
`))
  const codes: number[] = []
  for (let i = 0; i < 5; i++) codes.push((await send(gw.url + '/limited', { headers: { 'x-user': 'alice' } })).status)
  t.same(codes, [200, 200, 200, 429, 429], 'alice gets three in the window')
  const over = await send(gw.url + '/limited', { headers: { 'x-user': 'alice' } })
  t.equal(over.status, 429)
  t.same(JSON.parse(over.text).error, 'GW_RATE_LIMITED')
  t.ok(Number(over.headers['retry-after']) > 0, 'with Retry-After')
  t.equal((await send(gw.url + '/limited', { headers: { 'x-user': 'bob' } })).status, 200, 'bob has his own budget')
  for (let i = 0; i < 6; i++) t.equal((await send(gw.url + '/open')).status, 200, 'the route without a limit is not limited')
  t.equal(b.seen.filter((s) => s.url === '/limited').length, 4, 'refused requests never reached the backend')
})
