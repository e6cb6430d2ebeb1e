// Peak EWMA × (in-flight + 1), power of two choices, with the idle pull toward the best backend.
import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { leastResponseTime, type LeastResponseTimeOptions } from '../algorithms/least-response-time.js'
import type { Algorithm } from '../algorithms/types.js'
import { fakeBackends, seededRandom, type FakeBackend } from './helpers/seeded-random.js'
import { virtualTime } from './helpers/virtual-time.js'

const ctx = { attempt: 0, key: undefined }

/** The virtual-time driver (helpers/virtual-time.ts) over least-response-time. */
function harness (ids: string[], latency: (id: string, now: number) => number, options = {}) {
  const clock = { now: 0 }
  const list = fakeBackends(Object.fromEntries(ids.map((id) => [id, 1])))
  const algo: Algorithm<FakeBackend> = leastResponseTime.create<FakeBackend>(
    Value.Default(leastResponseTime.options, { ...options }) as LeastResponseTimeOptions, { random: seededRandom(7), now: () => clock.now })
  algo.update(list)
  return { list, algo, run: virtualTime(algo, list, clock, (b, now) => latency(b.id, now)) }
}

t.test('options: integers in ms with defaults', async (t) => {
  t.same(Value.Default(leastResponseTime.options, {}), { decay: 10000, failurePenaltyMs: 1000 })
  t.notOk(Value.Check(leastResponseTime.options, { decay: '10s', failurePenaltyMs: 1000 }))
  t.notOk(Value.Check(leastResponseTime.options, { decay: 10, failurePenaltyMs: 1, extra: 1 }))
})

t.test('prefers the faster backend', async (t) => {
  const { run } = harness(['a', 'b', 'c'], (id) => (id === 'c' ? 60 : 5))
  run(0, 2000)
  const share = run(2000, 6000)
  t.ok(share.c! < 0.05, `slow c got ${(share.c! * 100).toFixed(1)}%`)
  t.ok(share.a! > 0.4 && share.b! > 0.4, 'the two fast ones share the load')
})

t.test('a backend slow once recovers its share within a bounded virtual time', async (t) => {
  // c answers 1000 ms during the first 50 ms, then 5 ms like the others. Its EWMA (1000) is a
  // peak that nothing would lower, since nobody picks it; the idle pull brings its effective
  // EWMA to the best (5 ms) with time constant `decay` until it wins a pair again.
  const { run } = harness(['a', 'b', 'c'], (id, now) => (id === 'c' && now < 50 ? 1000 : 5), { decay: 2000 })
  const early = run(0, 2000)
  t.ok(early.c! < 0.05, `c avoided after its slow answers (${(early.c! * 100).toFixed(1)}%)`)
  // 1000 / 5 = 200× the best; the others cost about 5 × 2.7 in flight: back when
  // 200^w < 2.7, w < 0.19, after 1.7 decays.
  run(2000, 6000)
  const late = run(6000, 10_000)
  t.ok(late.c! > 0.2, `c back to ${(late.c! * 100).toFixed(1)}% within 3 × decay`)
})

t.test('failures count as failurePenaltyMs', async (t) => {
  // a fails fast: 1 ms refusals must not look like the fastest backend.
  let now = 0
  const list = fakeBackends({ a: 1, b: 1 })
  const algo = leastResponseTime.create<FakeBackend>({ decay: 10000, failurePenaltyMs: 1000 }, { random: seededRandom(3), now: () => now })
  algo.update(list)
  now = 10
  algo.observe!(list[0]!, { ok: false, latencyMs: 1, inFlight: 1 })
  algo.observe!(list[1]!, { ok: true, latencyMs: 50, inFlight: 1 })
  list[1]!.inFlight = 5 // b: 50 × 6 = 300 is still cheaper than a: 1000 × 1
  let a = 0
  for (let i = 0; i < 1000; i++, now++) if (algo.pick(ctx, () => true)!.id === 'a') a++
  t.equal(a, 0)
})

t.test('a new backend starts at the pool median and gets a share', async (t) => {
  const h = harness(['a', 'b'], (id) => (id === 'a' ? 5 : 8))
  h.run(0, 3000)
  const c = { id: 'c', weight: 1, inFlight: 0 }
  h.list.push(c)
  h.algo.update(h.list)
  const share = h.run(3000, 5000)
  t.ok(share.c! > 0.15, `new backend c got ${(share.c! * 100).toFixed(1)}% of requests`)
})

t.test('weight divides the cost; usable is respected', async (t) => {
  let now = 0
  const list = fakeBackends({ a: 1, b: 4 })
  const algo = leastResponseTime.create<FakeBackend>({ decay: 10000, failurePenaltyMs: 1000 }, { random: seededRandom(5), now: () => now })
  algo.update(list)
  now = 1
  algo.observe!(list[0]!, { ok: true, latencyMs: 10, inFlight: 1 })
  algo.observe!(list[1]!, { ok: true, latencyMs: 30, inFlight: 1 })
  t.equal(algo.pick(ctx, () => true)!.id, 'b', 'b: 30 / 4 beats a: 10 / 1')
  t.equal(algo.pick(ctx, (b) => b.id === 'a')!.id, 'a')
  t.equal(algo.pick(ctx, () => false), undefined)
  algo.update([])
  t.equal(algo.pick(ctx, () => true), undefined)
})
