/**
 * Runs a registry of algorithms through the simulator and renders the bench's report.
 */
import { Value } from '@sinclair/typebox/value'
import type { AlgorithmDefinition } from '../../algorithms/types.js'
import { simulate } from './engine.js'
import { defaultScenario, type Scenario } from './scenario.js'
import { summarize, table, type Summary } from './stats.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Registry = Readonly<Record<string, AlgorithmDefinition<any>>>

/** Algorithms the simulation cannot stand for: sticky pins clients by cookie, and has none here. */
const SKIP = new Set(['sticky'])
/** Options the simulation supplies where an algorithm has no usable default. */
const OPTIONS: Record<string, Record<string, unknown>> = { 'consistent-hash': { key: 'path' } }

export interface BenchOptions {
  seed: number
  durationMs: number
  load: number
}

export interface BenchRow {
  name: string
  whole: Summary
  /** The last third: after the flaky server has recovered. */
  recovery: Summary
}

/** Runs every algorithm of the registry but the skipped ones, in registry order. */
export function runAll (registry: Registry, opts: BenchOptions): { scenario: Scenario, rows: BenchRow[], skipped: string[] } {
  const scenario = defaultScenario(opts.durationMs, opts.load)
  const rows: BenchRow[] = []
  const skipped: string[] = []
  for (const [name, def] of Object.entries(registry)) {
    const options = Value.Default(def.options, structuredClone(OPTIONS[name] ?? {}))
    if (SKIP.has(name) || !Value.Check(def.options, options)) {
      skipped.push(name)
      continue
    }
    const res = simulate(def, options, scenario, opts.seed)
    rows.push({
      name,
      whole: summarize(res),
      recovery: summarize(res, 2 * scenario.durationMs / 3)
    })
  }
  return { scenario, rows, skipped }
}

export function report (registry: Registry, opts: BenchOptions): string {
  const { scenario, rows, skipped } = runAll(registry, opts)
  const ids = scenario.servers.map((s) => s.id)
  const s = scenario.durationMs / 1000
  return [
    `Simulated ${s} s at ${Math.round(scenario.ratePerSec)} req/s (load ${opts.load} of healthy capacity), seed ${opts.seed};`,
    'servers with 4 slots: fast-1..3 10 ms, slow 100 ms, flaky 10 ms but 80 ms from ' +
      `${(s / 3).toFixed(0)} s to ${(2 * s / 3).toFixed(0)} s; lognormal σ ${scenario.sigma}; timeout ${scenario.timeoutMs} ms.`,
    '',
    'Whole run:',
    '',
    table(ids, rows.map((r) => [r.name, r.whole])),
    '',
    `Recovery phase (last third, ${(2 * s / 3).toFixed(0)}–${s} s, flaky is fast again):`,
    '',
    table(ids, rows.map((r) => [r.name, r.recovery])),
    ...(skipped.length > 0 ? ['', `Skipped: ${skipped.join(', ')}`] : [])
  ].join('\n')
}
