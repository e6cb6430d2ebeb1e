import t from 'tap'
import { once } from 'node:events'
import { poolYaml, send, startBackend, startBackends, startGateway } from './helpers/gateway.js'
import { within } from './helpers/wait.js'
import { admin } from './helpers/admin.js'
import { BACKEND_STATES } from '../lib/pool/state.js'

t.test('GET /admin/pools and /admin/pools/:pool show every backend with its live state', async (t) => {
  const backends = await startBackends(t, 2)
  const gw = await startGateway(t, poolYaml(backends))
  await send(gw.url + '/')
  const call = await admin(gw.app)
  const all = await call('GET', '/admin/pools')
  t.equal(all.status, 200)
  t.match(all.json.pools[0], { name: 'web', algorithm: 'round-robin', ready: 2 })
  t.match(all.json.pools[0].backends[0], { id: `127.0.0.1:${backends[0]!.port}`, url: backends[0]!.url, weight: 1, state: 'healthy', healthy: true, enabled: true, draining: false, circuit: 'none', inFlight: 0, requests: 1, errors: 0 })
  t.equal((await call('GET', '/admin/pools/web')).json.name, 'web')
  t.same(all.json.pools[0].backends, gw.app.pools.get('web')!.snapshot(), 'the response schema drops no field of the snapshot')
  const missing = await call('GET', '/admin/pools/nope')
  t.equal(missing.status, 404)
  t.equal(missing.json.error, 'GW_ADMIN_NOT_FOUND')
})

t.test('POST adds a backend that takes traffic at once; duplicates, bad URLs and unknown pools are refused', async (t) => {
  const [b1] = await startBackends(t, 1)
  const b2 = await startBackend(t, 'b2')
  const gw = await startGateway(t, poolYaml([b1!]))
  const call = await admin(gw.app)
  const added = await call('POST', '/admin/pools/web/backends', { url: b2.url, weight: 2, id: 'web-2' })
  t.equal(added.status, 201)
  t.match(added.json, { id: 'web-2', url: b2.url, weight: 2 })
  const seen = new Set<string>()
  for (let i = 0; i < 4; i++) seen.add((await send(gw.url + '/')).text)
  t.same([...seen].sort(), ['b1', 'b2'], 'the new backend is in the rotation')
  t.equal((await call('POST', '/admin/pools/web/backends', { url: b2.url, id: 'web-2' })).status, 409)
  const bad = await call('POST', '/admin/pools/web/backends', { url: 'ftp://x' })
  t.equal(bad.status, 400)
  t.match(bad.json.message, /url/)
  const badType = await call('POST', '/admin/pools/web/backends', { url: b2.url, weight: 'heavy' })
  t.equal(badType.status, 400)
  t.match(badType.json.message, /weight/, 'the message names the field')
  t.equal((await call('POST', '/admin/pools/nope/backends', { url: b2.url })).status, 404)
})

