// Circuit breakers through the gateway: a backend failing real requests trips its breaker, the
// traffic goes elsewhere while it is open, and trials decide when it closes again. The breakers
// read the pool's clock, a FakeClock here: open durations pass when the test moves it, not by
// sleeping.
import t from 'tap'
import type { BackendPool, PoolEvents } from '../lib/pool.js'
import { FakeClock } from './helpers/fake-clock.js'
import { errorBody, poolYaml, send, startBackend, startGateway, type Reply } from './helpers/gateway.js'
import { waitFor } from './helpers/wait.js'

type CircuitEvent = PoolEvents['circuit'][0]

/** The next 'circuit' event for `id` to `to`; listen before causing it. Rejects after `ms`. */
async function nextCircuit (pool: BackendPool, id: string, to: CircuitEvent['to'], ms = 3000): Promise<CircuitEvent> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pool.events.off('circuit', listener)
      reject(new Error(`no 'circuit' event to ${to} for ${id} within ${ms} ms`))
    }, ms)
    const listener = (e: CircuitEvent): void => {
      if (e.backend !== id || e.to !== to) return
      clearTimeout(timer)
      pool.events.off('circuit', listener)
      resolve(e)
    }
    pool.events.on('circuit', listener)
  })
}

const idOf = (b: { port: number }): string => `127.0.0.1:${b.port}`
const circuitOf = (pool: BackendPool, id: string): string | undefined => pool.snapshot().find((b) => b.id === id)?.circuit

t.test('consecutive failures open the breaker; a half-open trial closes it once the backend recovers', async (t) => {
  // broken: resets every request; held: answers once released (so a trial stays in flight
  // until every request of the burst has been sent somewhere).
  let mode: 'broken' | 'held' | 'ok' = 'broken'
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  const flaky = await startBackend(t, 'flaky', (_req, res) => {
    if (mode === 'broken') res.socket?.destroy()
    else if (mode === 'held') void held.then(() => res.end('flaky'))
    else res.end('flaky')
  })
  const good = await startBackend(t, 'good')
  const clock = new FakeClock()
  const gw = await startGateway(t, poolYaml([flaky, good], '', `    circuitBreaker: { consecutiveFailures: 3, openDuration: 300ms, halfOpenRequests: 1 }
    retry: { attempts: 1 }
`), {}, undefined, { clock })
  t.teardown(release) // before the gateway closes (teardowns run last first), should a step fail
  const pool = gw.app.pools.get('web')!
  const id = idOf(flaky)
  const changes: string[] = []
  pool.events.on('circuit', (e) => { changes.push(`${e.backend === id ? 'flaky' : e.backend} ${e.from}>${e.to} (${e.reason})`) })
  t.same(pool.snapshot().map((b) => b.circuit), ['closed', 'closed'])

  // Round robin: flaky, good, flaky, good, flaky — the third reset opens flaky's breaker.
  const opened = nextCircuit(pool, id, 'open')
  const first: Reply[] = []
  for (let i = 0; i < 5; i++) first.push(await send(`${gw.url}/a${i}`))
  t.same(first.map((r) => r.status), [502, 200, 502, 200, 502], 'without retries the resets reach the client')
  t.equal(errorBody(first[0]!.text).error, 'GW_UPSTREAM_RESET')
  t.match(await opened, { backend: id, from: 'closed', to: 'open', reason: 'consecutive-failures' })
  t.match(pool.snapshot(), [{ id, circuit: 'open', ready: false }, { circuit: 'closed', ready: true }], 'snapshot shows the open circuit')

  const seen = flaky.seen.length
  for (let i = 0; i < 4; i++) t.equal((await send(`${gw.url}/b${i}`)).text, 'good', `while open, request ${i + 1} goes to good`)
  t.equal(flaky.seen.length, seen, 'nothing reaches the open backend')

  // Still broken when openDuration is over: the one trial fails and the breaker opens again.
  // (Open to half-open has no timer and no event: it happens when a request asks after
  // openUntil, on the pool's clock.) It opened at clock time 0.
  clock.advance(299)
  t.equal(circuitOf(pool, id), 'open', 'still open 1 ms before openDuration is over')
  clock.advance(51)
  const reopened = nextCircuit(pool, id, 'open')
  const trial = await Promise.all([0, 1].map(async (i) => await send(`${gw.url}/c${i}`)))
  t.equal(flaky.seen.length, seen + 1, 'one trial went to flaky')
  t.same(trial.map((r) => r.status).sort(), [200, 502])
  t.match(await reopened, { from: 'half-open', to: 'open', reason: 'trial-failed' })

  // Recovered: after the (doubled) open duration, exactly one trial is let through at a time.
  // It reopened at 350, for 600 ms.
  mode = 'held'
  clock.advance(599)
  t.equal(circuitOf(pool, id), 'open', 'still open 1 ms before the doubled openDuration is over')
  clock.advance(51)
  const closed = nextCircuit(pool, id, 'closed')
  const before = flaky.seen.length + good.seen.length
  const sending = Promise.all([0, 1, 2, 3].map(async (i) => await send(`${gw.url}/d${i}`)))
  await waitFor(() => flaky.seen.length + good.seen.length === before + 4,
    { message: 'every request of the burst reached a backend', seen: () => ({ flaky: flaky.seen.length, good: good.seen.length, before }) })
  release()
  const burst = await sending
  t.same(burst.map((r) => r.status), [200, 200, 200, 200])
  t.same(burst.map((r) => r.text).sort(), ['flaky', 'good', 'good', 'good'], 'one trial, the rest to good while half-open')
  t.match(await closed, { from: 'half-open', to: 'closed', reason: 'trials-passed' })
  t.equal(circuitOf(pool, id), 'closed')

  mode = 'ok'
  const after: string[] = []
  for (let i = 0; i < 4; i++) after.push((await send(`${gw.url}/e${i}`)).text)
  t.same(after.sort(), ['flaky', 'flaky', 'good', 'good'], 'closed again: flaky takes its turns')
  t.same(changes, [
    'flaky closed>open (consecutive-failures)',
    'flaky open>half-open (open-timeout)',
    'flaky half-open>open (trial-failed)',
    'flaky open>half-open (open-timeout)',
    'flaky half-open>closed (trials-passed)'
  ])
})

