/**
 * Rolling counters over a time window, kept in fixed buckets (the "sliding window of buckets"
 * that Hystrix and resilience4j's time-based window use). Each channel is one counter (the
 * breaker counts requests and failures, the retry budget requests and retries).
 *
 * Contract:
 * - The window is `buckets` slots of window/buckets ms each. A sum covers the current slot and
 *   the buckets − 1 before it, so an event is forgotten between (buckets − 1)/buckets × window
 *   and window ms after it happened, and always once `window` ms have passed.
 * - Every call takes the time (monotonic ms) from the caller, who usually has it already, so
 *   one request reads the clock once. Time that goes backwards is treated as "no time passed".
 * - O(1) per call: rotating clears at most `buckets` slots; sums are kept running. Nothing is
 *   allocated after construction.
 */
export class RollingCounts {
  private readonly span: number
  private readonly cells: Float64Array
  private readonly sums: Float64Array
  /** Index (time / span) of the current slot; its cells are at (head mod buckets) × channels. */
  private head: number

  constructor (window: number, at: number, private readonly channels = 2, private readonly buckets = 10) {
    // A window of 0 ms (or less) would divide by zero below: it behaves as a 1 ms window.
    this.span = Math.max(window, 1) / buckets
    this.cells = new Float64Array(buckets * channels)
    this.sums = new Float64Array(channels)
    this.head = Math.floor(at / this.span)
  }

  /** Adds n (default 1) to `channel` at time `at`. */
  add (channel: number, at: number, n = 1): void {
    this.rotate(at)
    this.cells[this.slot(this.head) + channel]! += n
    this.sums[channel]! += n
  }

  /** The channel's count over the window ending at `at`. */
  sum (channel: number, at: number): number {
    this.rotate(at)
    return this.sums[channel]!
  }

  /** Forgets everything (the current slot stays where it is). */
  clear (): void {
    this.cells.fill(0)
    this.sums.fill(0)
  }

  private slot (index: number): number {
    const s = index % this.buckets
    return (s < 0 ? s + this.buckets : s) * this.channels
  }

  /** Moves head to the slot of `at`, clearing the slots it steps into (they hold old counts). */
  private rotate (at: number): void {
    const index = Math.floor(at / this.span)
    let steps = index - this.head
    if (steps <= 0) return
    this.head = index
    if (steps >= this.buckets) {
      this.clear()
      return
    }
    for (; steps > 0; steps--) {
      const base = this.slot(index - steps + 1)
      for (let c = 0; c < this.channels; c++) {
        this.sums[c]! -= this.cells[base + c]!
        this.cells[base + c] = 0
      }
    }
  }
}
