/**
 * A manual clock for timing tests: time moves only through advance() and runNext(), and timers
 * fire synchronously from them, in time order (ties in scheduling order). Timers that fired
 * callbacks schedule during an advance fire in the same advance if they fall due within it.
 */
import type { Clock } from '../../lib/health/clock.js'

interface Timer { id: number, at: number, fn: () => void }

export class FakeClock implements Clock {
  private time: number
  private seq = 0
  private timers: Timer[] = []

  constructor (start = 0) {
    this.time = start
  }

  now (): number {
    return this.time
  }

  setTimeout (fn: () => void, ms: number): unknown {
    const timer = { id: ++this.seq, at: this.time + Math.max(0, ms), fn }
    this.timers.push(timer)
    return timer.id
  }

  clearTimeout (handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle)
  }

  /** Timers scheduled and neither fired nor cleared. */
  get pending (): number {
    return this.timers.length
  }

  /** When the earliest pending timer falls due; undefined when none is pending. */
  nextAt (): number | undefined {
    return this.earliest()?.at
  }

  /** Due times of all pending timers, earliest first. */
  dueTimes (): number[] {
    return this.timers.map((x) => x.at).sort((a, b) => a - b)
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  advance (ms: number): void {
    const end = this.time + ms
    for (let t = this.earliest(); t !== undefined && t.at <= end; t = this.earliest()) this.fire(t)
    this.time = end
  }

  /** Moves time to the earliest pending timer and fires it (and any due at the same moment). */
  runNext (): number {
    const at = this.nextAt()
    if (at === undefined) throw new Error('FakeClock.runNext: no timer is pending')
    this.advance(at - this.time)
    return at
  }

  private earliest (): Timer | undefined {
    let best: Timer | undefined
    // Timers sit in scheduling order, so the first of equal times found is the earlier one.
    for (const t of this.timers) if (best === undefined || t.at < best.at) best = t
    return best
  }

  private fire (t: Timer): void {
    this.timers = this.timers.filter((x) => x !== t)
    this.time = t.at
    t.fn()
  }
}
