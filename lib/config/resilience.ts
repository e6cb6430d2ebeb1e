/**
 * The pool's resilience sections: healthCheck (active probes and passive ejection),
 * circuitBreaker, retry and panicThreshold. Schemas give the shape; the normalisers turn
 * durations into ms, status ranges into pairs, and fill the defaults below.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import type { ActiveHealthConfig, CircuitBreakerConfig, HealthCheckConfig, PassiveHealthConfig, RetryConfig } from './types.js'
import { duration, int, isObj, section, size, str, type Ctx, type Obj } from './fields.js'

export const RESILIENCE_DEFAULTS = Object.freeze({
  active: Object.freeze({
    type: 'http' as const, method: 'GET', path: '/health', expectStatus: '200-399', interval: 5_000, timeout: 2_000,
    healthyThreshold: 2, unhealthyThreshold: 3, initialState: 'healthy' as const,
    backoff: Object.freeze({ initial: 1_000, max: 30_000, multiplier: 2, jitter: 0.2 })
  }),
  passive: Object.freeze({
    consecutiveFailures: 5, failureStatuses: Object.freeze([502, 503, 504]), baseEjectionTime: 30_000,
    maxEjectionTime: 300_000, maxEjectionPercent: 50
  }),
  circuitBreaker: Object.freeze({
    failureRateThreshold: 50, window: 10_000, minimumRequests: 20, consecutiveFailures: 0, openDuration: 5_000,
    maxOpenDuration: 60_000, halfOpenRequests: 3, maxConnections: 0, maxPendingRequests: 0
  }),
  retry: Object.freeze({
    attempts: 2, perTryTimeout: 0, backoff: Object.freeze({ base: 25, max: 250 }),
    statuses: Object.freeze([502, 503, 504]), methods: Object.freeze(['GET', 'HEAD', 'OPTIONS', 'TRACE']),
    maxReplayBody: 64 * 1024, budget: Object.freeze({ percent: 20, window: 10_000, minRetries: 10 })
  }),
  panicThreshold: 0
})

const closed = { additionalProperties: false } as const
const D = (): TSchema => Type.Optional(Type.Union([Type.String(), Type.Number()], { description: 'a duration (a number of ms, or 250ms, 5s, 1m)' }))
const Int = (min: number, max: number): TSchema => Type.Optional(Type.Integer({ minimum: min, maximum: max }))
const Percent = (): TSchema => Type.Optional(Type.Number({ minimum: 0, maximum: 100 }))
const Status = Type.Integer({ minimum: 100, maximum: 599 })
const StatusRange = Type.Union([Status, Type.String({ pattern: '^[1-5][0-9]{2}(-[1-5][0-9]{2})?$' })], { description: 'a status from 100 to 599 or a range like "200-399"' })
const Method = Type.String({ pattern: '^[A-Za-z]+$' })

export const HealthCheckSchema = Type.Object({
  active: Type.Optional(Type.Object({
    type: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('tcp')])),
    method: Type.Optional(Method),
    path: Type.Optional(Type.String({ pattern: '^/' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    expectStatus: Type.Optional(Type.Union([StatusRange, Type.Array(StatusRange, { minItems: 1 })], { description: 'a status from 100 to 599 (e.g. 200), a range like "200-399", or a list of those' })),
    bodyMatch: Type.Optional(Type.String({ minLength: 1 })),
    interval: D(),
    timeout: D(),
    healthyThreshold: Int(1, 100),
    unhealthyThreshold: Int(1, 100),
    initialState: Type.Optional(Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')])),
    backoff: Type.Optional(Type.Object({
      initial: D(), max: D(), multiplier: Type.Optional(Type.Number({ minimum: 1, maximum: 10 })), jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 }))
    }, closed))
  }, closed)),
  passive: Type.Optional(Type.Object({
    consecutiveFailures: Int(1, 1000),
    failureStatuses: Type.Optional(Type.Array(Status)),
    baseEjectionTime: D(),
    maxEjectionTime: D(),
    maxEjectionPercent: Percent()
  }, closed))
}, closed)

export const CircuitBreakerSchema = Type.Object({
  failureRateThreshold: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
  window: D(),
  minimumRequests: Int(1, 1_000_000),
  consecutiveFailures: Int(0, 1000),
  openDuration: D(),
  maxOpenDuration: D(),
  halfOpenRequests: Int(1, 1000),
  maxConnections: Int(0, 1_000_000),
  maxPendingRequests: Int(0, 1_000_000)
}, closed)

export const RetrySchema = Type.Object({
  attempts: Int(1, 10),
  perTryTimeout: D(),
  backoff: Type.Optional(Type.Object({ base: D(), max: D() }, closed)),
  statuses: Type.Optional(Type.Array(Status)),
  methods: Type.Optional(Type.Array(Method)),
  maxReplayBody: Type.Optional(Type.Union([Type.String(), Type.Number()], { description: 'a size (bytes, or 16kb, 1mb)' })),
  budget: Type.Optional(Type.Object({ percent: Percent(), window: D(), minRetries: Int(0, 1_000_000) }, closed))
}, closed)

export function normaliseHealthCheck (ctx: Ctx, p: Obj, segs: string[]): HealthCheckConfig {
  const h = section(p, 'healthCheck')
  const out: HealthCheckConfig = {}
  if (isObj(h.active)) out.active = active(ctx, h.active, [...segs, 'healthCheck', 'active'])
  if (isObj(h.passive)) out.passive = passive(ctx, h.passive, [...segs, 'healthCheck', 'passive'])
  return out
}

function active (ctx: Ctx, a: Obj, segs: string[]): ActiveHealthConfig {
  const d = RESILIENCE_DEFAULTS.active
  const b = section(a, 'backoff')
  const cfg: ActiveHealthConfig = {
    type: a.type === 'tcp' ? 'tcp' : 'http',
    method: str(a, 'method', d.method).toUpperCase(),
    path: str(a, 'path', d.path),
    headers: isObj(a.headers) ? a.headers as Record<string, string> : {},
    expectStatus: statusRanges(ctx, a.expectStatus ?? d.expectStatus, [...segs, 'expectStatus']),
    interval: duration(ctx, a, 'interval', segs, d.interval, 1),
    timeout: duration(ctx, a, 'timeout', segs, d.timeout, 1),
    healthyThreshold: int(a, 'healthyThreshold', d.healthyThreshold),
    unhealthyThreshold: int(a, 'unhealthyThreshold', d.unhealthyThreshold),
    initialState: a.initialState === 'unhealthy' ? 'unhealthy' : 'healthy',
    backoff: {
      initial: duration(ctx, b, 'initial', [...segs, 'backoff'], d.backoff.initial, 1),
      max: duration(ctx, b, 'max', [...segs, 'backoff'], d.backoff.max, 1),
      multiplier: num(b, 'multiplier', d.backoff.multiplier),
      jitter: num(b, 'jitter', d.backoff.jitter)
    }
  }
  if (typeof a.bodyMatch === 'string') cfg.bodyMatch = a.bodyMatch
  if (cfg.timeout > cfg.interval) ctx.issues.add([...segs, 'timeout'], 'must not be longer than interval (probes of one backend never overlap)')
  if (cfg.backoff.max < cfg.backoff.initial) ctx.issues.add([...segs, 'backoff', 'max'], 'must not be shorter than backoff.initial')
  return cfg
}

function passive (ctx: Ctx, p: Obj, segs: string[]): PassiveHealthConfig {
  const d = RESILIENCE_DEFAULTS.passive
  const cfg: PassiveHealthConfig = {
    consecutiveFailures: int(p, 'consecutiveFailures', d.consecutiveFailures),
    failureStatuses: Array.isArray(p.failureStatuses) ? p.failureStatuses as number[] : [...d.failureStatuses],
    baseEjectionTime: duration(ctx, p, 'baseEjectionTime', segs, d.baseEjectionTime, 1),
    maxEjectionTime: duration(ctx, p, 'maxEjectionTime', segs, d.maxEjectionTime, 1),
    maxEjectionPercent: num(p, 'maxEjectionPercent', d.maxEjectionPercent)
  }
  if (cfg.maxEjectionTime < cfg.baseEjectionTime) ctx.issues.add([...segs, 'maxEjectionTime'], 'must not be shorter than baseEjectionTime')
  return cfg
}

export function normaliseCircuitBreaker (ctx: Ctx, p: Obj, segs: string[]): CircuitBreakerConfig | undefined {
  if (!isObj(p.circuitBreaker)) return undefined
  const c = p.circuitBreaker
  const at = [...segs, 'circuitBreaker']
  const d = RESILIENCE_DEFAULTS.circuitBreaker
  const cfg: CircuitBreakerConfig = {
    failureRateThreshold: num(c, 'failureRateThreshold', d.failureRateThreshold),
    window: duration(ctx, c, 'window', at, d.window, 1),
    minimumRequests: int(c, 'minimumRequests', d.minimumRequests),
    consecutiveFailures: int(c, 'consecutiveFailures', d.consecutiveFailures),
    openDuration: duration(ctx, c, 'openDuration', at, d.openDuration, 1),
    maxOpenDuration: duration(ctx, c, 'maxOpenDuration', at, d.maxOpenDuration, 1),
    halfOpenRequests: int(c, 'halfOpenRequests', d.halfOpenRequests),
    maxConnections: int(c, 'maxConnections', d.maxConnections),
    maxPendingRequests: int(c, 'maxPendingRequests', d.maxPendingRequests)
  }
  if (cfg.maxOpenDuration < cfg.openDuration) ctx.issues.add([...at, 'maxOpenDuration'], 'must not be shorter than openDuration')
  return cfg
}

export function normaliseRetry (ctx: Ctx, p: Obj, segs: string[]): RetryConfig {
  const r = section(p, 'retry')
  const at = [...segs, 'retry']
  const d = RESILIENCE_DEFAULTS.retry
  const b = section(r, 'backoff')
  const g = section(r, 'budget')
  const cfg: RetryConfig = {
    attempts: int(r, 'attempts', d.attempts),
    perTryTimeout: duration(ctx, r, 'perTryTimeout', at, d.perTryTimeout, 0),
    backoff: { base: duration(ctx, b, 'base', [...at, 'backoff'], d.backoff.base, 0), max: duration(ctx, b, 'max', [...at, 'backoff'], d.backoff.max, 0) },
    statuses: Array.isArray(r.statuses) ? r.statuses as number[] : [...d.statuses],
    methods: Array.isArray(r.methods) ? (r.methods as string[]).map((m) => m.toUpperCase()) : [...d.methods],
    maxReplayBody: size(ctx, r, 'maxReplayBody', at, d.maxReplayBody, 0),
    budget: {
      percent: num(g, 'percent', d.budget.percent),
      window: duration(ctx, g, 'window', [...at, 'budget'], d.budget.window, 1),
      minRetries: int(g, 'minRetries', d.budget.minRetries)
    }
  }
  if (cfg.backoff.max < cfg.backoff.base) ctx.issues.add([...at, 'backoff', 'max'], 'must not be shorter than backoff.base')
  if (cfg.methods.includes('POST') || cfg.methods.includes('PATCH')) {
    ctx.issues.add([...at, 'methods'], 'POST and PATCH are not idempotent and are never retried; remove them')
  }
  return cfg
}

/** "200-399", 204, or a list of those, as inclusive [from, to] pairs; an inverted range is an issue. */
function statusRanges (ctx: Ctx, v: unknown, segs: Array<string | number>): Array<[number, number]> {
  const list = Array.isArray(v) ? v : [v]
  const out: Array<[number, number]> = []
  list.forEach((item: unknown, i) => {
    if (typeof item === 'number') out.push([item, item])
    else if (typeof item === 'string') {
      const [from, to] = item.split('-').map(Number) as [number, number | undefined]
      if (to !== undefined && to < from) ctx.issues.add(Array.isArray(v) ? [...segs, i] : segs, `"${item}" is an empty range; write the lower status first`)
      else out.push([from, to ?? from])
    }
  })
  return out
}

function num (o: Obj, key: string, def: number): number {
  const v = o[key]
  return typeof v === 'number' && Number.isFinite(v) ? v : def
}
