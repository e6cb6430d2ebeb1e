import type { Outcome } from '../../algorithms/types.js'
import type { Backend } from '../backend.js'
import type { AttemptFailure } from '../errors.js'

/** Long-lived connections the pool counts per backend. */
export type ConnectionKind = 'websocket' | 'tcp'

/** How an attempt at a backend ended, as its protocol saw it. */
export interface AttemptOutcome {
  /** False for connect errors, resets, timeouts and 5xx answers. */
  ok: boolean
  /** The backend's status, 0 when it did not answer. */
  status: number
  /** Why it failed, when it did ('status': a status the pool retries or counts as a failure). */
  reason: AttemptFailure | undefined
  /** Dispatch to the answer's headers (or to the failure, or to the connection), in ms. */
  latencyMs: number
}

/** What the pool records for an outcome: the protocol's view plus the in-flight count at acquire. */
export interface AttemptResult extends Outcome, AttemptOutcome {}

/**
 * The pool's side of a lease, made once per pool (BackendPool), so that only the pool's own code
 * changes backend state while a lease cannot be forgotten or ended twice.
 */
export interface LeaseHooks {
  /** Feeds the breaker, outlier detection and the algorithm. */
  record: (b: Backend, result: AttemptResult) => void
  /** Ends the in-flight count taken at acquire (and settles a drain waiting for it). */
  release: (b: Backend) => void
  /** The attempt said nothing about the backend: a half-open trial slot it held is given back. */
  abandon: (b: Backend) => void
  /** A long-lived connection opened (+1) or closed (-1). */
  connections: (b: Backend, kind: ConnectionKind, delta: 1 | -1) => void
}

const ACTIVE = 0
const HELD = 1
const RELEASED = 2

/**
 * One backend taken from a pool by acquire(): counted in flight (and, in half-open, holding a
 * trial slot) until the lease ends. Every protocol (HTTP, WebSocket, TCP, and later HTTP/2 and
 * gRPC) ends its leases only through these three methods, each safe to call any number of
 * times, in any order; the backend is released exactly once:
 *
 * - done(outcome): the attempt ended; the outcome is recorded, then the backend released.
 * - abandon(): the client left first; nothing is recorded about the backend.
 * - hold(kind, latencyMs): a connection was established and stays open (a WebSocket after its
 *   101, a TCP connection): the success is recorded now, the connection counted, and the
 *   backend stays in flight until done() or abandon() closes it (without recording anything).
 */
export class Lease {
  /** The backend's in-flight count at acquire, this lease included (algorithm feedback). */
  readonly inFlightAtStart: number
  private state: typeof ACTIVE | typeof HELD | typeof RELEASED = ACTIVE
  private kind: ConnectionKind = 'tcp'

  constructor (readonly backend: Backend, private readonly hooks: LeaseHooks) {
    this.inFlightAtStart = backend.inFlight
  }

  get released (): boolean {
    return this.state === RELEASED
  }

  /**
   * Ends the lease with `outcome`. On a held lease the outcome was recorded at hold(), so this
   * only closes the connection; without an outcome, an active lease ends as abandon() does.
   */
  done (outcome?: AttemptOutcome): void {
    if (this.state === RELEASED) return
    if (this.state === HELD) this.hooks.connections(this.backend, this.kind, -1)
    else if (outcome === undefined) this.hooks.abandon(this.backend)
    else this.hooks.record(this.backend, { ...outcome, inFlight: this.inFlightAtStart })
    this.state = RELEASED
    this.hooks.release(this.backend)
  }

  abandon (): void {
    this.done()
  }

  hold (kind: ConnectionKind, latencyMs: number): void {
    if (this.state !== ACTIVE) return
    this.state = HELD
    this.kind = kind
    this.hooks.connections(this.backend, kind, 1)
    this.hooks.record(this.backend, { ok: true, status: 0, reason: undefined, latencyMs, inFlight: this.inFlightAtStart })
  }
}
