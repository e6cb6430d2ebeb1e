// The discrete-event simulator behind `npm run bench:algorithms`, and what it shows.
import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { adaptive } from '../algorithms/adaptive.js'
import { leastConnections } from '../algorithms/least-connections.js'
import { leastResponseTime } from '../algorithms/least-response-time.js'
import { roundRobin } from '../algorithms/round-robin.js'
import type { AlgorithmDefinition } from '../algorithms/types.js'
import { simulate } from '../bench/sim/engine.js'
import { EventQueue } from '../bench/sim/event-queue.js'
import { report, runAll } from '../bench/sim/report.js'
import { capacity, defaultScenario } from '../bench/sim/scenario.js'
import { quantile, summarize } from '../bench/sim/stats.js'
import { seededRandom } from './helpers/seeded-random.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const run = (def: AlgorithmDefinition<any>, seed = 1, scenario = defaultScenario()) =>
  simulate(def, Value.Default(def.options, {}), scenario, seed)

t.test('the event queue pops in time order, ties in push order', async (t) => {
  const q = new EventQueue<{ time: number, seq: number, tag: number }>()
  const rnd = seededRandom(1)
  for (let i = 0; i < 500; i++) q.push({ time: Math.floor(rnd() * 50), seq: 0, tag: i })
  let prev = { time: -1, tag: -1 }
  let ordered = true
  for (let e = q.pop(); e !== undefined; e = q.pop()) {
    if (e.time < prev.time || (e.time === prev.time && e.tag < prev.tag)) ordered = false
    prev = e
  }
  t.ok(ordered)
  t.equal(q.size, 0)
  t.equal(q.pop(), undefined)
})

t.test('the default scenario keeps the pool busy but not saturated', async (t) => {
  const s = defaultScenario()
  t.equal(Math.round(capacity(s, 0)), 1640)
  t.ok(s.ratePerSec / capacity(s, 0) > 0.55 && s.ratePerSec / capacity(s, 0) < 0.7)
  t.ok(s.ratePerSec < capacity(s, s.durationMs / 2), 'still below capacity while flaky is slow')
  t.equal(quantile([1, 2, 3, 4], 0.5), 2)
  t.ok(Number.isNaN(quantile([], 0.5)))
})

t.test('deterministic for a seed, different across seeds', async (t) => {
  const scenario = defaultScenario(10_000)
  const a = run(adaptive, 7, scenario)
  const b = run(adaptive, 7, scenario)
  t.same(a, b)
  const c = run(adaptive, 8, scenario)
  t.not(summarize(a).p99, summarize(c).p99)
  t.ok(a.latency.every((x) => x > 0), 'every request is answered or timed out')
})

t.test('on the default scenario the learned algorithms cut p99', async (t) => {
  const rr = summarize(run(roundRobin))
  const lc = summarize(run(leastConnections))
  const lrt = summarize(run(leastResponseTime))
  const ad = summarize(run(adaptive))
  t.comment(`p99: round-robin ${rr.p99.toFixed(1)}, least-connections ${lc.p99.toFixed(1)}, ` +
    `least-response-time ${lrt.p99.toFixed(1)}, adaptive ${ad.p99.toFixed(1)} ms`)
  t.ok(lrt.p99 < rr.p99, 'least-response-time beats round-robin')
  t.ok(ad.p99 < rr.p99, 'adaptive beats round-robin')
  t.ok(ad.p99 < lc.p99, 'adaptive beats least-connections')
  t.equal(ad.errorRate, 0)
  t.ok(rr.errorRate > 0.1, 'round-robin overflows the slow server: its requests time out')
})

t.test('the report has both tables and skips what it cannot simulate', async (t) => {
  const registry = { 'round-robin': roundRobin, adaptive, sticky: roundRobin }
  const opts = { seed: 3, durationMs: 3000, load: 0.6 }
  const { rows, skipped } = runAll(registry, opts)
  t.same(rows.map((r) => r.name), ['round-robin', 'adaptive'])
  t.same(skipped, ['sticky'])
  const text = report(registry, opts)
  t.match(text, /Whole run:[\s\S]*\| adaptive +\|[\s\S]*Recovery phase/)
  t.equal(text, report(registry, opts), 'same seed, same text')
})
