import { performance } from 'node:perf_hooks'
import type { SelectionContext } from '../../algorithms/types.js'
import type { Backend } from '../backend.js'
import type { BackendPool } from '../pool.js'
import type { Lease } from '../pool/lease.js'
import type { Recorder } from '../metrics/types.js'
import type { MappedError } from '../proxy/upstream-errors.js'
import type { AttemptFailure } from '../errors.js'

/**
 * The shortest try worth starting (ms): with less than twice this left before the deadline (a
 * backoff may take half), the request fails with its last error instead of making a try that
 * can only time out.
 */
export const MIN_TRY_MS = 5

/**
 * The one answer to "try another backend?" for every protocol (HTTP requests, WebSocket
 * handshakes, TCP connects; HTTP/2 and gRPC calls later): one Failover per client request or
 * connection, over one pool, holding the backends tried so far.
 *
 * A failed try is tried again only when all of these hold (docs/resilience.md#retries):
 * 1. the protocol can send it again (`resendable`: for HTTP, a method the pool's retry allows
 *    and a body that can be replayed; for WebSocket, GET upgrades are such a method; for TCP,
 *    nothing was sent before the connect);
 * 2. the failure is retryable: a catalogue error whose `retryable` is set (lib/errors.ts is the
 *    one source: connect failures, resets and timeouts are; TLS and protocol errors are not), or
 *    an answer status in the pool's `retry.statuses`, only when another backend could answer
 *    (with none left, the backend's own answer is better than a gateway 503);
 * 3. nothing irrevocable happened (`canResend`, from the protocol: no byte of the answer reached
 *    the client, the connection to the backend was not yet established for tunnels, the client
 *    is still there and the gateway is not shutting down);
 * 4. fewer than `retry.attempts` tries were made;
 * 5. at least 2 × MIN_TRY_MS are left before the deadline (below);
 * 6. the pool's retry budget has room (asked last, so a retry refused for another reason takes
 *    nothing from it).
 * gRPC calls (`grpc` given) follow gRPC's rules instead of 2. (docs/resilience.md#grpc-retries):
 * a failure is retried when the call never reached a backend, or when the status a gRPC client
 * would read for it is in the pool's `retry.grpcStatuses`; an answer, when its grpc-status (a
 * trailers-only answer) or the status gRPC reads from its HTTP status is (retriesGrpcAnswer).
 * The next try goes to a backend not tried yet when one is usable, else back to a tried one
 * (BackendPool.acquire), after a capped, jittered backoff.
 *
 * The deadline: every try and backoff of one request or connection fits in the pool's
 * `timeouts.request` from `start` (Envoy's route `timeout`). A backoff takes at most half of
 * what is left, so the try after it keeps at least as long as the wait (and at least
 * MIN_TRY_MS), and each try's own bound is `tryTimeout()`: the pool's
 * `retry.perTryTimeout` (Envoy's `per_try_timeout`) capped by what is left. The protocol arms
 * the timer; this class only does the arithmetic (docs/resilience.md#deadlines).
 */
export class Failover {
  private readonly tried: Backend[] = []
  /** Retries started so far: the attempt number the algorithm sees on the next selection. */
  retries = 0
  /** When the request or connection runs out of time (performance.now() ms). */
  readonly deadline: number

  constructor (
    readonly pool: BackendPool,
    private readonly recorder: Recorder,
    /** The selection context of the first try (its key computed once; shared when keyless). */
    private readonly first: SelectionContext,
    private readonly resendable: boolean,
    /** When the request or connection arrived (performance.now() ms). */
    start: number,
    /** Set for a gRPC call: its rules apply, and a shorter deadline it asked for (grpc-timeout, ms). */
    private readonly grpc?: { readonly deadlineMs: number | undefined }
  ) {
    const asked = grpc?.deadlineMs
    const ms = asked !== undefined && asked < pool.config.timeouts.request ? asked : pool.config.timeouts.request
    this.deadline = start + ms
  }

  /** Milliseconds left before the deadline (negative once it has passed). */
  remaining (): number {
    return this.deadline - performance.now()
  }

