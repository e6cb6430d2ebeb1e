/**
 * The metrics layer's contract. The proxy and the wiring code record each event once, through a
 * Recorder; each exporter (Prometheus, StatsD) implements the same interface and publishes in
 * its own way. Implementations bind their label children per backend once (a WeakMap lookup per
 * call, no label hashing), and read gauges (in-flight, health, circuit state) from the pools
 * when they publish, not per request.
 *
 * Labels are bounded: pool and backend ids come from the config, methods are folded to a fixed
 * set, statuses are numbers 100..599, reasons a fixed set. Never paths or client addresses.
 */
import type { Backend } from '../backend.js'
import type { BackendPool, ConnectionKind } from '../pool.js'
import type { CircuitState } from '../resilience/breaker.js'
import type { AttemptFailure } from '../errors.js'

export interface Recorder {
  /** A request finished (after all its attempts): client-side time through the gateway. */
  request (pool: BackendPool, backend: Backend, method: string, status: number, seconds: number): void
  /** A request answered at once without a backend (404 route, 503 no backend, 413): counted, not timed. */
  rejected (pool: BackendPool | undefined, method: string, status: number): void
  /** Time from dispatch to the backend's response headers, per attempt that got an answer. */
  backendResponse (pool: BackendPool, backend: Backend, seconds: number): void
  /** An attempt failed: reason connect | timeout | reset | tls | protocol | status. */
  upstreamError (pool: BackendPool, backend: Backend, reason: AttemptFailure): void
  /**
   * A gRPC call finished (also when the gateway answered it itself): its route's label ("" when
   * none matched), its path ("/package.Service/Method") and the gRPC status it ended with.
   */
  grpcCall (pool: BackendPool | undefined, route: string, path: string, code: number): void
  /** A retry was sent, and why the previous attempt failed. */
  retry (pool: BackendPool, reason: AttemptFailure): void
  /** A circuit changed state. */
  circuit (pool: BackendPool, backend: Backend, from: CircuitState, to: CircuitState): void
  /** An active health probe finished. */
  healthCheck (pool: BackendPool, backend: Backend, ok: boolean): void
  /** A backend's health changed (active checks or passive ejection): to healthy | unhealthy | ejected | returned. */
  healthTransition (pool: BackendPool, backend: Backend, to: string): void
  /** A WebSocket (after its 101) or a TCP connection to a backend opened. */
  connectionOpened (kind: ConnectionKind, pool: BackendPool, backend: Backend): void
  /** Such a connection closed, having carried these bytes from the client and to it. */
  connectionClosed (kind: ConnectionKind, pool: BackendPool, backend: Backend, bytesIn: number, bytesOut: number): void
  /** Stops timers and sockets. */
  close (): Promise<void>
}

/** Methods kept as label values; any other method is counted as OTHER. */
export const METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'] as const

export function methodLabel (method: string): string {
  return (METHOD_LABELS as readonly string[]).includes(method) ? method : 'OTHER'
}

/** Default histogram buckets in seconds: 1 ms to 30 s. Defined by the config layer (the lower one). */
export { DEFAULT_BUCKETS } from '../config/sections/metrics.js'
