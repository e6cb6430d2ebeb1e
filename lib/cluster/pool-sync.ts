import type { BackendPool } from '../pool.js'
import type { BackendCounters, PoolCounters, SharedBackendState } from './messages.js'

/** What the primary's pool says of its backends, for the workers (see applyShared). */
export function sharedStateOf (pool: BackendPool): SharedBackendState[] {
  return pool.backends.map((b) => ({ id: b.id, url: b.url, weight: b.configWeight, healthy: b.healthy, enabled: b.enabled, draining: b.draining, ejected: b.ejected }))
}

/**
 * A worker's pool takes the primary's view, through the pool's own methods (it stays the one
 * owner of its state): backends the primary no longer has are drained and removed, new ones
 * added, then weight, enabled, health and drain set where they differ. Idempotent, so a sync
 * may be sent again, or after any number of changes, and gives the same pool.
 */
export function applyShared (pool: BackendPool, shared: readonly SharedBackendState[], onError: (err: unknown) => void): void {
  const wanted = new Map(shared.map((s) => [s.id, s]))
  for (const b of pool.backends) {
    if (!wanted.has(b.id)) pool.removeBackend(b.id).catch(onError)
  }
  for (const s of shared) {
    if (pool.find(s.id) === undefined) pool.addBackend({ id: s.id, url: s.url, weight: s.weight, enabled: s.enabled, drain: s.draining })
    const b = pool.find(s.id)!
    if (b.configWeight !== s.weight) pool.setWeight(s.id, s.weight)
    if (b.enabled !== s.enabled) pool.setEnabled(s.id, s.enabled)
    if (b.healthy !== s.healthy) pool.setHealthy(s.id, s.healthy, 'health check (primary)')
    if (b.ejected !== s.ejected) pool.setEjected(s.id, s.ejected, 'outlier (primary)')
    if (s.draining && !b.draining) void pool.drain(s.id)
  }
}

/** A worker's counters, for the primary to sum. */
export function countersOf (pools: Iterable<BackendPool>): PoolCounters {
  const out: PoolCounters = {}
  for (const pool of pools) {
    const per: Record<string, BackendCounters> = {}
    for (const b of pool.backends) per[b.id] = { inFlight: b.inFlight, websockets: b.websockets, tcpConnections: b.tcpConnections, requests: b.requests, errors: b.errors }
    out[pool.name] = per
  }
  return out
}

/** Sums workers' counters, by pool and backend. */
export function sumCounters (all: readonly PoolCounters[]): PoolCounters {
  const out: PoolCounters = {}
  for (const c of all) {
    for (const [pool, backends] of Object.entries(c)) {
      const per = out[pool] ??= {}
      for (const [id, n] of Object.entries(backends)) {
        const s = per[id] ??= { inFlight: 0, websockets: 0, tcpConnections: 0, requests: 0, errors: 0 }
        s.inFlight += n.inFlight
        s.websockets += n.websockets
        s.tcpConnections += n.tcpConnections
        s.requests += n.requests
        s.errors += n.errors
      }
    }
  }
  return out
}
