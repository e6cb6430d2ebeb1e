import t from 'tap'
import { once } from 'node:events'
import { poolYaml, send, startBackend, startGateway, deadUrl } from './helpers/gateway.js'
import { scrape } from './helpers/metrics.js'

t.test('request, latency, error and retry metrics move with traffic', async (t) => {
  const live = await startBackend(t, 'live')
  const dead = await deadUrl()
  const gw = await startGateway(t, poolYaml([{ url: dead }, live]))
  const liveId = `127.0.0.1:${live.port}`
  const deadId = dead.slice('http://'.length)
  const before = await scrape(gw.app)
  t.equal(before.value('gateway_requests_total'), 0, 'nothing counted before traffic')

  for (let i = 0; i < 4; i++) t.equal((await send(gw.url + '/')).status, 200)
  await send(gw.url + '/', { method: 'POST', body: 'x' }) // to the dead backend first? POST is never retried
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_requests_total', { pool: 'web', backend: liveId, method: 'GET', code: '200' }), 4, 'four GETs answered 200 by live')
  t.equal(m.value('gateway_requests_total', { code: '502' }) + m.value('gateway_requests_total', { code: '200', method: 'POST' }), 1, 'the POST counted once, by its final status')
  t.equal(m.value('gateway_retries_total', { pool: 'web', reason: 'connect' }), 2, 'two GETs started at the dead backend and were retried')
  t.ok(m.value('gateway_upstream_errors_total', { pool: 'web', backend: deadId, reason: 'connect' }) >= 2, 'connect errors counted against the dead backend')
  t.equal(m.count('gateway_request_duration_seconds'), 5, 'every request observed in the duration histogram')
  t.ok(m.count('gateway_backend_response_seconds') >= 4, 'backend RTT observed per answer (only the live backend answers: one series)')
  t.equal(m.value('gateway_in_flight_requests', { backend: liveId }), 0, 'nothing in flight after the answers')
  t.equal(m.value('gateway_backends_healthy', { pool: 'web' }), 2)
  t.equal(m.value('gateway_backend_up', { backend: liveId }), 1)
  t.ok(m.families.has('process_cpu_user_seconds_total'), 'process CPU')
  t.ok(m.families.has('process_resident_memory_bytes'), 'resident memory')
  t.ok(m.families.has('nodejs_eventloop_lag_seconds'), 'event-loop lag')
  for (const f of m.families.values()) {
    if (f.name.startsWith('gateway_')) {
      for (const s of f.metrics) {
        for (const k of Object.keys(s.labels ?? {})) t.ok(['pool', 'backend', 'method', 'code', 'reason', 'result', 'to', 'le'].includes(k), `${f.name}: bounded label ${k}`)
      }
    }
  }
})

t.test('unrouted and rejected requests are counted with empty backend', async (t) => {
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, poolYaml([live], 'routes: [ { match: { pathPrefix: /api }, pool: web } ]\n'))
  await send(gw.url + '/nowhere')
  gw.app.pools.get('web')!.setEnabled(`127.0.0.1:${live.port}`, false)
  await send(gw.url + '/api')
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_requests_total', { pool: '', backend: '', code: '404' }), 1)
  t.equal(m.value('gateway_requests_total', { pool: 'web', backend: '', code: '503' }), 1)
  t.equal(m.value('gateway_backend_up', { pool: 'web' }), 0, 'the disabled backend is down')
  t.equal(m.value('gateway_backends_healthy', { pool: 'web' }), 0)
})

t.test('circuit and health metrics follow the events', async (t) => {
  const flaky = await startBackend(t, 'flaky', (req) => { req.socket.destroy() })
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, poolYaml([flaky, live], '', '    retry: { attempts: 1 }\n    circuitBreaker: { consecutiveFailures: 2, openDuration: 1m, maxOpenDuration: 2m }\n'))
  for (let i = 0; i < 6; i++) await send(gw.url + '/').catch(() => {})
  const flakyId = `127.0.0.1:${flaky.port}`
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_circuit_opens_total', { backend: flakyId }), 1, 'the circuit opened once')
  t.equal(m.value('gateway_circuit_state', { backend: flakyId }), 1, 'and is open (1)')
  t.equal(m.value('gateway_circuit_state', { backend: `127.0.0.1:${live.port}` }), 0, 'the other is closed (0)')
})

t.test('metrics on the client listener when asked', async (t) => {
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, poolYaml([live], 'metrics: { onClientListener: true, path: /_metrics }\n'))
  const r = await send(gw.url + '/_metrics')
  t.equal(r.status, 200)
  t.match(r.text, /# TYPE gateway_requests_total counter/)
  t.equal(live.seen.length, 0, 'served by the gateway, not proxied')
})

t.test('metrics.enabled: false records nothing on the request path', async (t) => {
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, poolYaml([live], 'metrics: { enabled: false }\n'))
  t.equal((await send(gw.url + '/')).status, 200)
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_requests_total'), 0)
  t.ok(m.families.has('process_resident_memory_bytes'), 'process metrics are still served')
})

t.test('health check and transition counters move as probes pass and fail', async (t) => {
  let healthy = true
  const b = await startBackend(t, 'b', (req, res) => {
    if (req.url === '/health' && !healthy) res.statusCode = 503
    res.end('ok')
  })
  const gw = await startGateway(t, poolYaml([b], '', '    healthCheck: { active: { interval: 50ms, timeout: 40ms, healthyThreshold: 1, unhealthyThreshold: 1 } }\n'))
  const pool = gw.app.pools.get('web')!
  const id = `127.0.0.1:${b.port}`
  healthy = false
  await once(pool.events, 'health')
  healthy = true
  await once(pool.events, 'health')
  const m = await scrape(gw.app)
  t.ok(m.value('gateway_health_checks_total', { backend: id, result: 'fail' }) >= 1, 'failed probes counted')
  t.ok(m.value('gateway_health_checks_total', { backend: id, result: 'pass' }) >= 1, 'passing probes counted')
  t.equal(m.value('gateway_health_transitions_total', { backend: id, to: 'unhealthy' }), 1)
  t.equal(m.value('gateway_health_transitions_total', { backend: id, to: 'healthy' }), 1)
})
