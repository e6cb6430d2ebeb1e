import type { RetryConfig } from '../config/types.js'
import { RetryBudget } from './retry-budget.js'
import { fullJitterBackoff } from './backoff.js'
import type { GatewayError } from '../errors.js'
import { grpcStatusOf, NOT_SENT } from '../grpc-codes.js'

/**
 * A pool's retry rules, compiled once: which methods and statuses, how many tries, the backoff
 * and the budget (shared by the pool's requests). Which failures are retryable is not decided
 * here but by the error catalogue (lib/errors.ts `retryable`); lib/resilience/failover.ts
 * combines the two for every protocol.
 */
export class RetryPolicy {
  readonly attempts: number
  readonly perTryTimeout: number
  readonly maxReplayBody: number
  readonly budget: RetryBudget
  private readonly statuses: ReadonlySet<number>
  private readonly methods: ReadonlySet<string>
  private readonly grpcStatuses: ReadonlySet<number>

  constructor (private readonly cfg: RetryConfig, now: () => number, private readonly random: () => number) {
    this.attempts = cfg.attempts
    this.perTryTimeout = cfg.perTryTimeout
    this.maxReplayBody = cfg.maxReplayBody
    this.statuses = new Set(cfg.statuses)
    this.methods = new Set(cfg.methods)
    this.grpcStatuses = new Set(cfg.grpcStatuses)
    this.budget = new RetryBudget(cfg.budget, { now })
  }

  /** Whether requests with this method may be retried at all (retries on, method allowed). */
  allowsMethod (method: string): boolean {
    return this.attempts > 1 && this.methods.has(method)
  }

  retriesStatus (status: number): boolean {
    return this.statuses.has(status)
  }

  /** A gRPC answer (before its headers went out) with this grpc-status is tried again. */
  retriesGrpcStatus (code: number): boolean {
    return this.grpcStatuses.has(code)
  }

  /**
   * A gRPC call that failed with this (retryable) catalogue error is tried again: always when
   * the call never reached a backend (NOT_SENT), else when the status a gRPC client would read
   * for it (lib/grpc-codes.ts) is one of `grpcStatuses` (docs/resilience.md#grpc-retries).
   */
  retriesGrpcFailure (error: GatewayError): boolean {
    return error.retryable && (NOT_SENT.has(error.code) || this.grpcStatuses.has(grpcStatusOf(error.code)))
  }

  /** Wait before retry number `n` (1 for the first retry): capped exponential, full jitter. */
  delay (n: number): number {
    return fullJitterBackoff(n - 1, this.cfg.backoff.base, this.cfg.backoff.max, this.random)
  }
}
