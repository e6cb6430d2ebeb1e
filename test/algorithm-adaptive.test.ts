// The adaptive policy: learned latency-vs-in-flight models, hot/cold candidates, stale exploration.
import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { adaptive, type AdaptiveOptions } from '../algorithms/adaptive.js'
import type { Algorithm } from '../algorithms/types.js'
import { simulate } from '../bench/sim/engine.js'
import type { Scenario } from '../bench/sim/scenario.js'
import { summarize } from '../bench/sim/stats.js'
import { fakeBackends, seededRandom, type FakeBackend } from './helpers/seeded-random.js'
import { virtualTime } from './helpers/virtual-time.js'

const ctx = { attempt: 0, key: undefined }
type Latency = (id: string, now: number, inFlight: number) => number

/** Each backend serves 4 at a time: latency grows with in-flight beyond that, as a real one's. */
const served = (base: number, inFlight: number): number => base * Math.max(1, inFlight / 4)

/** The virtual-time driver (helpers/virtual-time.ts) over adaptive, with ±30% latency noise and pick times. */
function harness (ids: string[], latency: Latency, options: Partial<AdaptiveOptions> = {}) {
  const clock = { now: 0 }
  const list = fakeBackends(Object.fromEntries(ids.map((id) => [id, 1])))
  const algo: Algorithm<FakeBackend> = adaptive.create<FakeBackend>(
    Value.Default(adaptive.options, { ...options }) as AdaptiveOptions, { random: seededRandom(11), now: () => clock.now })
  algo.update(list)
  const noise = seededRandom(12)
  const picks: Record<string, number[]> = Object.fromEntries(ids.map((id) => [id, []]))
  const run = virtualTime(algo, list, clock,
    (b, now) => latency(b.id, now, b.inFlight) * (0.7 + 0.6 * noise()),
    (b, now) => { (picks[b.id] ??= []).push(now) })
  return { list, algo, run, picks }
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`

t.test('options: numbers with defaults, validated by the schema', async (t) => {
  t.same(Value.Default(adaptive.options, {}), { explore: 0.05, halfLifeMs: 2000, candidates: 3, hotQuantile: 0.8 })
  t.notOk(Value.Check(adaptive.options, { explore: 2, halfLifeMs: 2000, candidates: 3, hotQuantile: 0.8 }))
  t.notOk(Value.Check(adaptive.options, { explore: 0.1, halfLifeMs: 2000, candidates: 0, hotQuantile: 0.8 }))
  t.notOk(Value.Check(adaptive.options, { explore: 0.1, halfLifeMs: 2000, candidates: 3, hotQuantile: 0.8, x: 1 }))
})

t.test('learns to avoid a slow backend', async (t) => {
  const { run } = harness(['a', 'b', 'c', 'slow'], (id, _now, n) => served(id === 'slow' ? 50 : 5, n))
  run(0, 2000)
  const share = run(2000, 8000)
  t.ok(share.slow! < 0.01, `slow got ${pct(share.slow!)}`)
  for (const id of ['a', 'b', 'c']) t.ok(share[id]! > 0.28, `${id} got ${pct(share[id]!)}`)
})

t.test('re-learns within seconds when a backend slows down and when it recovers', async (t) => {
  // On the simulator (bench/sim): three 4-slot servers at 10 ms, 600 req/s (half their
  // capacity); a takes 80 ms from 10 s to 20 s. Time is virtual and drives deps.now.
  const scenario: Scenario = {
    durationMs: 30_000,
    ratePerSec: 600,
    timeoutMs: 1000,
    sigma: 0.5,
    servers: [
      { id: 'a', slots: 4, meanMs: (now) => (now >= 10_000 && now < 20_000 ? 80 : 10) },
      { id: 'b', slots: 4, meanMs: () => 10 },
      { id: 'c', slots: 4, meanMs: () => 10 }
    ]
  }
  for (const seed of [1, 2]) {
    const res = simulate(adaptive, Value.Default(adaptive.options, {}), scenario, seed)
    const before = summarize(res, 5000, 10_000).share[0]!
    const slowed = summarize(res, 11_000, 20_000).share[0]!
    const recovered = summarize(res, 25_000, 30_000).share[0]!
    t.ok(before > 0.25, `seed ${seed}: a had ${pct(before)} while fast`)
    t.ok(slowed < 0.02, `seed ${seed}: a down to ${pct(slowed)} from 1 s after it slowed`)
    t.ok(recovered > 0.25, `seed ${seed}: a back to ${pct(recovered)} from 5 s after it recovered`)
  }
})

t.test('exploration keeps every backend measured, at a small cost', async (t) => {
  const { run, picks } = harness(['a', 'b', 'dead-slow'], (id, _now, n) => served(id === 'dead-slow' ? 500 : 5, n))
  const share = run(0, 20_000)
  t.ok(share['dead-slow']! < 0.005, `dead-slow got ${pct(share['dead-slow']!)}`)
  // Stale after one half-life (2 s), then explored within a few ms at this rate.
  const times = picks['dead-slow']!.filter((x) => x >= 1000)
  let gap = 0
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!)
  // Longest gap: a half-life after the previous probe's answer (500 ms), plus the few hundred
  // ms the ε coin takes to land on it.
  t.ok(times.length >= 6 && gap < 500 + 2000 + 400, `${times.length} picks, longest gap ${gap} ms`)

  const off = harness(['a', 'b', 'dead-slow'], (id, _now, n) => served(id === 'dead-slow' ? 500 : 5, n), { explore: 0 })
  off.run(0, 1000)
  off.run(1000, 20_000)
  t.equal(off.picks['dead-slow']!.filter((x) => x >= 1000).length, 0, 'without exploration it is never measured again')
})

t.test('failures are penalised, fast failures included', async (t) => {
  let now = 0
  const list = fakeBackends({ a: 1, b: 1 })
  const algo = adaptive.create<FakeBackend>({ explore: 0, halfLifeMs: 2000, candidates: 2, hotQuantile: 1 }, { random: seededRandom(3), now: () => now })
  algo.update(list)
  for (let i = 0; i < 20; i++, now += 10) {
    algo.observe!(list[0]!, { ok: i % 2 === 0, latencyMs: 5, inFlight: 1 })
    algo.observe!(list[1]!, { ok: true, latencyMs: 12, inFlight: 1 })
  }
  // a: 5 ms but half its answers fail, a penalty of about 1 / (1 − 0.5)² = 4.
  t.equal(algo.pick(ctx, () => true)!.id, 'b')
})

t.test('new backends, usable, empty lists', async (t) => {
  const h = harness(['a', 'b'], (_id, _now, n) => served(5, n))
  h.run(0, 2000)
  h.list.push({ id: 'c', weight: 1, inFlight: 0 })
  h.algo.update(h.list)
  const share = h.run(2000, 4000)
  t.ok(share.c! > 0.1, `new backend c got ${pct(share.c!)}`)
  t.equal(h.algo.pick(ctx, (b) => b.id === 'b')!.id, 'b')
  t.equal(h.algo.pick(ctx, () => false), undefined)
  h.algo.update([])
  t.equal(h.algo.pick(ctx, () => true), undefined)
})
