import StatsDClient, { type StatsD } from 'hot-shots'
import type { FastifyBaseLogger } from 'fastify'
import type { Backend } from '../backend.js'
import type { BackendPool, ConnectionKind } from '../pool.js'
import type { StatsdConfig } from '../config/types.js'
import type { CircuitState } from '../resilience/breaker.js'
import { methodLabel, type Recorder } from './types.js'
import type { AttemptFailure } from '../errors.js'
import { GrpcLabeller } from './grpc-labels.js'
import type { CertificateInfo } from '../tls/certificate.js'

/** StatsD names use "." as separator: other characters of ids become "_". */
function part (s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_')
}

/** Names (plain StatsD) or tags (DogStatsD) of one backend, built once. */
interface BackendNames {
  /** "web.10_0_0_1_80" */
  readonly path: string
  readonly tags: string[]
}

/**
 * The StatsD exporter (hot-shots over UDP): the same events as Prometheus, as counters
 * (`requests`, `upstream_errors`, `retries`, `circuit_opens`, `health_checks`,
 * `health_transitions`), timings (`request_duration`, `backend_response`, in ms) and gauges
 * (`in_flight`, `backend_up`, `backends_healthy`, `circuit_state`, `process.rss_bytes`,
 * `process.cpu_percent`) sent every flushInterval. Plain StatsD puts pool and backend in the
 * name (`gateway.requests.web.10_0_0_1_80.GET.200`); DogStatsD sends them as tags.
 *
 * UDP never blocks and send errors only reach errorHandler (logged at debug), so a missing or
 * unreachable StatsD server cannot slow or break request handling. Packets are batched up to
 * one MTU-sized datagram.
 */
export class StatsdRecorder implements Recorder {
  private readonly client: StatsD
  private readonly names = new WeakMap<Backend, BackendNames>()
  private readonly timer: NodeJS.Timeout
  private readonly grpcLabels: GrpcLabeller
  private lastCpu = process.cpuUsage()
  private lastCpuAt = performance.now()

  constructor (private readonly cfg: StatsdConfig, private readonly pools: () => Iterable<BackendPool>, log: FastifyBaseLogger, grpcMethods = false) {
    this.client = new StatsDClient({
      host: cfg.host,
      port: cfg.port,
      prefix: cfg.prefix,
      globalTags: cfg.dogstatsd ? cfg.tags : undefined,
      maxBufferSize: 1400,
      bufferFlushInterval: cfg.flushInterval,
      errorHandler: (err) => { log.debug({ err }, 'statsd send failed') }
    })
    this.grpcLabels = new GrpcLabeller(grpcMethods)
    this.timer = setInterval(() => { this.publishGauges() }, cfg.flushInterval).unref()
  }

  request (pool: BackendPool, backend: Backend, method: string, status: number, seconds: number): void {
    const n = this.of(pool, backend)
    const m = methodLabel(method)
    if (this.cfg.dogstatsd) this.client.increment('requests', 1, [...n.tags, `method:${m}`, `code:${status}`])
    else this.client.increment(`requests.${n.path}.${m}.${status}`)
    this.timingOf('request_duration', pool, seconds)
  }

  rejected (pool: BackendPool | undefined, method: string, status: number): void {
    const p = pool === undefined ? 'none' : part(pool.name)
    const m = methodLabel(method)
    if (this.cfg.dogstatsd) this.client.increment('requests', 1, [`pool:${p}`, 'backend:none', `method:${m}`, `code:${status}`])
    else this.client.increment(`requests.${p}.none.${m}.${status}`)
  }

  grpcCall (pool: BackendPool | undefined, route: string, path: string, code: number): void {
    const p = pool === undefined ? 'none' : part(pool.name)
    const l = this.grpcLabels.labels(path, code)
    const r = route === '' ? 'none' : part(route)
    if (this.cfg.dogstatsd) {
      const tags = [`pool:${p}`, `route:${r}`, `grpc_code:${l.code}`]
      if (this.grpcLabels.withMethods) tags.push(`grpc_service:${l.service}`, `grpc_method:${l.method}`)
      this.client.increment('grpc_requests', 1, tags)
    } else {
      this.client.increment(this.grpcLabels.withMethods ? `grpc_requests.${p}.${r}.${part(l.service)}.${part(l.method)}.${l.code}` : `grpc_requests.${p}.${r}.${l.code}`)
    }
  }

  backendResponse (pool: BackendPool, backend: Backend, seconds: number): void {
    const n = this.of(pool, backend)
    if (this.cfg.dogstatsd) this.client.timing('backend_response', seconds * 1000, n.tags)
    else this.client.timing(`backend_response.${n.path}`, seconds * 1000)
  }

  upstreamError (pool: BackendPool, backend: Backend, reason: AttemptFailure): void {
    this.count('upstream_errors', pool, backend, 'reason', reason)
  }

  retry (pool: BackendPool, reason: AttemptFailure): void {
    if (this.cfg.dogstatsd) this.client.increment('retries', 1, [`pool:${part(pool.name)}`, `reason:${reason}`])
    else this.client.increment(`retries.${part(pool.name)}.${reason}`)
  }

