import { Counter, Gauge, Registry } from 'prom-client'
import { FastCounter, FastHistogram, type CounterChild, type HistogramChild } from './fast-metrics.js'
import type { Backend } from '../backend.js'
import type { BackendPool, ConnectionKind } from '../pool.js'
import type { MetricsConfig } from '../config/types.js'
import type { CircuitState } from '../resilience/breaker.js'
import { METHOD_LABELS, type Recorder } from './types.js'
import type { AttemptFailure } from '../errors.js'
import { GrpcLabeller } from './grpc-labels.js'

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, open: 1, 'half-open': 2 }
const METHOD_INDEX = new Map<string, number>(METHOD_LABELS.map((m, i) => [m, i]))
const OTHER_METHOD = METHOD_LABELS.length

/** Label children of one backend, bound once. Request counters are keyed by status and method. */
interface BackendChildren {
  readonly rtt: HistogramChild
  readonly requests: Map<number, CounterChild>
  readonly errors: Map<string, CounterChild>
}

/**
 * The Prometheus exporter: metrics in a prom-client registry of its own (not the global one, so
 * several gateways can live in one process, as tests do). The per-request counters and
 * histograms are updated through children bound once per backend (fast-metrics.ts); rare events
 * use prom-client's Counter; gauges are computed from the pools when scraped (collect()), so the
 * request path never touches them. Process and Node metrics (CPU,
 * memory, event-loop lag) are added to the same registry by fastify-metrics on the admin server.
 */
export class PrometheusRecorder implements Recorder {
  readonly registry = new Registry()
  private readonly requests: FastCounter
  private readonly duration: FastHistogram
  private readonly backendRtt: FastHistogram
  private readonly upstreamErrors: FastCounter
  private readonly grpcCalls: FastCounter
  private readonly grpcLabels: GrpcLabeller
  /** gRPC call children by their label values. */
  private readonly grpcChildren = new Map<string, CounterChild>()
  private readonly retries: Counter
  /** Worker processes replaced after they exited (only the primary of workers counts them). */
  readonly workerRestarts: Counter
  private readonly circuitOpens: Counter
  private readonly healthChecks: Counter
  private readonly healthTransitions: Counter
  private readonly connections: Counter
  private readonly connectionBytes: Counter
  private readonly byBackend = new WeakMap<Backend, BackendChildren>()
  private readonly byPool = new WeakMap<BackendPool, HistogramChild>()

