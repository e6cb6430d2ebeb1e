// Passive ejection through the gateway: a backend that keeps failing real requests is taken out
// for a while, gets nothing meanwhile, and comes back by itself. Ejections run on the pool's
// clock (its return is a timer of that clock), a FakeClock here: the ejection time passes when
// the test moves it, not by waiting.
import t from 'tap'
import type { BackendPool, PoolEvents } from '../lib/pool.js'
import { FakeClock } from './helpers/fake-clock.js'
import { poolYaml, send, startBackend, startGateway, type BackendHandler } from './helpers/gateway.js'

/** The next `name` event for backend `id`; listen before causing it. Rejects after `ms`. */
async function next<K extends 'eject' | 'return'> (pool: BackendPool, name: K, id: string, ms = 3000): Promise<PoolEvents[K][0]> {
  return await new Promise((resolve, reject) => {
    const listener = (e: PoolEvents[K][0]): void => {
      if (e.backend !== id) return
      clearTimeout(timer)
      pool.events.off(name, listener as never)
      resolve(e)
    }
    const timer = setTimeout(() => {
      pool.events.off(name, listener as never)
      reject(new Error(`no '${name}' event for ${id} within ${ms} ms`))
    }, ms)
    pool.events.on(name, listener as never)
  })
}

const idOf = (b: { port: number }): string => `127.0.0.1:${b.port}`
const bad: BackendHandler = (_req, res) => { res.statusCode = 502; res.end('bad') }

t.test('3 failures eject a backend; it gets nothing while ejected and returns after the ejection time', async (t) => {
  const sick = await startBackend(t, 'sick', bad)
  const well = await startBackend(t, 'well')
  const clock = new FakeClock()
  const gw = await startGateway(t, poolYaml([sick, well], '', `    healthCheck:
      passive: { consecutiveFailures: 3, baseEjectionTime: 300ms, maxEjectionTime: 1s, maxEjectionPercent: 50 }
    retry: { attempts: 1 }
`), {}, undefined, { clock })
  const pool = gw.app.pools.get('web')!
  const id = idOf(sick)

  // Round robin: sick, well, sick, well, sick — the third 502 ejects it.
  const ejected = next(pool, 'eject', id)
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) statuses.push((await send(`${gw.url}/a${i}`)).status)
  t.same(statuses, [502, 200, 502, 200, 502], 'without retries the client sees the 502s')
  const e = await ejected
  t.match(e, { backend: id, ejections: 1, reason: 'status 502' })
  t.match(pool.snapshot(), [{ id, ejected: true, ready: false }, { ejected: false, ready: true }])

  const returned = next(pool, 'return', id)
  for (let i = 0; i < 4; i++) t.equal((await send(`${gw.url}/b${i}`)).text, 'well', `while ejected, request ${i + 1} goes to well`)
  t.equal(sick.seen.length, 3, 'the ejected backend got nothing')

  // `until` is on the pool's clock: ejected at until - 300 (clock time 0).
  clock.advance(299)
  t.match(pool.snapshot(), [{ id, ejected: true, ready: false }], 'still ejected 1 ms before the ejection time is over')
  clock.advance(1)
  await returned
  const early = e.until - clock.now()
  t.ok(early < 1, `returned once the 300 ms were over (${Math.round(-early)} ms after)`)
  t.match(pool.snapshot(), [{ id, ejected: false, ready: true }])
  const back: string[] = []
  for (let i = 0; i < 2; i++) back.push((await send(`${gw.url}/c${i}`)).text)
  t.same(back.sort(), ['bad', 'well'], 'it takes its turn again')
  t.equal(sick.seen.length, 4)
})

t.test('the second ejection lasts twice as long (base × n, capped by maxEjectionTime)', async (t) => {
  const sick = await startBackend(t, 'sick', bad)
  const well = await startBackend(t, 'well')
  const clock = new FakeClock()
  const gw = await startGateway(t, poolYaml([sick, well], '', `    healthCheck:
      passive: { consecutiveFailures: 1, baseEjectionTime: 100ms, maxEjectionTime: 1s }
    retry: { attempts: 1 }
`), {}, undefined, { clock })
  const pool = gw.app.pools.get('web')!
  const id = idOf(sick)
  const durations: number[] = []
  for (let n = 0; n < 2; n++) {
    const ejected = next(pool, 'eject', id)
    const returned = next(pool, 'return', id)
    // One of two requests starts at sick, and one failure ejects it.
    await send(`${gw.url}/`)
    await send(`${gw.url}/`)
    const e = await ejected
    // The emitted object carries `duration` (OutlierDetector's EjectEvent); PoolEvents omits it.
    durations.push((e as { duration?: number }).duration ?? Number.NaN)
    t.equal(e.ejections, n + 1)
    clock.runNext() // the return timer: the only timer of the pool's clock
    await returned
  }
  t.same(durations, [100, 200])
})

t.test('maxEjectionPercent 50 keeps one of two failing backends in', async (t) => {
  const a = await startBackend(t, 'a', bad)
  const b = await startBackend(t, 'b', bad)
  // Long ejection, on a clock that does not move: nothing returns during the test.
  const gw = await startGateway(t, poolYaml([a, b], '', `    healthCheck:
      passive: { consecutiveFailures: 3, baseEjectionTime: 10s, maxEjectionTime: 20s, maxEjectionPercent: 50 }
    retry: { attempts: 1 }
`), {}, undefined, { clock: new FakeClock() })
  const pool = gw.app.pools.get('web')!
  const ejections: string[] = []
  pool.events.on('eject', (e) => { ejections.push(e.backend) })

  for (let i = 0; i < 8; i++) t.equal((await send(`${gw.url}/${i}`)).status, 502)
  t.same(ejections, [idOf(a)], 'a reached 3 failures first and was ejected; b, also failing, was not')
  t.same(pool.snapshot().map((s) => s.ejected), [true, false])

  const seenBefore = b.seen.length
  for (let i = 0; i < 4; i++) {
    const r = await send(`${gw.url}/more${i}`)
    t.equal(r.text, 'bad', 'the backend kept in still answers (no 503 GW_NO_BACKEND)')
  }
  t.equal(b.seen.length, seenBefore + 4, 'all of it went to b')
  t.same(ejections, [idOf(a)], 'still only one ejected')
})