t.test('failure rate: opens at the threshold, and only once minimumRequests outcomes are in', async (t) => {
  // One backend answering 500 or 200 as told; a 500 counts as a failure for the breaker.
  const plan = [500, 500, 500, 200]
  let i = 0
  const b = await startBackend(t, 'b', (_req, res) => { res.statusCode = plan[i++] ?? 200; res.end('b') })
  const gw = await startGateway(t, poolYaml([b], '', `    circuitBreaker: { failureRateThreshold: 50, minimumRequests: 4, window: 10s }
    retry: { attempts: 1 }
`))
  const pool = gw.app.pools.get('web')!
  const id = idOf(b)
  const opened = nextCircuit(pool, id, 'open')

  const statuses: number[] = []
  for (let n = 0; n < 3; n++) statuses.push((await send(`${gw.url}/${n}`)).status)
  t.same(statuses, [500, 500, 500])
  t.equal(circuitOf(pool, id), 'closed', '3 of 3 failed, but fewer than minimumRequests: still closed')

  t.equal((await send(`${gw.url}/3`)).status, 200)
  t.match(await opened, { from: 'closed', to: 'open', reason: 'failure-rate' })
  t.equal(circuitOf(pool, id), 'open', '3 failures of 4 outcomes: 75% ≥ 50%, and 4 ≥ minimumRequests')

  const r = await send(`${gw.url}/4`)
  t.equal(r.status, 503, 'the only backend is open: no backend')
  t.equal(errorBody(r.text).error, 'GW_NO_BACKEND')
  t.equal(b.seen.length, 4)
})
