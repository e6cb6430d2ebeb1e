import type { BackendConfig, PoolConfig } from '../config/types.js'
import type { Backend } from '../backend.js'

/** What a pool being built needs from its predecessor (a reload), and from itself. */
export interface Adoption {
  /** The pool this one replaces, with its config and backends. */
  previous: { readonly config: PoolConfig, find: (id: string) => Backend | undefined } | undefined
  /** A new backend (new upstream connections, initial health). */
  fresh: (b: BackendConfig) => Backend
  /** Attaches the circuit breaker and request limit of the new config. */
  attachLimits: (b: Backend) => void
}

/**
 * The backend list of a pool built from `config`. Part of BackendPool (the one owner of backend
 * state), called only by its constructor.
 *
 * Contract: on a reload, a backend with the same id and URL, under unchanged connection settings
 * (timeouts, TLS, maxConnections), is taken over with its state: health, circuit, counters,
 * in-flight requests, open connections and its undici pool. What belonged to the previous config
 * is reset: its ejection (the new pool's outlier detector starts fresh), its enable and drain
 * flags (the config says them: the config store keeps the admin API's drains and disables in
 * it, lib/store/), and the breaker when the breaker config changed. Every other
 * backend is new; the caller retires the previous pool's leftovers (retireExcept).
 */
export function adoptBackends (config: PoolConfig, a: Adoption): Backend[] {
  const previous = a.previous
  const sameConnections = previous !== undefined && connectionSettings(previous.config) === connectionSettings(config)
  const sameBreaker = previous !== undefined && JSON.stringify(previous.config.circuitBreaker) === JSON.stringify(config.circuitBreaker)
  return config.backends.map((b) => {
    const old = sameConnections ? previous.find(b.id) : undefined
    if (old === undefined || old.url !== b.url) return a.fresh(b)
    old.configWeight = b.weight
    old.ejected = false
    old.enabled = b.enabled
    old.draining = b.drain
    if (!sameBreaker) {
      old.breaker = undefined
      old.maxInFlight = 0
      a.attachLimits(old)
    }
    return old
  })
}

/** What the upstream connection pools were built from: a change needs new connections. */
function connectionSettings (c: PoolConfig): string {
  return JSON.stringify([c.timeouts, c.tls, c.circuitBreaker?.maxConnections ?? 0])
}
