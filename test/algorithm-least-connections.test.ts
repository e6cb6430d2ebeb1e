// Least connections: lowest inFlight/weight wins; ties take turns instead of going to the first.
import t from 'tap'
import { leastConnections } from '../algorithms/least-connections.js'
import { fakeBackends, seededDeps, type FakeBackend } from './helpers/seeded-random.js'

const ctx = { attempt: 0, key: undefined }
const always = (): boolean => true

function setup (weights: Record<string, number>, inFlight: number[]) {
  const list = fakeBackends(weights)
  list.forEach((b, i) => { b.inFlight = inFlight[i]! })
  const algo = leastConnections.create<FakeBackend>({}, seededDeps())
  algo.update(list)
  const picks = (n: number, usable: (b: FakeBackend) => boolean = always): string =>
    Array.from({ length: n }, () => algo.pick(ctx, usable)?.id ?? '-').join(' ')
  return { list, algo, picks }
}

t.test('the lowest inFlight / weight wins', async (t) => {
  t.equal(setup({ a: 1, b: 1, c: 1 }, [3, 1, 2]).picks(3), 'b b b')
  // loads 4/4 = 1, 3/1 = 3, 1/2 = 0.5
  t.equal(setup({ a: 4, b: 1, c: 2 }, [4, 3, 1]).picks(2), 'c c')
  // loads 6/3 = 2 and 1/1 = 1: the heavier weight does not win by itself
  t.equal(setup({ a: 3, b: 1 }, [6, 1]).picks(1), 'b')
})

t.test('the chosen backend changes as in-flight counts change', async (t) => {
  const { list, algo } = setup({ a: 2, b: 1 }, [0, 0])
  const seq: string[] = []
  for (let i = 0; i < 6; i++) {
    const b = algo.pick(ctx, always)!
    b.inFlight++
    seq.push(b.id)
  }
  // loads a/b before each pick: 0/0 (tie, a), .5/0, .5/1, 1/1 (tie: b's turn), 1/2, 1.5/2
  t.equal(seq.join(' '), 'a b a b a a', 'a ends with twice b\'s connections')
  t.same(list.map((b) => b.inFlight), [4, 2])
})

t.test('ties rotate', async (t) => {
  t.equal(setup({ a: 1, b: 1, c: 1 }, [0, 0, 0]).picks(6), 'a b c a b c', 'all idle: plain rotation')
  t.equal(setup({ a: 1, b: 1, c: 1 }, [2, 5, 2]).picks(4), 'a c a c', 'a and c tie, b is busier')
  t.equal(setup({ a: 2, b: 1, c: 4 }, [2, 1, 4]).picks(6), 'a b c a b c', 'equal loads of different weights tie too')
})

t.test('unusable backends are passed over; weight 0 only when nothing else is usable', async (t) => {
  const { list, picks } = setup({ a: 1, b: 1, c: 1 }, [0, 5, 9])
  t.equal(picks(2, (b) => b.id !== 'a'), 'b b')
  t.equal(picks(1, () => false), '-')
  list[0]!.weight = 0
  t.equal(picks(1), 'b', 'a idle but at weight 0 counts as fully loaded')
  t.equal(picks(1, (b) => b.id === 'a'), 'a')
})

t.test('update() to a shorter list keeps the rotation in range', async (t) => {
  const { algo, picks } = setup({ a: 1, b: 1, c: 1 }, [0, 0, 0])
  picks(2)
  algo.update(fakeBackends({ x: 1 }))
  t.equal(picks(2), 'x x')
  algo.update([])
  t.equal(picks(1), '-')
})
