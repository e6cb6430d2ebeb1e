import { EventEmitter } from 'node:events'
import type { PassiveHealthConfig } from '../config/types.js'
import type { Clock } from './clock.js'

/** How one proxied request to a backend ended, as the request path reports it. */
export interface RequestOutcome {
  /** false: no usable answer (connect error, timeout, reset...). */
  ok: boolean
  /** The backend's status, when it answered (0 or undefined: it did not). */
  status?: number
  /** Short word for the failure ('connect', 'timeout', 'reset'...), carried into 'eject'. */
  reason?: string
}

/** `until` is in the injected clock's time (performance.now for realClock), not epoch time. */
export interface EjectEvent { backend: string, until: number, duration: number, ejections: number, reason: string }
export interface ReturnEvent { backend: string, ejections: number }

export interface OutlierEvents {
  eject: [EjectEvent]
  return: [ReturnEvent]
}

export interface OutlierDeps {
  clock: Clock
  /** Backends in the pool now: the base of maxEjectionPercent. */
  poolSize: () => number
}

interface Entry {
  /** Consecutive failures since the last success, return or ejection. */
  failures: number
  /** Ejections so far, for the growing ejection time; decays to 0 (see below). */
  ejections: number
  /** Ejected until this clock time, with its return timer; undefined while not ejected. */
  until: number | undefined
  timer: unknown
  /** When the backend last came back; undefined if never ejected. */
  returnedAt: number | undefined
}

/**
 * Passive health: ejects a backend that fails consecutiveFailures requests in a row, from
 * outcomes the request path reports. Like the active checker it only reports ('eject',
 * 'return'); the wiring code tells the pool.
 *
 * - Failure: ok === false, or a status in failureStatuses. Any other outcome is a success and
 *   resets the backend's consecutive count. Outcomes reported while a backend is ejected are
 *   ignored (requests that started before the ejection).
 * - Ejection time: baseEjectionTime × n for the n-th ejection (this one included), capped at
 *   maxEjectionTime. On return the consecutive count starts again at 0.
 * - Decay: a backend that stays un-ejected for maxEjectionTime after returning starts again at
 *   n = 0. It is applied lazily, at the next ejection, so no timer runs for it.
 * - Cap: at most floor(poolSize × maxEjectionPercent / 100) backends are ejected at once, but at
 *   least 1 when the percent is above 0 (50% of 3 backends: 1; 34% of 3: 1; 0%: never eject).
 *   A backend over the cap is not ejected; its count keeps growing, and each further failure
 *   tries again, so it is ejected once another backend has returned.
 */
export class OutlierDetector extends EventEmitter<OutlierEvents> {
  private readonly entries = new Map<string, Entry>()
  private ejectedCount = 0

  constructor (private readonly cfg: PassiveHealthConfig, private readonly deps: OutlierDeps) {
    super()
  }

  record (id: string, outcome: RequestOutcome): void {
    let e = this.entries.get(id)
    if (e === undefined) {
      e = { failures: 0, ejections: 0, until: undefined, timer: undefined, returnedAt: undefined }
      this.entries.set(id, e)
    }
    if (e.until !== undefined) return
    const failed = !outcome.ok || (outcome.status !== undefined && this.cfg.failureStatuses.includes(outcome.status))
    if (!failed) {
      e.failures = 0
      return
    }
    e.failures++
    if (e.failures >= this.cfg.consecutiveFailures && this.ejectedCount < this.maxEjected()) {
      const { reason, status } = outcome
      this.eject(id, e, reason ?? (status !== undefined && status > 0 ? `status ${status}` : 'error'))
    }
  }

  /**
   * An outlier verdict reached elsewhere (a worker saw consecutiveFailures in a row): ejects now
   * unless already ejected or at the maxEjectionPercent cap.
   */
  report (id: string, reason: string): void {
    let e = this.entries.get(id)
    if (e === undefined) {
      e = { failures: 0, ejections: 0, until: undefined, timer: undefined, returnedAt: undefined }
      this.entries.set(id, e)
    }
    if (e.until !== undefined || this.ejectedCount >= this.maxEjected()) return
    this.eject(id, e, reason)
  }

  isEjected (id: string): boolean {
    return this.entries.get(id)?.until !== undefined
  }

  /** Forgets a backend (it left the pool): no 'return' follows for it. */
  remove (id: string): boolean {
    const e = this.entries.get(id)
    if (e === undefined) return false
    this.clear(e)
    this.entries.delete(id)
    return true
  }

  /** Clears every timer and forgets every backend; no events follow. */
  stop (): void {
    for (const e of this.entries.values()) this.clear(e)
    this.entries.clear()
  }

  /** How many may be ejected at once; rounding as documented on the class. */
  private maxEjected (): number {
    const pct = this.cfg.maxEjectionPercent
    if (pct <= 0) return 0
    return Math.max(1, Math.floor((this.deps.poolSize() * pct) / 100))
  }

  private eject (id: string, e: Entry, reason: string): void {
    const { clock } = this.deps
    const { baseEjectionTime, maxEjectionTime } = this.cfg
    const now = clock.now()
    if (e.returnedAt !== undefined && now - e.returnedAt >= maxEjectionTime) e.ejections = 0
    e.ejections++
    const duration = Math.min(baseEjectionTime * e.ejections, maxEjectionTime)
    e.until = now + duration
    e.timer = clock.setTimeout(() => { this.comeBack(id, e) }, duration)
    this.ejectedCount++
    this.emit('eject', { backend: id, until: e.until, duration, ejections: e.ejections, reason })
  }

  private comeBack (id: string, e: Entry): void {
    e.until = undefined
    e.timer = undefined
    e.failures = 0
    e.returnedAt = this.deps.clock.now()
    this.ejectedCount--
    this.emit('return', { backend: id, ejections: e.ejections })
  }

  private clear (e: Entry): void {
    if (e.until !== undefined) this.ejectedCount--
    this.deps.clock.clearTimeout(e.timer)
    e.until = undefined
    e.timer = undefined
  }
}