  circuit (pool: BackendPool, backend: Backend, _from: CircuitState, to: CircuitState): void {
    if (to === 'open') this.count('circuit_opens', pool, backend)
  }

  healthCheck (pool: BackendPool, backend: Backend, ok: boolean): void {
    this.count('health_checks', pool, backend, 'result', ok ? 'pass' : 'fail')
  }

  healthTransition (pool: BackendPool, backend: Backend, to: string): void {
    this.count('health_transitions', pool, backend, 'to', to)
  }

  connectionOpened (kind: ConnectionKind, pool: BackendPool, backend: Backend): void {
    this.count('connections', pool, backend, 'kind', kind)
  }

  connectionClosed (kind: ConnectionKind, pool: BackendPool, _backend: Backend, bytesIn: number, bytesOut: number): void {
    const p = part(pool.name)
    if (this.cfg.dogstatsd) {
      this.client.increment('connection_bytes', bytesIn, [`pool:${p}`, `kind:${kind}`, 'direction:in'])
      this.client.increment('connection_bytes', bytesOut, [`pool:${p}`, `kind:${kind}`, 'direction:out'])
    } else {
      this.client.increment(`connection_bytes.${p}.${kind}.in`, bytesIn)
      this.client.increment(`connection_bytes.${p}.${kind}.out`, bytesOut)
    }
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    this.publishGauges()
    await new Promise<void>((resolve) => { this.client.close(() => { resolve() }) })
  }

  /** A TLS handshake with a client failed (lib/metrics/tls.ts folds the reason). */
  tlsHandshakeFailed (reason: string): void {
    if (this.cfg.dogstatsd) this.client.increment('tls_handshake_failures', 1, [`reason:${reason}`])
    else this.client.increment(`tls_handshake_failures.${reason}`)
  }

  /** The served certificates, read with the gauges (set by the traffic plugin when TLS listeners exist). */
  certificates: (() => Iterable<CertificateInfo>) | undefined

  /** Gauges, read from the pools, the certificates and the process once per flushInterval. */
  publishGauges (): void {
    for (const c of this.certificates?.() ?? []) {
      const name = part(c.names[0] ?? 'none')
      this.gauge('tls_certificate_expiry_timestamp_seconds', Math.floor(Date.parse(c.notAfter) / 1000), name, [`name:${name}`])
    }
    for (const pool of this.pools()) {
      this.gauge('backends_healthy', pool.readyCount(), `${part(pool.name)}`, [`pool:${part(pool.name)}`])
      this.gauge('pool_panic', pool.panic ? 1 : 0, `${part(pool.name)}`, [`pool:${part(pool.name)}`])
      for (const b of pool.backends) {
        const n = this.of(pool, b)
        this.gauge('in_flight', b.inFlight, n.path, n.tags)
        if (b.websockets > 0 || pool.config.protocol === 'http') this.gauge('websocket_connections', b.websockets, n.path, n.tags)
        if (b.tcpConnections > 0 || pool.config.protocol === 'tcp') this.gauge('tcp_connections', b.tcpConnections, n.path, n.tags)
        this.gauge('backend_up', b.ready ? 1 : 0, n.path, n.tags)
        if (b.breaker !== undefined) this.gauge('circuit_state', b.breaker.state === 'closed' ? 0 : b.breaker.state === 'open' ? 1 : 2, n.path, n.tags)
      }
    }
    const now = performance.now()
    const cpu = process.cpuUsage(this.lastCpu)
    const elapsedUs = (now - this.lastCpuAt) * 1000
    this.lastCpu = process.cpuUsage()
    this.lastCpuAt = now
    this.client.gauge('process.rss_bytes', process.memoryUsage.rss())
    if (elapsedUs > 0) this.client.gauge('process.cpu_percent', Math.round(1000 * (cpu.user + cpu.system) / elapsedUs) / 10)
  }

  private gauge (name: string, value: number, path: string, tags: string[]): void {
    if (this.cfg.dogstatsd) this.client.gauge(name, value, tags)
    else this.client.gauge(`${name}.${path}`, value)
  }

  private count (name: string, pool: BackendPool, backend: Backend, tag?: string, value?: string): void {
    const n = this.of(pool, backend)
    if (this.cfg.dogstatsd) this.client.increment(name, 1, tag === undefined ? n.tags : [...n.tags, `${tag}:${value!}`])
    else this.client.increment(tag === undefined ? `${name}.${n.path}` : `${name}.${n.path}.${value!}`)
  }

  private timingOf (name: string, pool: BackendPool, seconds: number): void {
    if (this.cfg.dogstatsd) this.client.timing(name, seconds * 1000, [`pool:${part(pool.name)}`])
    else this.client.timing(`${name}.${part(pool.name)}`, seconds * 1000)
  }

  private of (pool: BackendPool, backend: Backend): BackendNames {
    let n = this.names.get(backend)
    if (n === undefined) {
      n = { path: `${part(pool.name)}.${part(backend.id)}`, tags: [`pool:${part(pool.name)}`, `backend:${part(backend.id)}`] }
      this.names.set(backend, n)
    }
    return n
  }
}
