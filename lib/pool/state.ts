import type { CircuitState } from '../resilience/breaker.js'

/**
 * A backend's state in one word (issue 13), for the admin API, its OpenAPI document and the
 * pool's log lines. Listed in precedence order: when several hold, the first one listed wins.
 *
 * - disabled, draining: an operator's decision (admin API, reload) outranks anything measured;
 *   disabled first, since a disabled backend stays out even once a drain would have finished.
 * - unhealthy: active health checks say it is down; this outlasts the timed states below.
 * - ejected: passive outlier detection took it out for a while (it returns on a timer).
 * - open: its circuit breaker is open or half-open. Half-open reads `open` because the backend
 *   takes only trial requests, not its share, until the trials pass; and because the open →
 *   half-open step waits for a request (lib/resilience/breaker.ts), the word does not depend on
 *   whether one has come yet. The `circuit` field tells the two apart.
 * - healthy: none of the above.
 *
 * The word is about why a backend is kept out, not whether it can take a request this instant:
 * a healthy backend at its request limit (circuitBreaker.maxConnections) is not `ready`, and in
 * panic mode an unhealthy, ejected or open one may take traffic. `ready` (lib/backend.ts) answers that.
 */
export const BACKEND_STATES = ['disabled', 'draining', 'unhealthy', 'ejected', 'open', 'healthy'] as const

export type BackendState = typeof BACKEND_STATES[number]

/** What the state is derived from: a Backend has all of it. */
export interface StateFlags {
  readonly enabled: boolean
  readonly draining: boolean
  readonly healthy: boolean
  readonly ejected: boolean
  readonly breaker?: { readonly state: CircuitState } | undefined
}

/** The one-word state of a backend (precedence above). Pure: reads flags, changes nothing. */
export function backendState (b: StateFlags): BackendState {
  if (!b.enabled) return 'disabled'
  if (b.draining) return 'draining'
  if (!b.healthy) return 'unhealthy'
  if (b.ejected) return 'ejected'
  if (b.breaker !== undefined && b.breaker.state !== 'closed') return 'open'
  return 'healthy'
}
