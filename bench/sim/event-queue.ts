/**
 * A binary min-heap of timed events: the simulator's clock. Events at the same time come out in
 * the order they were pushed (a sequence number breaks ties), which keeps runs deterministic.
 */
export interface SimEvent {
  time: number
  seq: number
}

export class EventQueue<E extends SimEvent> {
  private readonly heap: E[] = []
  private seq = 0

  get size (): number {
    return this.heap.length
  }

  push (e: E): void {
    e.seq = this.seq++
    const h = this.heap
    let i = h.length
    h.push(e)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(e, h[p]!)) break
      h[i] = h[p]!
      i = p
    }
    h[i] = e
  }

  /** The earliest event, removed; undefined when empty. */
  pop (): E | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (top === undefined || last === undefined || h.length === 0) return top
    let i = 0
    const n = h.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && before(h[r]!, h[l]!) ? r : l
      if (!before(h[c]!, last)) break
      h[i] = h[c]!
      i = c
    }
    h[i] = last
    return top
  }
}

function before (a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
