/**
 * `pools.<name>`: named groups of interchangeable backends. This file holds the pool's own keys
 * (timeouts, hostHeader, slowStart, panicThreshold) and composes its sub-sections, each in a
 * file of its own: algorithm, backends, tls, healthCheck (health.ts), circuitBreaker, retry.
 * Checked here: pool names, one protocol per pool (http(s):// or tcp://), and that a tcp pool
 * takes tcp health checks.
 */
import { Type } from '@sinclair/typebox'
import { duration, isObj, section, str, type Ctx, type Obj } from '../fields.js'
import { closed, Duration, OneOf } from '../schema-parts.js'
import { AlgorithmSchema, normaliseAlgorithm, type AlgorithmConfig } from './algorithm.js'
import { BackendsSchema, normaliseBackends, type BackendConfig } from './backends.js'
import { normaliseTls, TlsSchema, type TlsConfig } from './tls.js'
import { HealthCheckSchema, normaliseHealthCheck, type HealthCheckConfig } from './health.js'
import { CircuitBreakerSchema, normaliseCircuitBreaker, type CircuitBreakerConfig } from './circuit-breaker.js'
import { normaliseRetry, RetrySchema, type RetryConfig } from './retry.js'

export const HOST_HEADER_MODES = ['preserve', 'backend'] as const
/** What the gateway speaks to a pool's http(s) backends: HTTP/1.1, or HTTP/2 (h2 by ALPN to https://, h2c to http://). */
export const UPSTREAM_PROTOCOLS = ['http1', 'http2'] as const

/** The pool's own keys, in ms; the sub-sections have theirs (ALGORITHM_DEFAULTS, TLS_DEFAULTS, ...). */
export const POOL_DEFAULTS = Object.freeze({
  timeouts: Object.freeze({ connect: 5_000, request: 60_000, idle: 4_000 }),
  hostHeader: 'preserve' as const,
  slowStart: 0, // off
  panicThreshold: 0, // off
  protocol: 'http1' as const
})

const d = POOL_DEFAULTS

/** Pool names appear in routes, metrics labels and admin URLs, so keep them plain. */
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/

export const PoolSchema = Type.Object({
  algorithm: Type.Optional(AlgorithmSchema),
  backends: BackendsSchema,
  timeouts: Type.Optional(Type.Object({
    connect: Type.Optional(Duration(d.timeouts.connect)),
    request: Type.Optional(Duration(d.timeouts.request)),
    idle: Type.Optional(Duration(d.timeouts.idle))
  }, closed)),
  tls: Type.Optional(TlsSchema),
  hostHeader: Type.Optional(OneOf(HOST_HEADER_MODES, d.hostHeader)),
  protocol: Type.Optional(OneOf(UPSTREAM_PROTOCOLS, d.protocol)),
  slowStart: Type.Optional(Duration(d.slowStart)),
  healthCheck: Type.Optional(HealthCheckSchema),
  circuitBreaker: Type.Optional(CircuitBreakerSchema),
  retry: Type.Optional(RetrySchema),
  panicThreshold: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: d.panicThreshold, description: 'a percent from 0 to 100' }))
}, closed)

export const PoolsSchema = Type.Record(Type.String(), PoolSchema, { minProperties: 1, minMessage: 'must define at least one pool' })

export interface TimeoutsConfig {
  /** TCP (and TLS) connect to a backend; over it the client gets 504. */
  connect: number
  /** Time to the backend's response headers, and the longest gap between body chunks; over it 504. */
  request: number
  /** How long an unused pooled upstream connection is kept; keep it under the backend's own keep-alive. */
  idle: number
}

export interface PoolConfig {
  name: string
  /**
   * What the backends speak, from their URL schemes: "http" (http:// and https://, for routes
   * and WebSocket routes) or "tcp" (tcp://, for tcp listeners only).
   */
  protocol: 'http' | 'tcp'
  /** The `protocol` key: HTTP/1.1 or HTTP/2 to http(s) backends (lib/upstream.ts). */
  upstream: typeof UPSTREAM_PROTOCOLS[number]
  algorithm: AlgorithmConfig
  backends: BackendConfig[]
  timeouts: TimeoutsConfig
  tls: TlsConfig
  /** "preserve" forwards the client's Host; "backend" sends the backend's host:port. */
  hostHeader: typeof HOST_HEADER_MODES[number]
  /**
   * Slow start in ms (0: off): a backend added at run time or coming back (enabled, healthy)
   * ramps from a tenth of its weight to all of it over this time.
   */
  slowStart: number
  healthCheck: HealthCheckConfig
  /** undefined: no circuit breaker and no per-backend limits. */
  circuitBreaker?: CircuitBreakerConfig
  retry: RetryConfig
  /** Percent (0..100): when fewer of the pool are healthy, balance over all of them; 0 off. */
  panicThreshold: number
}

