// Panic mode is visible: the pool reports entering and leaving it (event, log lines, gauge),
// from real health checks against real backends.
import t from 'tap'
import type { PoolEvents } from '../lib/pool.js'
import { poolYaml, send, startBackend, startGateway, type BackendHandler } from './helpers/gateway.js'
import { scrape } from './helpers/metrics.js'
import { waitFor } from './helpers/wait.js'

type PanicEvent = PoolEvents['panic'][0]

/** A backend answering its name, whose /health answers 503 while `sick.on` is true. */
function switchable (name: string, sick: { on: boolean }): BackendHandler {
  return (req, res) => {
    if (req.url === '/health' && sick.on) res.statusCode = 503
    res.end(name)
  }
}

t.test('a pool falling under panicThreshold logs, reports and exports panic; recovering ends it', async (t) => {
  const sick = { on: false }
  const list = [await startBackend(t, 'a', switchable('a', sick)), await startBackend(t, 'b', switchable('b', sick)), await startBackend(t, 'c')]
  // Probes get 500 ms: on a loaded CI machine a 100 ms timeout failed healthy backends before the test made them sick.
  const gw = await startGateway(t, poolYaml(list, '', `    healthCheck:
      active: { interval: 500ms, timeout: 500ms, unhealthyThreshold: 1, healthyThreshold: 1 }
    panicThreshold: 50
`))
  const pool = gw.app.pools.get('web')!
  const events: PanicEvent[] = []
  pool.events.on('panic', (e) => events.push(e))
  t.equal(pool.panic, false, 'three healthy backends: no panic')
  t.equal((await scrape(gw.app)).value('gateway_pool_panic', { pool: 'web' }), 0)

  sick.on = true
  await waitFor(() => events.length >= 1, { message: 'the pool entered panic', seen: () => pool.snapshot().map((s) => s.state) })
  t.same(events[0], { entered: true, healthy: 1, total: 3, threshold: 50 }, 'entered with 1 of 3 healthy (under 50%)')
  t.equal(pool.panic, true)
  t.equal((await scrape(gw.app)).value('gateway_pool_panic', { pool: 'web' }), 1, 'gauge reads 1')
  const entered = gw.logs.filter((l) => l.msg === 'pool entered panic mode: health is ignored')
  t.equal(entered.length, 1, 'one warn line for entering')
  t.match(entered[0], { level: 40, pool: 'web', healthy: 1, total: 3, threshold: 50 })
  // Health is ignored: the unhealthy backends get traffic again.
  const served = new Set<string>()
  for (let i = 0; i < 6; i++) served.add((await send(`${gw.url}/p${i}`)).text)
  t.same([...served].sort(), ['a', 'b', 'c'], 'all three backends serve while in panic')

  sick.on = false
  await waitFor(() => events.length >= 2, { message: 'the pool left panic', seen: () => pool.snapshot().map((s) => s.state) })
  t.match(events[1], { entered: false, total: 3, threshold: 50 }, 'left panic')
  t.ok(events[1]!.healthy >= 2, 'at least half healthy again')
  t.equal(pool.panic, false)
  t.equal((await scrape(gw.app)).value('gateway_pool_panic', { pool: 'web' }), 0, 'gauge back to 0')
  t.match(gw.logs.filter((l) => l.msg === 'pool left panic mode'), [{ level: 30, pool: 'web', entered: false }], 'one info line for leaving')
  t.equal(events.length, 2, 'no flapping reported in between')
})

t.test('without panicThreshold, losing backends never reports panic', async (t) => {
  const sick = { on: false }
  const list = [await startBackend(t, 'a', switchable('a', sick)), await startBackend(t, 'b')]
  const gw = await startGateway(t, poolYaml(list, '', `    healthCheck:
      active: { interval: 100ms, timeout: 100ms, unhealthyThreshold: 1 }
`))
  const pool = gw.app.pools.get('web')!
  let reported = 0
  pool.events.on('panic', () => { reported++ })
  sick.on = true
  await waitFor(() => pool.snapshot()[0]!.state === 'unhealthy', { message: 'a turned unhealthy', seen: () => pool.snapshot().map((s) => s.state) })
  t.equal(reported, 0, 'no panic event')
  t.equal(pool.panic, false)
  t.equal((await scrape(gw.app)).value('gateway_pool_panic', { pool: 'web' }), 0)
  t.equal(gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('panic')).length, 0, 'no panic log line')
})

t.test('a pool that starts in panic (initialState: unhealthy) says so at startup', async (t) => {
  const list = [await startBackend(t, 'a'), await startBackend(t, 'b')]
  const gw = await startGateway(t, poolYaml(list, '', `    healthCheck:
      active: { interval: 1h, initialState: unhealthy }
    panicThreshold: 50
`))
  t.equal(gw.app.pools.get('web')!.panic, true)
  t.match(gw.logs.filter((l) => l.msg === 'pool is in panic mode: health is ignored'), [{ level: 40, pool: 'web', threshold: 50 }])
  t.equal((await scrape(gw.app)).value('gateway_pool_panic', { pool: 'web' }), 1)
})
