/**
 * Summaries of a simulation run and the text tables the bench prints.
 */
import type { SimResult } from './engine.js'

export interface Summary {
  requests: number
  p50: number
  p99: number
  p999: number
  errorRate: number
  /** Share of requests sent to each server, in the scenario's order. */
  share: number[]
}

/** Requests that arrived in [fromMs, toMs). Failed ones count at their (timeout) latency. */
export function summarize (res: SimResult, fromMs = 0, toMs = Infinity): Summary {
  const lat: number[] = []
  const counts = res.servers.map(() => 0)
  let errors = 0
  for (let i = 0; i < res.arrival.length; i++) {
    const t = res.arrival[i]!
    if (t < fromMs || t >= toMs) continue
    lat.push(res.latency[i]!)
    counts[res.server[i]!]!++
    if (!res.ok[i]) errors++
  }
  const sorted = Float64Array.from(lat).sort()
  const n = sorted.length
  return {
    requests: n,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    errorRate: n === 0 ? 0 : errors / n,
    share: counts.map((c) => (n === 0 ? 0 : c / n))
  }
}

/** Nearest-rank quantile of an ascending array; NaN when empty. */
export function quantile (sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return NaN
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!
}

/** A Markdown table: one row per algorithm, share columns named after the servers. */
export function table (servers: readonly string[], rows: ReadonlyArray<[string, Summary]>): string {
  const head = ['algorithm', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', ...servers]
  const lines = rows.map(([name, s]) => [
    name, ms(s.p50), ms(s.p99), ms(s.p999), pct(s.errorRate), ...s.share.map(pct)
  ])
  const width = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)))
  const fmt = (cells: string[]): string =>
    '| ' + cells.map((x, c) => (c === 0 ? x.padEnd(width[c]!) : x.padStart(width[c]!))).join(' | ') + ' |'
  const rule = '|' + width.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|'
  return [fmt(head), rule, ...lines.map(fmt)].join('\n')
}

const ms = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(1))
const pct = (x: number): string => (x * 100).toFixed(1) + '%'
