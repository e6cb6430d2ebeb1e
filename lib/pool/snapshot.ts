import type { Backend } from '../backend.js'
import type { CircuitState } from '../resilience/breaker.js'
import { backendState, type BackendState } from './state.js'

/** A backend's live state as the admin API shows it (docs/admin.md). */
export interface BackendSnapshot {
  id: string
  url: string
  weight: number
  /** Below `weight` while the backend is in slow start. */
  effectiveWeight: number
  /** The one word for why it is kept out, or 'healthy' (lib/pool/state.ts); the flags below stay. */
  state: BackendState
  ready: boolean
  healthy: boolean
  ejected: boolean
  enabled: boolean
  draining: boolean
  circuit: CircuitState | 'none'
  inFlight: number
  /** Open WebSocket and TCP connections (part of inFlight). */
  websockets: number
  tcpConnections: number
  requests: number
  errors: number
}

/** Reads only: taking a snapshot never changes a backend (nor its breaker). */
export function snapshotOf (b: Backend): BackendSnapshot {
  return {
    id: b.id,
    url: b.url,
    weight: b.configWeight,
    effectiveWeight: b.weight,
    state: backendState(b),
    ready: b.ready,
    healthy: b.healthy,
    ejected: b.ejected,
    enabled: b.enabled,
    draining: b.draining,
    circuit: b.breaker?.state ?? 'none',
    inFlight: b.inFlight,
    websockets: b.websockets,
    tcpConnections: b.tcpConnections,
    requests: b.requests,
    errors: b.errors
  }
}
