import type { FastifyBaseLogger } from 'fastify'
import type { MetricsConfig } from '../config/types.js'
import type { BackendPool } from '../pool.js'
import type { Recorder } from './types.js'
import { PrometheusRecorder } from './prometheus.js'
import { StatsdRecorder } from './statsd.js'
import { LatencyWindows } from '../dashboard/latency.js'

export type { Recorder } from './types.js'
export { PrometheusRecorder } from './prometheus.js'

export interface Metrics {
  /** What the proxy and the wiring record into; fans out to every exporter. */
  recorder: Recorder
  prometheus: PrometheusRecorder
  statsd: StatsdRecorder | undefined
  /** Per-interval latency percentiles for the dashboard (lib/dashboard/); empty with metrics off. */
  latency: LatencyWindows
}

/**
 * Builds the exporters: Prometheus always, StatsD when configured (a small fan-out calls each in
 * turn), and the dashboard's latency windows, which hear only request().
 */
export function createMetrics (cfg: MetricsConfig, pools: () => Iterable<BackendPool>, log: FastifyBaseLogger): Metrics {
  const prometheus = new PrometheusRecorder(cfg, pools)
  const latency = new LatencyWindows()
  if (!cfg.enabled) return { prometheus, statsd: undefined, latency, recorder: NOTHING }
  const statsd = cfg.statsd === undefined ? undefined : new StatsdRecorder(cfg.statsd, pools, log, cfg.grpcMethods)
  return { prometheus, statsd, latency, recorder: withLatency(statsd === undefined ? prometheus : fanOut([prometheus, statsd]), latency) }
}

/** metrics.enabled: false records nothing. */
const NOTHING: Recorder = {
  request () {},
  rejected () {},
  backendResponse () {},
  upstreamError () {},
  grpcCall () {},
  retry () {},
  circuit () {},
  healthCheck () {},
  healthTransition () {},
  connectionOpened () {},
  connectionClosed () {},
  close: async () => {}
}

/**
 * `base`, with request() also feeding the dashboard's latency windows. Not a fan-out sink: the
 * fan-out's rest arguments allocate an array per call, and only request() concerns the windows.
 */
function withLatency (base: Recorder, latency: LatencyWindows): Recorder {
  return {
    request: (pool, backend, method, status, seconds) => { base.request(pool, backend, method, status, seconds); latency.request(pool, backend, seconds) },
    rejected: base.rejected.bind(base),
    backendResponse: base.backendResponse.bind(base),
    upstreamError: base.upstreamError.bind(base),
    grpcCall: base.grpcCall.bind(base),
    retry: base.retry.bind(base),
    circuit: base.circuit.bind(base),
    healthCheck: base.healthCheck.bind(base),
    healthTransition: base.healthTransition.bind(base),
    connectionOpened: base.connectionOpened.bind(base),
    connectionClosed: base.connectionClosed.bind(base),
    close: base.close.bind(base)
  }
}

function fanOut (sinks: Recorder[]): Recorder {
  return {
    request: (...a) => { for (const s of sinks) s.request(...a) },
    rejected: (...a) => { for (const s of sinks) s.rejected(...a) },
    backendResponse: (...a) => { for (const s of sinks) s.backendResponse(...a) },
    upstreamError: (...a) => { for (const s of sinks) s.upstreamError(...a) },
    grpcCall: (...a) => { for (const s of sinks) s.grpcCall(...a) },
    retry: (...a) => { for (const s of sinks) s.retry(...a) },
    circuit: (...a) => { for (const s of sinks) s.circuit(...a) },
    healthCheck: (...a) => { for (const s of sinks) s.healthCheck(...a) },
    healthTransition: (...a) => { for (const s of sinks) s.healthTransition(...a) },
    connectionOpened: (...a) => { for (const s of sinks) s.connectionOpened(...a) },
    connectionClosed: (...a) => { for (const s of sinks) s.connectionClosed(...a) },
    close: async () => { await Promise.all(sinks.map(async (s) => { await s.close() })) }
  }
}
