// Active health checks through the gateway: what the probes decide is what the balancer uses.
import t from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import type { BackendPool, PoolEvents } from '../lib/pool.js'
import { errorBody, poolYaml, send, startBackend, startGateway, type BackendHandler, type TestBackend } from './helpers/gateway.js'

type HealthEvent = PoolEvents['health'][0]

/** Resolves once each of `ids` has had a 'health' event to `to`; listen before causing them. */
async function healthEvents (pool: BackendPool, ids: string[], to: 'healthy' | 'unhealthy', ms = 3000): Promise<HealthEvent[]> {
  const left = new Set(ids)
  const got: HealthEvent[] = []
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pool.events.off('health', listener)
      reject(new Error(`no 'health' event to ${to} within ${ms} ms for ${[...left].join(', ')}`))
    }, ms)
    const listener = (e: HealthEvent): void => {
      if (e.to !== to || !left.delete(e.backend)) return
      got.push(e)
      if (left.size > 0) return
      clearTimeout(timer)
      pool.events.off('health', listener)
      resolve(got)
    }
    pool.events.on('health', listener)
  })
}

const idOf = (b: { port: number }): string => `127.0.0.1:${b.port}`
/** Requests a backend served, health probes left out. */
const served = (b: TestBackend): number => b.seen.filter((r) => r.url !== '/health').length
/** Answers /health with `status`, everything else with its name. */
const healthAnswers = (name: string, status: number): BackendHandler => (req, res) => {
  if (req.url === '/health') res.statusCode = status
  res.end(name)
}

// Short enough for a quick test; the probe timeout leaves room for a busy test machine.
const FAST = '{ interval: 150ms, timeout: 150ms, healthyThreshold: 2, unhealthyThreshold: 2 }'
const checks = (active: string): string => `    healthCheck:\n      active: ${active}\n`

t.test('a backend whose /health answers 503 is taken out; the others share the traffic', async (t) => {
  const sick = await startBackend(t, 'sick', healthAnswers('sick', 503))
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([sick, a, b], '', checks(FAST)))
  const pool = gw.app.pools.get('web')!
  const [event] = await healthEvents(pool, [idOf(sick)], 'unhealthy')
  t.match(event, { backend: idOf(sick), from: 'healthy', to: 'unhealthy', reason: 'status 503' })

  const before = served(sick)
  const answers: string[] = []
  for (let i = 0; i < 6; i++) answers.push((await send(`${gw.url}/page`)).text)
  t.equal(served(sick), before, 'the unhealthy backend gets no requests')
  // Round robin over [sick, a, b]: sick's turns pass to the next ready backend, so a and b
  // alternate and keep equal shares (as for a disabled backend, proxy-balancing.test.ts).
  t.equal(answers.filter((x) => x === 'a').length, 3, 'the healthy ones take the turns, equally')
  t.ok(answers.every((x, i) => i === 0 || x !== answers[i - 1]), `they alternate: ${answers.join(' ')}`)
  t.match(pool.snapshot(), [{ id: idOf(sick), healthy: false, ready: false }, { healthy: true, ready: true }, { healthy: true, ready: true }])
})

t.test('initialState: unhealthy: no traffic until the first passing probes', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  // interval 300ms, healthyThreshold 2: the second passing probe comes at least 240ms after start.
  const gw = await startGateway(t, poolYaml([a, b], '', checks('{ interval: 300ms, timeout: 200ms, healthyThreshold: 2, initialState: unhealthy }')))
  const pool = gw.app.pools.get('web')!
  const up = healthEvents(pool, [idOf(a), idOf(b)], 'healthy')

  t.match(pool.snapshot(), [{ healthy: false, ready: false }, { healthy: false, ready: false }], 'both start unhealthy')
  const early = await send(`${gw.url}/early`)
  t.equal(early.status, 503)
  t.equal(errorBody(early.text).error, 'GW_NO_BACKEND')
  t.equal(served(a) + served(b), 0, 'nothing was forwarded')

  const events = await up
  t.same(events.map((e) => e.reason), ['passed', 'passed'])
  const r = await send(`${gw.url}/later`)
  t.equal(r.status, 200, 'served once the probes have passed')
  t.equal(served(a) + served(b), 1)
})

t.test('type: tcp marks a closed port unhealthy; requests then go straight to the live backend', async (t) => {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const deadPort = (s.address() as AddressInfo).port
  await new Promise((resolve) => s.close(resolve))
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, poolYaml([{ url: `http://127.0.0.1:${deadPort}` }, live], '',
    checks('{ type: tcp, interval: 150ms, timeout: 150ms, unhealthyThreshold: 2 }') + '    retry: { attempts: 1 }\n'))
  const pool = gw.app.pools.get('web')!
  const [event] = await healthEvents(pool, [`127.0.0.1:${deadPort}`], 'unhealthy')
  t.equal(event?.reason, 'connect')

  // Without retries, any request sent to the dead port would come back as a 502.
  for (let i = 0; i < 4; i++) t.equal((await send(`${gw.url}/x`)).text, 'live', `request ${i + 1}`)
  t.equal(live.seen.length, 4, 'tcp probes send no HTTP request')
  t.match(pool.snapshot(), [{ healthy: false }, { healthy: true }])
})

t.test('every backend unhealthy: 503 GW_NO_BACKEND with Retry-After, nothing forwarded', async (t) => {
  const a = await startBackend(t, 'a', healthAnswers('a', 503))
  const b = await startBackend(t, 'b', healthAnswers('b', 500))
  const gw = await startGateway(t, poolYaml([a, b], '', checks(FAST)))
  const pool = gw.app.pools.get('web')!
  await healthEvents(pool, [idOf(a), idOf(b)], 'unhealthy')

  const r = await send(`${gw.url}/x`)
  t.equal(r.status, 503)
  t.equal(errorBody(r.text).error, 'GW_NO_BACKEND')
  t.equal(r.headers['retry-after'], '1')
  t.equal(served(a) + served(b), 0)
  t.equal(pool.readyCount(), 0)
})
