/**
 * Candidate sampling for the "power of d choices" algorithms (least-response-time, adaptive).
 * A sampler draws distinct indices of a backend list, each one usable, without allocating:
 * the indices drawn so far sit in fixed Int32Arrays, one in ascending order (to map a uniform
 * rank onto the undrawn indices) and one in draw order (so a tie can go to the earlier draw,
 * which is random, rather than to the lower index).
 */
export class CandidateSampler {
  private readonly taken: Int32Array
  private readonly order: Int32Array
  /** How many indices have been drawn since the last reset(). */
  count = 0

  /** `max` bounds how many candidates one pick may draw. */
  constructor (max: number) {
    this.taken = new Int32Array(Math.max(1, max))
    this.order = new Int32Array(Math.max(1, max))
  }

  reset (): void {
    this.count = 0
  }

  /** The k-th index drawn since reset(), in draw order. */
  at (k: number): number {
    return this.order[k]!
  }

  /**
   * Draws the index of a usable backend not drawn since reset(), or -1 when none is left.
   * `r` is one uniform number in [0, 1). The draw is uniform over the undrawn indices; when the
   * drawn one is not usable the walk goes on to the next undrawn index (wrapping), so it always
   * ends and only returns -1 when no undrawn backend is usable. That walk gives the backend after
   * an unready one a double chance of being a candidate; the cost comparison that follows keeps
   * the bias from turning into load.
   */
  draw<B> (list: readonly B[], r: number, usable: (b: B) => boolean): number {
    const n = list.length
    const free = n - this.count
    if (free <= 0 || this.count >= this.taken.length) return -1
    // Map a rank among the undrawn indices to an index: skip drawn ones (ascending).
    let j = Math.floor(r * free)
    for (let k = 0; k < this.count; k++) if (this.taken[k]! <= j) j++
    for (let step = 0; step < n; step++) {
      if (!this.isTaken(j) && usable(list[j]!)) {
        this.insert(j)
        return j
      }
      j = j + 1 === n ? 0 : j + 1
    }
    return -1
  }

  private isTaken (j: number): boolean {
    for (let k = 0; k < this.count; k++) if (this.taken[k] === j) return true
    return false
  }

  private insert (j: number): void {
    this.order[this.count] = j
    let k = this.count++
    while (k > 0 && this.taken[k - 1]! > j) {
      this.taken[k] = this.taken[k - 1]!
      k--
    }
    this.taken[k] = j
  }
}
