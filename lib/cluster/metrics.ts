import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client'

export type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>

/**
 * Series the primary alone is the source of: it runs the health checks, decides health,
 * ejection and panic for the whole gateway, counts worker restarts, and reads the same
 * certificates. The workers' copies are left out, or a transition seen by three processes
 * would count three times.
 */
const FROM_PRIMARY = new Set([
  'gateway_health_checks_total',
  'gateway_health_transitions_total',
  'gateway_backends_healthy',
  'gateway_pool_panic',
  'gateway_worker_restarts_total',
  'gateway_tls_certificate_expiry_timestamp_seconds',
  'gateway_config_revision',
  'gateway_config_store_connected',
  'gateway_config_store_behind',
  'gateway_rate_limit_store_connected',
  'gateway_rate_limit_fallback_total'
])

/**
 * Gauges of per-worker state that are not summed: a backend is up (1) only if every worker may
 * send it requests (a circuit is per worker), and a circuit's state is the worst any worker has.
 */
const AGGREGATOR: Record<string, 'min' | 'max'> = {
  gateway_backend_up: 'min',
  gateway_circuit_state: 'max'
}

const traffic = (name: string): boolean => name.startsWith('gateway_') && !FROM_PRIMARY.has(name)

/**
 * /metrics of a gateway with workers: one exposition with the same names as a single process
 * (docs/workers.md, docs/metrics.md). Traffic series (requests, latencies, errors, retries,
 * connections, in-flight) come from the workers, summed per label set (histograms bucket by
 * bucket); control-plane series from the primary; process and Node series from every process,
 * each by prom-client's own rule for it (CPU and memory summed, versions taken once).
 */
export async function aggregateMetrics (primary: Registry, workers: readonly MetricsJson[]): Promise<string> {
  const own = (await primary.getMetricsAsJSON()).filter((m) => !traffic(m.name)) as MetricsJson
  const theirs = workers.map((w) => w.filter((m) => !FROM_PRIMARY.has(m.name)).map((m) => {
    const agg = AGGREGATOR[m.name]
    return agg === undefined ? m : { ...m, aggregator: agg }
  }))
  return await AggregatorRegistry.aggregate([own, ...theirs] as never).metrics()
}
