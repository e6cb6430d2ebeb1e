// Smooth weighted round-robin: exact sequences, as nginx's ngx_http_upstream_get_peer produces them.
import t from 'tap'
import { weightedRoundRobin } from '../algorithms/weighted-round-robin.js'
import { fakeBackends, seededDeps, type FakeBackend } from './helpers/seeded-random.js'

const ctx = { attempt: 0, key: undefined }
const always = (): boolean => true

function setup (weights: Record<string, number>) {
  const list = fakeBackends(weights)
  const algo = weightedRoundRobin.create<FakeBackend>({}, seededDeps())
  algo.update(list)
  const picks = (n: number, usable: (b: FakeBackend) => boolean = always): string =>
    Array.from({ length: n }, () => algo.pick(ctx, usable)?.id ?? '-').join(' ')
  return { list, algo, picks }
}

t.test('weights 5,1,1 interleave: a a b a c a a, repeating', async (t) => {
  // current before choosing: (5,1,1)a (3,2,2)a (1,3,3)b (6,-3,4)a (4,-2,5)c (9,-1,-1)a (7,0,0)a
  const { picks } = setup({ a: 5, b: 1, c: 1 })
  t.equal(picks(14), 'a a b a c a a a a b a c a a')
})

t.test('equal weights are plain rotation', async (t) => {
  t.equal(setup({ a: 1, b: 1, c: 1 }).picks(6), 'a b c a b c')
  t.equal(setup({ a: 3, b: 3 }).picks(4), 'a b a b')
})

t.test('an unusable backend is skipped and gains no credit meanwhile', async (t) => {
  const { picks } = setup({ a: 1, b: 1, c: 1 })
  t.equal(picks(6, (b) => b.id !== 'b'), 'a c a c a c', 'a and c share b\'s turns')
  t.equal(picks(3), 'a b c', 'b rejoins without a burst of saved-up turns')
  t.equal(picks(1, () => false), '-', 'undefined when nothing is usable')
})

t.test('a weight changed between picks (slow start) takes effect on the next pick', async (t) => {
  const { list, picks } = setup({ a: 1, b: 1 })
  t.equal(picks(2), 'a b')
  list[0]!.weight = 3
  // current: (3,1)a→(-1,1) (2,2)a→(-2,2) (1,3)b→(1,-1) (4,0)a→(0,0): a a b a, then repeats
  t.equal(picks(8), 'a a b a a a b a')
  list[0]!.weight = 0
  t.equal(picks(2), 'b b', 'weight 0 gets no turn while another backend has weight')
})

t.test('update() takes the new list and restarts the sequence', async (t) => {
  const { algo, picks } = setup({ a: 5, b: 1, c: 1 })
  picks(3)
  algo.update(fakeBackends({ x: 2, y: 1 }))
  t.equal(picks(6), 'x y x x y x')
  algo.update([])
  t.equal(picks(1), '-')
})