  /**
   * The bound for the try about to start, in whole ms (at least 1): `retry.perTryTimeout` when set,
   * capped by what is left of the deadline. The caller times the try out with the catalogue's
   * GW_UPSTREAM_TIMEOUT when it runs out.
   */
  tryTimeout (): number {
    // Whole milliseconds: Node keeps one timer list per distinct duration, so the first try of
    // every request (all of the deadline left) shares one list instead of creating its own.
    const left = Math.max(1, Math.ceil(this.remaining()))
    const perTry = this.pool.retry.perTryTimeout
    return perTry > 0 && perTry < left ? perTry : left
  }

  /**
   * Leases the next backend, counted as tried; undefined when none is usable. The first lease
   * of a request is what the retry budget counts retries against.
   */
  lease (): Lease | undefined {
    const ctx = this.retries === 0 ? this.first : { attempt: this.retries, key: this.first.key }
    const lease = this.pool.acquire(ctx, this.tried)
    if (lease === undefined) return undefined
    if (this.tried.length === 0) this.pool.retry.budget.recordRequest()
    this.tried.push(lease.backend)
    return lease
  }

  /**
   * A try failed (`status`: the answer's, when it failed during the body; else 0): its lease
   * ends with the failure (breaker, outlier detection, the algorithm) and the failure is
   * counted. Returns whether to try again.
   */
  failed (lease: Lease, mapped: MappedError, latencyMs: number, status: number, canResend: boolean): boolean {
    lease.done({ ok: false, status, reason: mapped.reason, latencyMs })
    this.recorder.upstreamError(this.pool, lease.backend, mapped.reason)
    const retryable = this.grpc === undefined ? mapped.error.retryable : this.pool.retry.retriesGrpcFailure(mapped.error)
    return retryable && this.mayRetry(canResend)
  }

  /**
   * A try got an answer with `status`. When the pool retries that status and another backend
   * could answer, the lease ends as a failure (counted as reason `status`) and true is
   * returned: the caller drops the answer and retries. Otherwise nothing changes: false.
   */
  retriesAnswer (lease: Lease, status: number, latencyMs: number, canResend: boolean): boolean {
    return this.dropAnswer(lease, this.pool.retry.retriesStatus(status), status, latencyMs, canResend)
  }

  /**
   * A gRPC call's try got an answer that carries gRPC status `code` before any message (a
   * trailers-only answer, or a non-200 HTTP status as gRPC reads it). As retriesAnswer, with the
   * pool's `retry.grpcStatuses`.
   */
  retriesGrpcAnswer (lease: Lease, code: number, status: number, latencyMs: number, canResend: boolean): boolean {
    return this.dropAnswer(lease, this.pool.retry.retriesGrpcStatus(code), status, latencyMs, canResend)
  }

  /** The answer is retried when `listed`, another backend could answer and a retry may be made. */
  private dropAnswer (lease: Lease, listed: boolean, status: number, latencyMs: number, canResend: boolean): boolean {
    if (!listed || !this.pool.hasUsableBesides(this.tried) || !this.mayRetry(canResend)) return false
    lease.done({ ok: false, status, reason: 'status', latencyMs })
    this.recorder.upstreamError(this.pool, lease.backend, 'status')
    return true
  }

  /**
   * Counts the retry (metrics, with the failed try's `reason`), waits the backoff (at most half
   * of what is left before the deadline), then calls `next`. Returns a function
   * that cancels the wait (the client left meanwhile).
   */
  backoff (reason: AttemptFailure, next: () => void): () => void {
    this.recorder.retry(this.pool, reason)
    this.retries++
    const wait = Math.min(this.pool.retry.delay(this.retries), Math.max(0, this.remaining() / 2))
    const timer = setTimeout(next, wait)
    return () => { clearTimeout(timer) }
  }

  private mayRetry (canResend: boolean): boolean {
    return this.resendable && canResend && this.tried.length < this.pool.retry.attempts &&
      this.remaining() >= 2 * MIN_TRY_MS && this.pool.retry.budget.tryAcquire()
  }
}
