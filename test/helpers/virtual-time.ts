/**
 * A virtual-time driver for latency-aware algorithms: one request per ms, each answered
 * `latency(b, now)` ms after it is sent (with `b.inFlight` already counting it) and observed
 * then, with the in-flight count at dispatch, so in-flight counts are real. The clock is shared
 * with the algorithm's `now`. run(from, to) returns each backend's share of the requests sent
 * during [from, to).
 */
import type { Algorithm } from '../../algorithms/types.js'
import type { FakeBackend } from './seeded-random.js'

export interface Clock { now: number }

export function virtualTime (algo: Algorithm<FakeBackend>, list: readonly FakeBackend[], clock: Clock,
  latency: (b: FakeBackend, now: number) => number, onPick?: (b: FakeBackend, now: number) => void): (from: number, to: number) => Record<string, number> {
  const ctx = { attempt: 0, key: undefined }
  let pending: Array<{ at: number, b: FakeBackend, lat: number, inFlight: number }> = []
  return (from, to) => {
    const counts: Record<string, number> = Object.fromEntries(list.map((b) => [b.id, 0]))
    for (clock.now = from; clock.now < to; clock.now++) {
      const now = clock.now
      const due = pending.filter((p) => p.at <= now)
      pending = pending.filter((p) => p.at > now)
      for (const p of due) {
        p.b.inFlight--
        algo.observe!(p.b, { ok: true, latencyMs: p.lat, inFlight: p.inFlight })
      }
      const b = algo.pick(ctx, () => true)!
      b.inFlight++
      counts[b.id] = (counts[b.id] ?? 0) + 1
      onPick?.(b, now)
      const lat = latency(b, now)
      pending.push({ at: now + lat, b, lat, inFlight: b.inFlight })
    }
    for (const id of Object.keys(counts)) counts[id]! /= (to - from)
    return counts
  }
}
