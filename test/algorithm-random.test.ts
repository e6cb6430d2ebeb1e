// random and weighted-random: shares within bands over a seeded source; an unusable draw falls
// back to the usable backends in proportion, never to undefined while one is usable.
import t, { type Test } from 'tap'
import { random, weightedRandom, nthUsable } from '../algorithms/random.js'
import type { AlgorithmDefinition } from '../algorithms/types.js'
import { fakeBackends, seededDeps, type FakeBackend } from './helpers/seeded-random.js'

const ctx = { attempt: 0, key: undefined }
const PICKS = 30_000

function shares (def: AlgorithmDefinition, list: FakeBackend[], usable: (b: FakeBackend) => boolean = () => true, seed = 7) {
  const algo = def.create<FakeBackend>({}, seededDeps(seed))
  algo.update(list)
  const counts: Record<string, number> = Object.fromEntries(list.map((b) => [b.id, 0]))
  for (let i = 0; i < PICKS; i++) counts[algo.pick(ctx, usable)!.id]!++
  return Object.fromEntries(Object.entries(counts).map(([id, n]) => [id, n / PICKS]))
}

function inBands (t: Test, got: Record<string, number>, expected: Record<string, number>, band = 0.03): void {
  for (const [id, share] of Object.entries(expected)) {
    t.ok(Math.abs(got[id]! - share) <= band, `${id}: ${got[id]!.toFixed(3)} within ±${band} of ${share.toFixed(3)}`)
  }
}

t.test('random is uniform, whatever the weights', async (t) => {
  inBands(t, shares(random, fakeBackends({ a: 1, b: 2, c: 3 })), { a: 1 / 3, b: 1 / 3, c: 1 / 3 })
})

t.test('weighted-random is proportional to weight', async (t) => {
  inBands(t, shares(weightedRandom, fakeBackends({ a: 1, b: 2, c: 3 })), { a: 1 / 6, b: 2 / 6, c: 3 / 6 })
})

t.test('weighted-random reads the weight per pick (slow start)', async (t) => {
  const list = fakeBackends({ a: 1, b: 1 })
  list[0]!.weight = 0.25
  inBands(t, shares(weightedRandom, list), { a: 0.2, b: 0.8 })
})

t.test('an unusable backend\'s share goes to the others in proportion', async (t) => {
  const notB = (b: FakeBackend): boolean => b.id !== 'b'
  inBands(t, shares(random, fakeBackends({ a: 1, b: 1, c: 1, d: 1 }), notB), { a: 1 / 3, b: 0, c: 1 / 3, d: 1 / 3 })
  inBands(t, shares(weightedRandom, fakeBackends({ a: 1, b: 2, c: 3 }), notB), { a: 0.25, b: 0, c: 0.75 })
})

t.test('one usable backend is always found; none usable gives undefined', async (t) => {
  for (const def of [random, weightedRandom]) {
    const algo = def.create<FakeBackend>({}, seededDeps(1))
    algo.update(fakeBackends({ a: 1, b: 1, c: 1, d: 1, e: 1 }))
    for (let i = 0; i < 50; i++) t.equal(algo.pick(ctx, (b) => b.id === 'd')?.id, 'd')
    t.equal(algo.pick(ctx, () => false), undefined)
    algo.update([])
    t.equal(algo.pick(ctx, () => true), undefined)
  }
})

t.test('weighted-random with every usable weight at 0 still picks a usable backend', async (t) => {
  const list = fakeBackends({ a: 0, b: 0, c: 5 })
  const got = shares(weightedRandom, list, (b) => b.id !== 'c')
  inBands(t, got, { a: 0.5, b: 0.5, c: 0 })
  list.forEach((b) => { b.weight = 0 })
  inBands(t, shares(weightedRandom, list), { a: 1 / 3, b: 1 / 3, c: 1 / 3 })
})

t.test('nthUsable refuses an index past the usable ones (a predicate that changed its mind)', async (t) => {
  t.throws(() => nthUsable([1, 2, 3], (n) => n > 1, 2), RangeError)
})
