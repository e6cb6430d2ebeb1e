import t from 'tap'
import { createRequire } from 'node:module'
import { Registry } from 'prom-client'
import { FastCounter, FastHistogram } from '../lib/metrics/fast-metrics.js'

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Array<{ name: string, type: string, metrics: Array<{ value?: string, labels?: Record<string, string>, buckets?: Record<string, string>, count?: string, sum?: string }> }>

t.test('counters and histograms render as valid exposition text with the right values', async (t) => {
  const registry = new Registry()
  const c = new FastCounter('x_total', 'a counter', ['pool', 'code'], registry)
  const h = new FastHistogram('x_seconds', 'a histogram', ['pool'], [0.1, 1, 10], registry)
  const a = c.labels('web', '200')
  a.inc(); a.inc()
  c.labels('web', '502').inc()
  t.equal(c.labels('web', '200'), a, 'the same child for the same labels')
  const hw = h.labels('web')
  for (const v of [0.05, 0.1, 0.5, 3, 20]) hw.observe(v)
  const families = new Map(parse(await registry.metrics()).map((f) => [f.name, f]))
  const counter = families.get('x_total')!
  t.equal(counter.type, 'COUNTER')
  t.same(counter.metrics.map((m) => [m.labels?.code, m.value]), [['200', '2'], ['502', '1']])
  const hist = families.get('x_seconds')!
  t.equal(hist.type, 'HISTOGRAM')
  // Cumulative: le=0.1 holds 0.05 and 0.1 (bounds are inclusive), le=1 adds 0.5, le=10 adds 3.
  t.same(hist.metrics[0]!.buckets, { 0.1: '2', 1: '3', 10: '4', '+Inf': '5' })
  // The parser folds a labelled histogram's sum and count away; these two lines are read as text.
  t.match(await registry.metrics(), /x_seconds_sum\{pool="web"\} 23\.65\n/)
  t.match(await registry.metrics(), /x_seconds_count\{pool="web"\} 5\n/)
})
