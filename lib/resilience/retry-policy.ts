import type { RetryConfig } from '../config/types.js'
import { RetryBudget } from './retry-budget.js'
import { fullJitterBackoff } from './backoff.js'

/** Failure reasons after which another backend may succeed. TLS and protocol errors repeat. */
const RETRYABLE_REASONS = new Set(['connect', 'timeout', 'reset'])

/**
 * A pool's retry rules, compiled once: which methods and statuses, how many tries, the backoff
 * and the budget. The proxy asks it per request; the budget is shared by the pool's requests.
 */
export class RetryPolicy {
  readonly attempts: number
  readonly perTryTimeout: number
  readonly maxReplayBody: number
  readonly budget: RetryBudget
  private readonly statuses: ReadonlySet<number>
  private readonly methods: ReadonlySet<string>

  constructor (private readonly cfg: RetryConfig, now: () => number, private readonly random: () => number) {
    this.attempts = cfg.attempts
    this.perTryTimeout = cfg.perTryTimeout
    this.maxReplayBody = cfg.maxReplayBody
    this.statuses = new Set(cfg.statuses)
    this.methods = new Set(cfg.methods)
    this.budget = new RetryBudget(cfg.budget, { now })
  }

  /** Whether requests with this method may be retried at all (retries on, method allowed). */
  allowsMethod (method: string): boolean {
    return this.attempts > 1 && this.methods.has(method)
  }

  retriesStatus (status: number): boolean {
    return this.statuses.has(status)
  }

  retriesReason (reason: string | undefined): boolean {
    return reason !== undefined && RETRYABLE_REASONS.has(reason)
  }

  /** Wait before retry number `n` (1 for the first retry): capped exponential, full jitter. */
  delay (n: number): number {
    return fullJitterBackoff(n - 1, this.cfg.backoff.base, this.cfg.backoff.max, this.random)
  }
}
