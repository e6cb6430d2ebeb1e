import type { RetryConfig } from '../config/types.js'
import { RollingCounts } from './window.js'

export interface RetryBudgetSnapshot {
  /** First attempts over the window. */
  requests: number
  /** Retries taken over the window. */
  retries: number
  /** Retries the window allows in all: max(minRetries, ⌊percent % of requests⌋). */
  allowed: number
}

const REQUESTS = 0
const RETRIES = 1

/**
 * A retry budget (Envoy's retry_budget, Finagle's RetryBudget): retries over the last `window` ms
 * stay below `percent` % of the first attempts in that window, with at least `minRetries` allowed
 * so that a quiet pool can still retry. It bounds the extra load retries put on a struggling pool
 * to a fixed fraction instead of multiplying it by `attempts`.
 *
 * One budget per pool, shared by its requests; O(1) per call, no allocation. percent% of the
 * requests is rounded down, so the budget never grants more than the stated share.
 */
export class RetryBudget {
  private readonly counts: RollingCounts
  private readonly now: () => number

  constructor (private readonly cfg: RetryConfig['budget'], deps: { now: () => number }) {
    this.now = deps.now
    this.counts = new RollingCounts(cfg.window, this.now())
  }

  /** Counts a first attempt (every request, retried or not). Retries are not counted here. */
  recordRequest (): void {
    this.counts.add(REQUESTS, this.now())
  }

  /** Takes one retry from the budget if there is room; false means: do not retry. */
  tryAcquire (): boolean {
    const at = this.now()
    if (this.counts.sum(RETRIES, at) >= this.allowedAt(at)) return false
    this.counts.add(RETRIES, at)
    return true
  }

  snapshot (): RetryBudgetSnapshot {
    const at = this.now()
    return { requests: this.counts.sum(REQUESTS, at), retries: this.counts.sum(RETRIES, at), allowed: this.allowedAt(at) }
  }

  private allowedAt (at: number): number {
    // Multiply before dividing: integer percents then give exact results (20 × 100 / 100 = 20).
    return Math.max(this.cfg.minRetries, Math.floor(this.cfg.percent * this.counts.sum(REQUESTS, at) / 100))
  }
}
