import type { CircuitBreakerConfig } from '../config/types.js'
import { RollingCounts } from './window.js'

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitBreakerDeps {
  /** Monotonic ms; the only source of time. */
  now: () => number
  /** Called exactly once per state change, after the change (a read of `state` sees `to`). */
  onChange?: (from: CircuitState, to: CircuitState, reason: string) => void
}

/** For the admin API. failures/total: the closed state's rolling window. */
export interface CircuitSnapshot {
  state: CircuitState
  failures: number
  total: number
  /** Monotonic ms at which an open breaker turns half-open; 0 when not open. */
  openUntil: number
}

const TOTAL = 0
const FAILED = 1

/**
 * One backend's circuit breaker (the closed / open / half-open machine of Nygard's "Release It!",
 * with the rate-over-a-window trip of resilience4j). Owned by the pool; no timers: the open →
 * half-open step (the time rule) is applied lazily, and only on the request path: when a request
 * is dispatched to the backend (onDispatch) or an outcome comes back (record). Reads (`state`,
 * snapshot(), allows()) never apply it, so a metrics scrape or an admin read cannot move the
 * breaker (issue 13): an open breaker past openUntil reads `open` until a request comes.
 *
 * - closed: outcomes go into a rolling window; it opens on failures/total ≥ failureRateThreshold%
 *   with total ≥ minimumRequests ('failure-rate'), or on consecutiveFailures in a row when that is
 *   > 0 ('consecutive-failures'). Both are checked after every outcome.
 * - open: refuses; outcomes are ignored. After the open duration it is half-open ('open-timeout').
 * - half-open: lets halfOpenRequests trials through (counted by onDispatch). Any failed trial
 *   re-opens ('trial-failed') for twice as long as last time, up to maxOpenDuration; once all
 *   trials have succeeded it closes ('trials-passed') with a fresh window and backoff.
 *
 * Outcomes carry no token, so a late outcome of a request sent before the breaker opened cannot
 * be told from a trial's. Half-open therefore counts an outcome only while a trial is outstanding
 * (fewer settled than started); a late one that lands while trials are out stands in for one of
 * them, and the trial's own outcome then arrives in whatever state follows. Neither breaks the
 * machine; both are rare, since half-open only begins openDuration after the trip.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed'
  private readonly counts: RollingCounts
  private readonly now: () => number
  private readonly onChange: CircuitBreakerDeps['onChange']
  /** A half-open period with 0 trials would never close: at least one trial is let through. */
  private readonly trialLimit: number
  private consecutive = 0
  private openUntil = 0
  /** Re-opens since the breaker last closed: the open duration is openDuration × 2^reopens. */
  private reopens = 0
  private trialsStarted = 0
  private trialsPassed = 0

  constructor (private readonly cfg: CircuitBreakerConfig, deps: CircuitBreakerDeps) {
    this.now = deps.now
    this.onChange = deps.onChange
    this.trialLimit = Math.max(1, cfg.halfOpenRequests)
    this.counts = new RollingCounts(cfg.window, this.now())
  }

  /**
   * The state as last recorded. A pure read: an open breaker past openUntil still reads 'open'
   * (allows() already says yes; the next dispatch makes it half-open).
   */
  get state (): CircuitState {
    return this.current
  }

  /**
   * May a request be sent to this backend now? No side effects (no trial is taken, no transition
   * fired): an open breaker past its timeout answers as the half-open one it is about to become.
   */
  allows (): boolean {
    if (this.current === 'closed') return true
    if (this.current === 'open') return this.now() >= this.openUntil
    return this.trialsStarted < this.trialLimit
  }

  /**
   * A dispatched request ended with no verdict on the backend (the client went away): nothing is
   * recorded, and a half-open trial slot it held is given back. It does not apply the time rule:
   * an open breaker has no slot to give back.
   */
  abandon (): void {
    if (this.current === 'half-open' && this.trialsStarted > this.trialsPassed) this.trialsStarted--
  }

  /**
   * A request was sent to this backend: an open breaker past openUntil turns half-open here
   * (the time rule), and while half-open the request takes a trial slot.
   */
  onDispatch (): void {
    if (this.settle(this.now()) === 'half-open') this.trialsStarted++
  }

  /** The outcome of a request that onDispatch announced; applies the time rule first. */
  record (ok: boolean): void {
    const at = this.now()
    const state = this.settle(at)
    if (state === 'closed') {
      this.counts.add(TOTAL, at)
      if (ok) this.consecutive = 0
      else {
        this.counts.add(FAILED, at)
        this.consecutive++
      }
      if (this.cfg.consecutiveFailures > 0 && this.consecutive >= this.cfg.consecutiveFailures) {
        this.open(at, 'consecutive-failures')
        return
      }
      const total = this.counts.sum(TOTAL, at)
      const failed = this.counts.sum(FAILED, at)
      if (failed > 0 && total >= this.cfg.minimumRequests && failed * 100 >= this.cfg.failureRateThreshold * total) {
        this.open(at, 'failure-rate')
      }
    } else if (state === 'half-open' && this.trialsPassed < this.trialsStarted) {
      if (!ok) {
        this.reopens++
        this.open(at, 'trial-failed')
      } else if (++this.trialsPassed >= this.trialLimit) this.close('trials-passed')
    }
  }

  /**
   * Opens a closed breaker now, for `reason`: another process's breaker for the same backend
   * opened (lib/cluster/). Open and half-open breakers are left as they are.
   */
  trip (reason: string): void {
    if (this.settle(this.now()) === 'closed') this.open(this.now(), reason)
  }

  /** Back to a fresh closed breaker (admin action); fires onChange(…, 'closed', 'reset') if it was not closed. */
  reset (): void {
    this.close('reset')
  }

  /** A pure read, like `state`: an open breaker past openUntil shows 'open' and its openUntil. */
  snapshot (): CircuitSnapshot {
    const at = this.now()
    return {
      state: this.current,
      failures: this.counts.sum(FAILED, at),
      total: this.counts.sum(TOTAL, at),
      openUntil: this.current === 'open' ? this.openUntil : 0
    }
  }

  /**
   * The time rule: an open breaker past openUntil turns half-open (reason 'open-timeout').
   * Called only from the request path (onDispatch, record); returns the resulting state.
   */
  private settle (at: number): CircuitState {
    if (this.current === 'open' && at >= this.openUntil) {
      this.trialsStarted = 0
      this.trialsPassed = 0
      this.change('half-open', 'open-timeout')
    }
    return this.current
  }

  private open (at: number, reason: string): void {
    // 2 ** n overflows to Infinity long before n is a problem, and min() caps it.
    this.openUntil = at + Math.min(this.cfg.maxOpenDuration, this.cfg.openDuration * 2 ** this.reopens)
    this.change('open', reason)
  }

  private close (reason: string): void {
    this.counts.clear()
    this.consecutive = 0
    this.reopens = 0
    this.openUntil = 0
    if (this.current !== 'closed') this.change('closed', reason)
  }

  private change (to: CircuitState, reason: string): void {
    const from = this.current
    this.current = to
    this.onChange?.(from, to, reason)
  }
}
