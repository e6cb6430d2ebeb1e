// Full-jitter backoff and schedule jitter: bounds over many seeded draws.
import t from 'tap'
import { fullJitterBackoff, jittered } from '../lib/resilience/backoff.js'
import { seededRandom } from './helpers/seeded-random.js'

const DRAWS = 10_000

function draws (f: () => number): { min: number, max: number, mean: number } {
  let min = Infinity
  let max = -Infinity
  let sum = 0
  for (let i = 0; i < DRAWS; i++) {
    const d = f()
    min = Math.min(min, d)
    max = Math.max(max, d)
    sum += d
  }
  return { min, max, mean: sum / DRAWS }
}

t.test('attempt n draws uniformly from [0, min(max, base·2^n))', async (t) => {
  const random = seededRandom(7)
  for (let n = 0; n <= 8; n++) {
    const ceiling = Math.min(5000, 100 * 2 ** n) // 100, 200, ... 3200, then the 5000 cap
    const s = draws(() => fullJitterBackoff(n, 100, 5000, random))
    t.ok(s.min >= 0 && s.max < ceiling, `attempt ${n}: [${s.min.toFixed(1)}, ${s.max.toFixed(1)}] within [0, ${ceiling})`)
    t.ok(s.min < ceiling * 0.01 && s.max > ceiling * 0.99, `attempt ${n}: the draws span the interval`)
    t.ok(Math.abs(s.mean / ceiling - 0.5) < 0.02, `attempt ${n}: mean ${(s.mean / ceiling).toFixed(3)} of the ceiling ≈ 0.5`)
  }
})

t.test('the cap holds for any attempt, and edge inputs stay finite', async (t) => {
  const top = () => 0.999999
  t.ok(fullJitterBackoff(6, 100, 5000, top) > 4999, '100·2^6 = 6400 is capped to 5000')
  t.ok(fullJitterBackoff(2000, 100, 5000, top) <= 5000, 'a huge attempt does not overflow past the cap')
  t.equal(fullJitterBackoff(2000, 0, 5000, top), 0, 'base 0 gives 0, not NaN')
  t.equal(fullJitterBackoff(-3, 100, 5000, top), fullJitterBackoff(0, 100, 5000, top), 'a negative attempt counts as 0')
  t.equal(fullJitterBackoff(3, 100, 5000, () => 0), 0)
  t.equal(fullJitterBackoff(0, 100, 5000, () => 0.5), 50)
})

t.test('jittered(ms, j) stays within ms·(1 ± j)', async (t) => {
  const random = seededRandom(3)
  const s = draws(() => jittered(1000, 0.1, random))
  t.ok(s.min >= 900 && s.max <= 1100, `[${s.min.toFixed(1)}, ${s.max.toFixed(1)}] within [900, 1100]`)
  t.ok(s.min < 902 && s.max > 1098, 'the draws span the band')
  t.ok(Math.abs(s.mean - 1000) < 5, `mean ${s.mean.toFixed(1)} ≈ 1000`)
  t.equal(jittered(1000, 0.1, () => 0), 900)
  t.equal(jittered(1000, 0.1, () => 0.5), 1000)
  t.equal(jittered(1000, 0, random), 1000, 'no jitter, no change')
  t.equal(jittered(1000, 2, () => 0), 0, 'never below 0')
})
