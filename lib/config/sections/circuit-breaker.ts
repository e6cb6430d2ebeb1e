/**
 * A pool's `circuitBreaker`: one breaker per backend, plus the per-backend request limits
 * (maxConnections, maxPendingRequests). Off when left out; on with every default when present.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { duration, int, isObj, num, type Ctx, type Obj } from '../fields.js'
import { closed, Duration, Int, RESILIENCE_DURATION_TEXT } from '../schema-parts.js'

/** In normalised units (ms). */
export const CIRCUIT_BREAKER_DEFAULTS = Object.freeze({
  failureRateThreshold: 50,
  window: 10_000,
  minimumRequests: 20,
  consecutiveFailures: 0,
  openDuration: 5_000,
  maxOpenDuration: 60_000,
  halfOpenRequests: 3,
  maxConnections: 0,
  maxPendingRequests: 0
})

const d = CIRCUIT_BREAKER_DEFAULTS
const D = (def: number): TSchema => Type.Optional(Duration(def, RESILIENCE_DURATION_TEXT))

export const CircuitBreakerSchema = Type.Object({
  failureRateThreshold: Type.Optional(Type.Number({ minimum: 1, maximum: 100, default: d.failureRateThreshold })),
  window: D(d.window),
  minimumRequests: Type.Optional(Int(1, 1_000_000, d.minimumRequests)),
  consecutiveFailures: Type.Optional(Int(0, 1000, d.consecutiveFailures)),
  openDuration: D(d.openDuration),
  maxOpenDuration: D(d.maxOpenDuration),
  halfOpenRequests: Type.Optional(Int(1, 1000, d.halfOpenRequests)),
  maxConnections: Type.Optional(Int(0, 1_000_000, d.maxConnections)),
  maxPendingRequests: Type.Optional(Int(0, 1_000_000, d.maxPendingRequests))
}, closed)

export interface CircuitBreakerConfig {
  /** Open when the failure rate over `window` reaches this percent (with minimumRequests). */
  failureRateThreshold: number
  /** Rolling window for the failure rate (ms). */
  window: number
  minimumRequests: number
  /** Or open after this many consecutive failures (0: off). */
  consecutiveFailures: number
  /** Time open before half-open (ms); each re-open doubles it, up to maxOpenDuration. */
  openDuration: number
  maxOpenDuration: number
  /** Trial requests let through while half-open; all must succeed to close. */
  halfOpenRequests: number
  /** Requests served at once per backend (0: unlimited); also its upstream socket count. */
  maxConnections: number
  /** Requests that may wait for one of those sockets (0: none wait); the pool admits at most maxConnections + maxPendingRequests. */
  maxPendingRequests: number
}

/** `p`: the pool's mapping; `segs`: the pool's path. undefined when the pool has no breaker. */
export function normaliseCircuitBreaker (ctx: Ctx, p: Obj, segs: string[]): CircuitBreakerConfig | undefined {
  if (!isObj(p.circuitBreaker)) return undefined
  const c = p.circuitBreaker
  const at = [...segs, 'circuitBreaker']
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
