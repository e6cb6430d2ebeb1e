import t from 'tap'
import type { Dispatcher } from 'undici'
import { BackendPool } from '../lib/pool.js'
import { SLOW_START_MIN_SHARE } from '../lib/backend.js'
import type { PoolConfig } from '../lib/config/types.js'
import { loadConfigText } from '../lib/config/load.js'

/** A pool with a fake clock and no real upstreams (selection only). */
function pool (slowStart: number, algorithm = 'round-robin'): { pool: BackendPool, clock: { now: number } } {
  const clock = { now: 1000 }
  const cfg: PoolConfig = loadConfigText(`pools:
  p:
    algorithm: ${algorithm}
    slowStart: ${slowStart}
    backends: [ { url: "http://a:1", id: a, weight: 4 }, { url: "http://b:1", id: b, weight: 4 } ]
`, { env: {} }).pools.p!
  const p = new BackendPool(cfg, { createUpstream: () => ({ close: async () => {} }) as unknown as Dispatcher, clock: { now: () => clock.now, setTimeout: () => 0, clearTimeout: () => {} } })
  return { pool: p, clock }
}

t.test('backends present at startup take their full weight at once', async (t) => {
  const { pool: p } = pool(10_000)
  t.same(p.snapshot().map((b) => b.effectiveWeight), [4, 4])
})

t.test('a backend coming back ramps from a tenth of its weight to all of it over slowStart', async (t) => {
  const { pool: p, clock } = pool(10_000)
  p.setEnabled('a', false)
  p.setEnabled('a', true)
  const w = (): number => p.backends[0]!.weight
  t.equal(w(), 4 * SLOW_START_MIN_SHARE, 'starts at the minimum share')
  clock.now += 5_000
  t.equal(w(), 2, 'half way: half the weight')
  clock.now += 2_500
  t.equal(w(), 3)
  clock.now += 2_500
  t.equal(w(), 4, 'full weight once slowStart has passed')
  t.equal(p.backends[0]!.rampEnd, 0, 'and the ramp is over')
  t.equal(p.backends[1]!.weight, 4, 'the other backend was never ramped')
})

t.test('slowStart 0 (the default) means no ramp', async (t) => {
  const { pool: p } = pool(0)
  p.setEnabled('a', false)
  p.setEnabled('a', true)
  t.equal(p.backends[0]!.weight, 4)
})
