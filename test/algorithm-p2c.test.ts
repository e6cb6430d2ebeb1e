// Power of two choices: the less loaded of two distinct random backends.
import t, { type Test } from 'tap'
import { p2c } from '../algorithms/p2c.js'
import { fakeBackends, seededDeps, type FakeBackend } from './helpers/seeded-random.js'

const ctx = { attempt: 0, key: undefined }
const PICKS = 30_000

function setup (weights: Record<string, number>, inFlight: number[], seed = 11) {
  const list = fakeBackends(weights)
  list.forEach((b, i) => { b.inFlight = inFlight[i]! })
  const algo = p2c.create<FakeBackend>({}, seededDeps(seed))
  algo.update(list)
  const shares = (usable: (b: FakeBackend) => boolean = () => true): Record<string, number> => {
    const counts: Record<string, number> = Object.fromEntries(list.map((b) => [b.id, 0]))
    for (let i = 0; i < PICKS; i++) counts[algo.pick(ctx, usable)!.id]!++
    return Object.fromEntries(Object.entries(counts).map(([id, n]) => [id, n / PICKS]))
  }
  return { list, algo, shares }
}

function inBands (t: Test, got: Record<string, number>, expected: Record<string, number>, band = 0.02): void {
  for (const [id, share] of Object.entries(expected)) {
    t.ok(Math.abs(got[id]! - share) <= band, `${id}: ${got[id]!.toFixed(3)} within ±${band} of ${share.toFixed(3)}`)
  }
}

t.test('of two backends, the less loaded one always wins', async (t) => {
  const { shares } = setup({ a: 1, b: 1 }, [5, 2])
  t.same(shares(), { a: 0, b: 1 })
  // by inFlight / weight: a 6/3 = 2 beats b 3/1 = 3
  t.same(setup({ a: 3, b: 1 }, [6, 3]).shares(), { a: 1, b: 0 })
})

t.test('shares follow the rank of each backend\'s load', async (t) => {
  // With n backends of distinct loads, the k-th least loaded wins the pairs in which it is the
  // lower: (n - 1 - k) of the n(n-1)/2 pairs. For n = 4: 3/6, 2/6, 1/6 and 0 for the busiest.
  const { shares } = setup({ a: 1, b: 1, c: 1, d: 1 }, [0, 1, 2, 100])
  inBands(t, shares(), { a: 3 / 6, b: 2 / 6, c: 1 / 6, d: 0 })
})

t.test('a heavily loaded backend gets a small share as load moves', async (t) => {
  // Requests finish at 1 per pick on average, except on "slow", which never finishes: once it
  // is ahead it only wins a pair against another backend that is at least as loaded.
  const { list, algo } = setup({ fast1: 1, fast2: 1, fast3: 1, slow: 1 }, [0, 0, 0, 0])
  const rnd = seededDeps(5).random
  let slowPicks = 0
  for (let i = 0; i < 10_000; i++) {
    const b = algo.pick(ctx, () => true)!
    b.inFlight++
    if (b.id === 'slow') slowPicks++
    const fast = list[Math.floor(rnd() * 3)]!
    if (fast.inFlight > 0) fast.inFlight--
  }
  t.ok(slowPicks / 10_000 < 0.02, `slow got ${(100 * slowPicks / 10_000).toFixed(2)}% of picks`)
})

t.test('ties are a coin flip', async (t) => {
  inBands(t, setup({ a: 1, b: 1 }, [3, 3]).shares(), { a: 0.5, b: 0.5 })
  inBands(t, setup({ a: 1, b: 1, c: 1 }, [0, 0, 0]).shares(), { a: 1 / 3, b: 1 / 3, c: 1 / 3 })
  // weight 0 counts as infinitely loaded; two of them tie
  inBands(t, setup({ a: 0, b: 0 }, [0, 0]).shares(), { a: 0.5, b: 0.5 })
})

t.test('unusable backends are never drawn; the pair is redrawn among usable ones', async (t) => {
  const { shares, algo } = setup({ a: 1, b: 1, c: 1, d: 1 }, [0, 1, 2, 3])
  // Usable b, c, d: b wins its 2 pairs of 3, c one, d none.
  inBands(t, shares((b) => b.id !== 'a'), { a: 0, b: 2 / 3, c: 1 / 3, d: 0 })
  t.same(shares((b) => b.id === 'd'), { a: 0, b: 0, c: 0, d: 1 }, 'one usable backend is returned')
  t.equal(algo.pick(ctx, () => false), undefined)
})

t.test('one backend or none', async (t) => {
  const { algo } = setup({ only: 1 }, [99])
  t.equal(algo.pick(ctx, () => true)?.id, 'only')
  t.equal(algo.pick(ctx, () => false), undefined)
  algo.update([])
  t.equal(algo.pick(ctx, () => true), undefined)
})