/** Normalised pools; pools whose name is invalid are reported and left out. */
export function normalisePools (ctx: Ctx, raw: unknown): Record<string, PoolConfig> {
  const pools: Record<string, PoolConfig> = {}
  if (!isObj(raw)) return pools
  for (const [name, p] of Object.entries(raw)) {
    const segs = ['pools', name]
    if (!POOL_NAME.test(name)) {
      ctx.issues.add(segs, 'invalid pool name: use letters, digits, "-" and "_", starting with a letter or digit')
      continue
    }
    if (isObj(p)) pools[name] = normalisePool(ctx, name, p, segs)
  }
  return pools
}

// Issues are reported in the order the keys are read here (the list is then sorted by line,
// stably), so keep this order when adding keys.
function normalisePool (ctx: Ctx, name: string, p: Obj, segs: string[]): PoolConfig {
  const t = section(p, 'timeouts')
  const hostHeader = str(p, 'hostHeader', d.hostHeader)
  const backends = normaliseBackends(ctx, p.backends, [...segs, 'backends'])
  const pool: PoolConfig = {
    name,
    protocol: poolProtocol(ctx, backends, [...segs, 'backends']),
    upstream: p.protocol === 'http2' ? 'http2' : 'http1',
    algorithm: normaliseAlgorithm(ctx, p.algorithm, [...segs, 'algorithm']),
    backends,
    timeouts: {
      connect: duration(ctx, t, 'connect', [...segs, 'timeouts'], d.timeouts.connect, 1),
      request: duration(ctx, t, 'request', [...segs, 'timeouts'], d.timeouts.request, 1),
      idle: duration(ctx, t, 'idle', [...segs, 'timeouts'], d.timeouts.idle, 1)
    },
    tls: normaliseTls(ctx, section(p, 'tls'), [...segs, 'tls']),
    hostHeader: (HOST_HEADER_MODES as readonly string[]).includes(hostHeader) ? hostHeader as PoolConfig['hostHeader'] : d.hostHeader,
    slowStart: duration(ctx, p, 'slowStart', segs, d.slowStart, 0),
    healthCheck: normaliseHealthCheck(ctx, p, segs),
    retry: normaliseRetry(ctx, p, segs),
    panicThreshold: typeof p.panicThreshold === 'number' ? p.panicThreshold : d.panicThreshold
  }
  const breaker = normaliseCircuitBreaker(ctx, p, segs)
  if (breaker !== undefined) pool.circuitBreaker = breaker
  if (pool.protocol === 'tcp' && pool.healthCheck.active?.type === 'http') {
    ctx.issues.add([...segs, 'healthCheck', 'active', 'type'], 'a pool of tcp:// backends takes tcp health checks (type: tcp), not http')
  }
  if (pool.healthCheck.active?.type === 'grpc' && pool.upstream !== 'http2') {
    ctx.issues.add([...segs, 'healthCheck', 'active', 'type'], 'grpc health checks need a pool that speaks HTTP/2 (protocol: http2), as gRPC does')
  }
  return pool
}

/** A pool speaks HTTP (http://, https://) or raw TCP (tcp://), never both. */
function poolProtocol (ctx: Ctx, backends: BackendConfig[], segs: Array<string | number>): PoolConfig['protocol'] {
  const tcp = backends.filter((b) => b.url.startsWith('tcp:'))
  if (tcp.length > 0 && tcp.length < backends.length) {
    ctx.issues.add(segs, 'mixes tcp:// backends with http(s):// ones; a pool is either layer 4 (tcp://) or HTTP')
  }
  return tcp.length > 0 ? 'tcp' : 'http'
}