t.test('PATCH changes weight and enabled; drain lets in-flight requests finish and sends no new ones; DELETE removes', async (t) => {
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  let gotRequest!: () => void
  const arrived = new Promise<void>((resolve) => { gotRequest = resolve })
  const slow = await startBackend(t, 'slow', (_req, res) => { gotRequest(); void held.then(() => res.end('slow done')) })
  const fast = await startBackend(t, 'fast')
  const gw = await startGateway(t, poolYaml([slow, fast]))
  t.teardown(release) // before the gateway closes (teardowns run last first), should a step fail
  const call = await admin(gw.app)
  const slowId = `127.0.0.1:${slow.port}`

  t.match((await call('PATCH', `/admin/pools/web/backends/${slowId}`, { weight: 3 })).json, { weight: 3 })
  t.equal((await call('PATCH', `/admin/pools/web/backends/${slowId}`, {})).status, 400, 'an empty change is refused')
  t.equal((await call('PATCH', '/admin/pools/web/backends/nope', { enabled: false })).status, 404)

  const inFlight = send(gw.url + '/') // round robin: the slow backend first
  await within(arrived, { message: 'the slow backend got the request' })
  const drain = await call('POST', `/admin/pools/web/backends/${slowId}/drain`)
  t.equal(drain.status, 202)
  t.match(drain.json, { draining: true, inFlight: 1 })
  for (let i = 0; i < 4; i++) t.equal((await send(gw.url + '/')).text, 'fast', 'no new request reaches the draining backend')
  release()
  t.equal((await inFlight).text, 'slow done', 'the in-flight request finished')

  const pool = gw.app.pools.get('web')!
  const removed = once(pool.events, 'removed')
  const del = await call('DELETE', `/admin/pools/web/backends/${slowId}`)
  t.equal(del.status, 202)
  await within(removed, { message: 'the pool removed the backend (its \'removed\' event)', seen: () => pool.backends.map((b) => b.id) })
  t.same((await call('GET', '/admin/pools/web')).json.backends.map((b: { id: string }) => b.id), [`127.0.0.1:${fast.port}`])
  const metrics = String((await call('GET', '/metrics')).json)
  t.notOk(metrics.includes(slowId), 'the removed backend\'s metric series are gone')
  t.ok(metrics.includes(`127.0.0.1:${fast.port}`), 'the other backend\'s stay')
})

t.test('with admin.token set, /admin needs the bearer token; /healthz, /readyz and /metrics stay open', async (t) => {
  const [b] = await startBackends(t, 1)
  const gw = await startGateway(t, poolYaml([b!], 'admin: { token: s3cret-token }\n'))
  const call = await admin(gw.app, 's3cret-token')
  t.equal((await call('GET', '/admin/pools')).status, 200)
  const none = await call('GET', '/admin/pools', undefined, '')
  t.equal(none.status, 401)
  t.equal(none.json.error, 'GW_ADMIN_UNAUTHORIZED')
  t.equal((await call('GET', '/admin/pools', undefined, 'wrong')).status, 401)
  t.equal((await call('GET', '/healthz', undefined, '')).status, 200)
  t.equal((await call('GET', '/readyz', undefined, '')).status, 200)
  t.equal((await call('GET', '/metrics', undefined, '')).status, 200)
})

t.test('the OpenAPI document lists the admin routes', async (t) => {
  const [b] = await startBackends(t, 1)
  const gw = await startGateway(t, poolYaml([b!]))
  const doc = (await (await admin(gw.app))('GET', '/docs/json')).json
  t.equal(doc.openapi.slice(0, 2), '3.')
  t.ok(doc.paths['/admin/pools/{pool}/backends'].post, 'POST backends documented')
  t.ok(doc.paths['/admin/pools/{pool}/backends/{id}'].patch, 'PATCH documented')
  // Every answer that carries backends documents `state` as an enum of the words (issue 13).
  const json = (route: string, method: string, code: string) => doc.paths[route][method].responses[code].content['application/json'].schema
  const backendSchemas = {
    'GET /admin/pools': json('/admin/pools', 'get', '200').properties.pools.items.properties.backends.items,
    'GET /admin/pools/{pool}': json('/admin/pools/{pool}', 'get', '200').properties.backends.items,
    'POST backends': json('/admin/pools/{pool}/backends', 'post', '201'),
    'PATCH backend': json('/admin/pools/{pool}/backends/{id}', 'patch', '200'),
    'POST drain': json('/admin/pools/{pool}/backends/{id}/drain', 'post', '202')
  }
  for (const [route, schema] of Object.entries(backendSchemas)) {
    t.match(schema.properties.state, { type: 'string', enum: [...BACKEND_STATES] }, `${route}: state is an enum of the words`)
    t.ok(schema.properties.healthy && schema.properties.draining && schema.properties.circuit, `${route}: the flags are documented too`)
  }
})
