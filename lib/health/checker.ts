import { EventEmitter } from 'node:events'
import type { ActiveHealthConfig } from '../config/types.js'
import type { Clock } from './clock.js'
import type { Probe, ProbeResult, ProbeTarget } from './probes.js'

export type HealthState = 'healthy' | 'unhealthy'

/** After every probe of a backend that is still checked (for metrics). */
export interface ProbeEvent { backend: string, ok: boolean, ms: number, reason?: string }

/** A backend's state flipped. reason: the failing probe's reason, or 'passed'. */
export interface TransitionEvent { backend: string, from: HealthState, to: HealthState, reason: string }

export interface HealthCheckerEvents {
  probe: [ProbeEvent]
  transition: [TransitionEvent]
}

export interface HealthCheckerDeps {
  clock: Clock
  /** Uniform in [0, 1): spreads first probes and jitters delays (Math.random in production). */
  random: () => number
}

interface Entry {
  target: ProbeTarget
  state: HealthState
  /** Consecutive passing / failing probes; one of them is always 0. */
  passes: number
  fails: number
  /** The next backoff delay of an unhealthy backend; undefined: start at backoff.initial. */
  backoff: number | undefined
  /** Between probes: the next probe's timer; during a probe: its deadline. */
  timer: unknown
  /** The probe in flight, if any; a run whose controller is no longer this one is discarded. */
  inFlight: AbortController | undefined
}

/**
 * Active health checking. It only reports: it probes, applies thresholds and emits events; the
 * wiring code subscribes and tells the pool. It never touches a pool or a backend.
 *
 * Thresholds: a healthy backend turns unhealthy after unhealthyThreshold consecutive failing
 * probes, an unhealthy one healthy after healthyThreshold consecutive passing ones. Any other
 * result only moves the counters. A backend starts in cfg.initialState.
 *
 * Timing contract (all delays count from the end of the previous probe, never its start):
 * - first probe: random() × interval after start() (or after add() while running), in
 *   [0, interval), so backends added together do not probe in lockstep;
 * - one probe per backend at a time: the next is scheduled only once the previous settled;
 *   a probe is aborted through its signal at cfg.timeout and then counts as a 'timeout'
 *   failure, whatever it returns;
 * - healthy: the next probe after interval × (1 ± backoff.jitter);
 * - unhealthy, after a failing probe: exponential backoff, backoff.initial first, then each
 *   delay times backoff.multiplier, capped at backoff.max; the jitter (± backoff.jitter of the
 *   delay) is applied after the cap, so a delay may exceed max by up to that share;
 * - unhealthy, after a passing probe: the normal interval (so healthyThreshold passes take
 *   about threshold × interval), and the backoff starts again at initial on the next failure.
 *
 * Listeners run synchronously inside the probe callback and must not throw; the next probe
 * is already scheduled when events are emitted.
 */
export class HealthChecker extends EventEmitter<HealthCheckerEvents> {
  private readonly entries = new Map<string, Entry>()
  private running = false

  constructor (
    private readonly cfg: ActiveHealthConfig,
    private readonly probe: Probe,
    private readonly deps: HealthCheckerDeps
  ) {
    super()
  }

  /**
   * Starts checking a backend (probing begins with start(), at once when running). Ids are
   * unique. `state` overrides cfg.initialState (a reload keeps what was known of a backend).
   */
  add (target: ProbeTarget, state: HealthState = this.cfg.initialState): void {
    if (this.entries.has(target.id)) throw new Error(`health checker: backend "${target.id}" is already checked`)
    const e: Entry = { target, state, passes: 0, fails: 0, backoff: undefined, timer: undefined, inFlight: undefined }
    this.entries.set(target.id, e)
    if (this.running) this.scheduleFirst(e)
  }

  /** Stops checking a backend: its timer is cleared, a probe in flight aborted and its result dropped. */
  remove (id: string): boolean {
    const e = this.entries.get(id)
    if (e === undefined) return false
    this.halt(e)
    this.entries.delete(id)
    return true
  }

  start (): void {
    if (this.running) return
    this.running = true
    for (const e of this.entries.values()) this.scheduleFirst(e)
  }

  /**
   * No timer is left afterwards; probes in flight are aborted and their results dropped. States
   * and counters are kept for a later start() (an aborted probe may still be settling then).
   */
  stop (): void {
    this.running = false
    for (const e of this.entries.values()) this.halt(e)
  }

  state (id: string): HealthState | undefined {
    return this.entries.get(id)?.state
  }

  private halt (e: Entry): void {
    this.deps.clock.clearTimeout(e.timer)
    e.timer = undefined
    e.inFlight?.abort(new Error('health check stopped'))
    e.inFlight = undefined
  }

  private scheduleFirst (e: Entry): void {
    this.schedule(e, this.deps.random() * this.cfg.interval)
  }

  private schedule (e: Entry, ms: number): void {
    e.timer = this.deps.clock.setTimeout(() => { void this.run(e) }, ms)
  }

  private async run (e: Entry): Promise<void> {
    const { clock } = this.deps
    const ac = new AbortController()
    e.inFlight = ac
    let timedOut = false
    // The deadline takes the timer slot: a next-probe timer only exists between probes.
    e.timer = clock.setTimeout(() => {
      timedOut = true
      ac.abort(new Error('health check timeout'))
    }, this.cfg.timeout)
    const started = clock.now()
    let result: ProbeResult
    try {
      result = await this.probe(e.target, ac.signal)
    } catch {
      // Probes must not throw; if one does anyway, that is a failed probe, not a dead checker.
      result = { ok: false, ms: clock.now() - started, reason: 'error' }
    }
    if (e.inFlight !== ac) return // removed or stopped meanwhile: halt() cleared the deadline
    clock.clearTimeout(e.timer)
    e.inFlight = undefined
    if (timedOut) result = { ok: false, ms: clock.now() - started, reason: 'timeout' }
    this.settle(e, result)
  }

  /** Counts the result, flips the state at a threshold, schedules the next probe, then emits. */
  private settle (e: Entry, r: ProbeResult): void {
    const { healthyThreshold, unhealthyThreshold, interval, backoff } = this.cfg
    const from = e.state
    if (r.ok) {
      e.passes++
      e.fails = 0
      if (from === 'unhealthy' && e.passes >= healthyThreshold) e.state = 'healthy'
    } else {
      e.fails++
      e.passes = 0
      if (from === 'healthy' && e.fails >= unhealthyThreshold) e.state = 'unhealthy'
    }
    if (e.state !== from) {
      e.passes = 0
      e.fails = 0
    }

    let delay = interval
    if (e.state === 'healthy' || r.ok) {
      e.backoff = undefined
    } else {
      delay = Math.min(e.backoff ?? backoff.initial, backoff.max)
      e.backoff = Math.min(delay * backoff.multiplier, backoff.max)
    }
    this.schedule(e, this.jitter(delay))

    const id = e.target.id
    this.emit('probe', r.ok ? { backend: id, ok: true, ms: r.ms } : { backend: id, ok: false, ms: r.ms, reason: r.reason })
    if (e.state !== from) this.emit('transition', { backend: id, from, to: e.state, reason: r.ok ? 'passed' : r.reason })
  }

  /** ms moved by up to ± backoff.jitter of itself, uniformly. */
  private jitter (ms: number): number {
    return ms * (1 + this.cfg.backoff.jitter * (2 * this.deps.random() - 1))
  }
}