  constructor (cfg: MetricsConfig, pools: () => Iterable<BackendPool>) {
    const registers = [this.registry]
    // Updated on every request: our own light metrics (fast-metrics.ts explains why).
    const r = this.registry
    this.requests = new FastCounter('gateway_requests_total', 'Requests answered, by pool, backend, method and status code.', ['pool', 'backend', 'method', 'code'], r)
    this.duration = new FastHistogram('gateway_request_duration_seconds', 'Time from request to the end of the answer, as the client sees it through the gateway.', ['pool'], cfg.buckets, r)
    this.backendRtt = new FastHistogram('gateway_backend_response_seconds', 'Time from sending a request to a backend to its response headers.', ['pool', 'backend'], cfg.backendBuckets, r)
    this.upstreamErrors = new FastCounter('gateway_upstream_errors_total', 'Failed attempts at backends, by reason (connect, timeout, reset, tls, protocol, status).', ['pool', 'backend', 'reason'], r)
    this.grpcLabels = new GrpcLabeller(cfg.grpcMethods)
    this.grpcCalls = new FastCounter('gateway_grpc_requests_total', 'gRPC calls finished, by pool, route and gRPC status (and service and method when metrics.grpcMethods is on).',
      cfg.grpcMethods ? ['pool', 'route', 'grpc_service', 'grpc_method', 'grpc_code'] : ['pool', 'route', 'grpc_code'], r)
    this.workerRestarts = new Counter({ name: 'gateway_worker_restarts_total', help: 'Worker processes replaced after they exited (workers above 1).', registers })
    this.retries = new Counter({ name: 'gateway_retries_total', help: 'Retries sent, by the reason the previous attempt failed.', labelNames: ['pool', 'reason'], registers })
    this.circuitOpens = new Counter({ name: 'gateway_circuit_opens_total', help: 'Times a backend circuit opened.', labelNames: ['pool', 'backend'], registers })
    this.healthChecks = new Counter({ name: 'gateway_health_checks_total', help: 'Active health probes, by result (pass, fail).', labelNames: ['pool', 'backend', 'result'], registers })
    this.healthTransitions = new Counter({ name: 'gateway_health_transitions_total', help: 'Backend health changes, by new state (healthy, unhealthy, ejected, returned).', labelNames: ['pool', 'backend', 'to'], registers })

    this.connections = new Counter({ name: 'gateway_connections_total', help: 'WebSocket and TCP connections opened to backends, by kind (websocket, tcp).', labelNames: ['kind', 'pool', 'backend'], registers })
    this.connectionBytes = new Counter({ name: 'gateway_connection_bytes_total', help: 'Bytes carried by closed WebSocket and TCP connections, by kind and direction (in: from clients, out: to clients).', labelNames: ['kind', 'pool', 'direction'], registers })

    const each = (fn: (pool: BackendPool, b: Backend) => void): void => {
      for (const pool of pools()) for (const b of pool.backends) fn(pool, b)
    }
    // Gauges: read from the pools at scrape time. reset() first drops series of removed backends.
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void): void => {
      // eslint-disable-next-line no-new
      new Gauge({ name, help, labelNames, registers, collect () { this.reset(); fill(this) } })
    }
    gauge('gateway_in_flight_requests', 'Requests being served by each backend now.', ['pool', 'backend'],
      (g) => { each((p, b) => g.set({ pool: p.name, backend: b.id }, b.inFlight)) })
    gauge('gateway_backend_up', 'Whether a backend takes new requests (1) or not (0): healthy, not ejected, enabled, not draining, circuit not open.', ['pool', 'backend'],
      (g) => { each((p, b) => g.set({ pool: p.name, backend: b.id }, b.ready ? 1 : 0)) })
    gauge('gateway_circuit_state', 'Circuit state of each backend: 0 closed, 1 open, 2 half-open.', ['pool', 'backend'],
      (g) => { each((p, b) => { if (b.breaker !== undefined) g.set({ pool: p.name, backend: b.id }, CIRCUIT_VALUE[b.breaker.state]) }) })
    gauge('gateway_websocket_connections', 'Open proxied WebSocket connections per backend.', ['pool', 'backend'],
      (g) => { each((p, b) => { if (p.config.protocol === 'http') g.set({ pool: p.name, backend: b.id }, b.websockets) }) })
    gauge('gateway_tcp_connections', 'Open layer-4 connections per backend.', ['pool', 'backend'],
      (g) => { each((p, b) => { if (b.tcpConnections > 0 || p.config.protocol === 'tcp') g.set({ pool: p.name, backend: b.id }, b.tcpConnections) }) })
    gauge('gateway_backends_healthy', 'Backends of each pool that take new requests.', ['pool'],
      (g) => { for (const p of pools()) g.set({ pool: p.name }, p.readyCount()) })
    gauge('gateway_pool_panic', 'Whether a pool is in panic mode (1), so selection ignores health, or not (0).', ['pool'],
      (g) => { for (const p of pools()) g.set({ pool: p.name }, p.panic ? 1 : 0) })
  }

  request (pool: BackendPool, backend: Backend, method: string, status: number, seconds: number): void {
    const c = this.children(pool, backend)
    const key = status * 16 + (METHOD_INDEX.get(method) ?? OTHER_METHOD)
    let child = c.requests.get(key)
    if (child === undefined) {
      child = this.requests.labels(pool.name, backend.id, METHOD_LABELS[METHOD_INDEX.get(method) ?? -1] ?? 'OTHER', String(status))
      c.requests.set(key, child)
    }
    child.inc()
    this.poolDuration(pool).observe(seconds)
  }

  rejected (pool: BackendPool | undefined, method: string, status: number): void {
    const m = METHOD_LABELS[METHOD_INDEX.get(method) ?? -1] ?? 'OTHER'
    // Counted, but kept out of the duration histogram: answered at once, they would only pull
    // its low percentiles down.
    this.requests.labels(pool?.name ?? '', '', m, String(status)).inc()
  }

  backendResponse (pool: BackendPool, backend: Backend, seconds: number): void {
    this.children(pool, backend).rtt.observe(seconds)
  }

  upstreamError (pool: BackendPool, backend: Backend, reason: AttemptFailure): void {
    const c = this.children(pool, backend)
    let child = c.errors.get(reason)
    if (child === undefined) {
      child = this.upstreamErrors.labels(pool.name, backend.id, reason)
      c.errors.set(reason, child)
    }
    child.inc()
  }

  grpcCall (pool: BackendPool | undefined, route: string, path: string, code: number): void {
    const p = pool?.name ?? ''
    // Label values first (bounded by GrpcLabeller), so the children map is bounded as well.
    const l = this.grpcLabels.labels(path, code)
    const key = `${p}\u0000${route}\u0000${l.service}\u0000${l.method}\u0000${l.code}`
    let child = this.grpcChildren.get(key)
    if (child === undefined) {
      child = this.grpcLabels.withMethods ? this.grpcCalls.labels(p, route, l.service, l.method, l.code) : this.grpcCalls.labels(p, route, l.code)
      this.grpcChildren.set(key, child)
    }
    child.inc()
  }

  retry (pool: BackendPool, reason: AttemptFailure): void {
    this.retries.labels(pool.name, reason).inc()
  }

  circuit (pool: BackendPool, backend: Backend, _from: CircuitState, to: CircuitState): void {
    if (to === 'open') this.circuitOpens.labels(pool.name, backend.id).inc()
  }

  healthCheck (pool: BackendPool, backend: Backend, ok: boolean): void {
    this.healthChecks.labels(pool.name, backend.id, ok ? 'pass' : 'fail').inc()
  }

  healthTransition (pool: BackendPool, backend: Backend, to: string): void {
    this.healthTransitions.labels(pool.name, backend.id, to).inc()
  }

  connectionOpened (kind: ConnectionKind, pool: BackendPool, backend: Backend): void {
    this.connections.labels(kind, pool.name, backend.id).inc()
  }

  connectionClosed (kind: ConnectionKind, pool: BackendPool, _backend: Backend, bytesIn: number, bytesOut: number): void {
    this.connectionBytes.labels(kind, pool.name, 'in').inc(bytesIn)
    this.connectionBytes.labels(kind, pool.name, 'out').inc(bytesOut)
  }

  /**
   * A backend left the pool (admin API): its series go, so ids that come and go cannot grow the
   * output without bound. Its children are dropped with it (the WeakMap entry dies with the backend).
   */
  backendRemoved (pool: BackendPool, backend: Backend): void {
    const match = { pool: pool.name, backend: backend.id }
    this.requests.remove(match)
    this.backendRtt.remove(match)
    this.upstreamErrors.remove(match)
    this.circuitOpens.remove(match)
    for (const kind of ['websocket', 'tcp']) this.connections.remove({ ...match, kind })
    for (const result of ['pass', 'fail']) this.healthChecks.remove({ ...match, result })
    for (const to of ['healthy', 'unhealthy', 'ejected', 'returned']) this.healthTransitions.remove({ ...match, to })
  }

  async close (): Promise<void> {
    this.registry.clear()
  }

  private children (pool: BackendPool, backend: Backend): BackendChildren {
    let c = this.byBackend.get(backend)
    if (c === undefined) {
      c = { rtt: this.backendRtt.labels(pool.name, backend.id), requests: new Map(), errors: new Map() }
      this.byBackend.set(backend, c)
    }
    return c
  }

  private poolDuration (pool: BackendPool): HistogramChild {
    let h = this.byPool.get(pool)
    if (h === undefined) {
      h = this.duration.labels(pool.name)
      this.byPool.set(pool, h)
    }
    return h
  }
}
