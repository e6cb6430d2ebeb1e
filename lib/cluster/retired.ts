import { AggregatorRegistry } from 'prom-client'
import type { PoolCounters } from './messages.js'
import type { MetricsJson } from './metrics.js'
import { sumCounters } from './pool-sync.js'

/** Metric types whose values only grow and so outlive the process that counted them. */
const CUMULATIVE = new Set(['counter', 'histogram'])

/**
 * What workers that exited had counted, so the gateway's totals (GET /admin/pools, /metrics) do
 * not drop when a worker is replaced. A dead worker cannot be asked, so what is kept is its last
 * answer: the counts it made after the last admin read or scrape are lost, but a total never
 * goes down (Prometheus would take a drop for a counter reset and count the rest again).
 * Gauges (in-flight, connections) are not kept: they ended with the process.
 */
export class RetiredTotals {
  private counters: PoolCounters = {}
  private metrics: MetricsJson = []
  /** Folds run one at a time: two workers dying together must both be kept. */
  private folding: Promise<void> = Promise.resolve()

  /** Folds in a dead worker's last answers (either may be missing: it was never asked). */
  retire (counters: PoolCounters | undefined, metrics: MetricsJson | undefined): void {
    if (counters !== undefined) this.counters = sumCounters([this.counters, cumulativeCounters(counters)])
    if (metrics !== undefined) this.folding = this.folding.then(async () => { await this.fold(metrics) })
  }

  private async fold (metrics: MetricsJson): Promise<void> {
    const kept = metrics.filter((m) => CUMULATIVE.has(String(m.type)))
    if (this.metrics.length === 0) {
      this.metrics = kept
      return
    }
    const merged = AggregatorRegistry.aggregate([this.metrics, kept] as never)
    this.metrics = await merged.getMetricsAsJSON() as MetricsJson
  }

  /** The retired workers' requests and errors, as one more worker's counters. */
  poolCounters (): PoolCounters { return this.counters }

  /** The retired workers' counters and histograms, as one more worker's registry. */
  async metricsJson (): Promise<MetricsJson> {
    await this.folding
    return this.metrics
  }
}

function cumulativeCounters (c: PoolCounters): PoolCounters {
  const out: PoolCounters = {}
  for (const [pool, backends] of Object.entries(c)) {
    const per: PoolCounters[string] = out[pool] = {}
    for (const [id, n] of Object.entries(backends)) per[id] = { inFlight: 0, websockets: 0, tcpConnections: 0, requests: n.requests, errors: n.errors }
  }
  return out
}
