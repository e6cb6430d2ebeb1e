import { Type, type Static } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, AlgorithmDeps, SelectableBackend } from './types.js'
import { CandidateSampler } from './sampling.js'

/**
 * Peak EWMA (the load metric of Finagle and Linkerd), chosen by power of two choices.
 *
 * Per backend an EWMA of response latency. A sample above it replaces it at once (peak
 * sensitivity: a slowdown is believed immediately); a sample below it is blended in with a
 * time-based weight, ewma = ewma·w + sample·(1 − w), w = exp(−Δt/decay), Δt being the time since
 * that backend's previous sample, so the estimate forgets at the same pace whatever the rate.
 * A failure counts as a sample of max(latencyMs, failurePenaltyMs).
 *
 * Cost = ewma × (inFlight + 1) / weight, with the live inFlight: the expected wait for this
 * request behind the ones already there. Two distinct usable backends are drawn at random and
 * the cheaper one wins, so a cheap backend is not herded onto by every gateway at once. One
 * exception: when the winner's EWMA is more than twice the pool's best, a third backend is drawn
 * and the cheapest of the three wins. Plain two choices give the worst pair of a small pool
 * 1/C(n,2) of all picks whatever their cost (10% with five backends), which in the simulation
 * overflowed a slow backend and a slowed one together.
 *
 * Anti-starvation: a backend that stops being picked gets no samples, and its EWMA would stay
 * at its worst value forever. So the cost reads an effective EWMA that pulls it toward the
 * pool's best (lowest) EWMA as its silence grows: eff = best × (ewma / best)^w, w =
 * exp(−idle/decay), idle = time since its last sample. The ratio to the best decays in log
 * space, so the time to come back depends on the log of how much slower it was: a backend once
 * 100× slower than the best is within 2× of it after 1.9 decays (w = ln 2 / ln 100), wins a pair
 * against any backend that is busier or slower than that, and is measured again. A sample that
 * arrives after more than one decay of silence is blended into that effective value, not into
 * the stale peak. A backend sampled more often than once per decay is not moved (w ≈ 1), and
 * optimism costs at most one slow request per probe: a slow answer is a peak and puts the EWMA
 * straight back up.
 *
 * New backends start at the pool's median EWMA (not the best, so a newcomer is not flooded
 * before it has answered once); before any backend has answered, unmeasured ones cost 0 and
 * ties go to the fewer in flight.
 */
export const LEAST_RESPONSE_TIME_DEFAULTS = Object.freeze({ decay: 10_000, failurePenaltyMs: 1000 })

export const LeastResponseTimeOptions = Type.Object({
  decay: Type.Integer({
    minimum: 1,
    default: LEAST_RESPONSE_TIME_DEFAULTS.decay,
    description: 'time constant in ms of the latency EWMA and of the idle pull toward the best backend'
  }),
  failurePenaltyMs: Type.Integer({
    minimum: 0,
    default: LEAST_RESPONSE_TIME_DEFAULTS.failurePenaltyMs,
    description: 'latency in ms a failed request counts as, at least'
  })
}, { additionalProperties: false })

export type LeastResponseTimeOptions = Static<typeof LeastResponseTimeOptions>

/** How often (ms of deps.now) the pool's best EWMA is recomputed: an O(n) scan, not per pick. */
const BEST_REFRESH_MS = 50
/** The winner of the two is this many times slower than the best backend: draw a third. */
const ESCALATE = 2

interface Stat {
  ewma: number
  /** Time of the last sample (or of creation, for a backend seeded with the median). */
  at: number
  /** False until the first sample, unless seeded with the pool median at creation. */
  known: boolean
}

export const leastResponseTime: AlgorithmDefinition<LeastResponseTimeOptions> = {
  options: LeastResponseTimeOptions,
  create<B extends SelectableBackend> (options: LeastResponseTimeOptions, deps: AlgorithmDeps): Algorithm<B> {
    const tau = options.decay
    const penalty = options.failurePenaltyMs
    let list: readonly B[] = []
    let stats: Stat[] = []
    let byId = new Map<string, Stat>()
    let best = NaN
    let bestAt = -Infinity
    const sampler = new CandidateSampler(3)

    function refreshBest (now: number, force: boolean): void {
      if (!force && now - bestAt < BEST_REFRESH_MS) return
      bestAt = now
      best = NaN
      for (const s of stats) if (s.known && !(s.ewma >= best)) best = s.ewma
    }

    function effective (s: Stat, now: number): number {
      if (!s.known) return Number.isNaN(best) ? 0 : best
      if (!(best > 0) || s.ewma <= best) return s.ewma
      return best * Math.pow(s.ewma / best, Math.exp(-(now - s.at) / tau))
    }

    function cost (i: number, now: number): number {
      const b = list[i]!
      if (!(b.weight > 0)) return Infinity
      return effective(stats[i]!, now) * (b.inFlight + 1) / b.weight
    }

    /** The cheaper of two candidates; on equal cost, the one with fewer in flight. */
    function cheaper (i: number, j: number, now: number): number {
      const ci = cost(i, now)
      const cj = cost(j, now)
      return ci < cj || (ci === cj && list[i]!.inFlight <= list[j]!.inFlight) ? i : j
    }

    return {
      update (backends) {
        const now = deps.now()
        const known = stats.filter((s) => s.known).map((s) => s.ewma).sort((x, y) => x - y)
        const median = known.length === 0 ? NaN : known[(known.length - 1) >> 1]!
        const next = new Map<string, Stat>()
        stats = backends.map((b) => {
          const s = byId.get(b.id) ?? next.get(b.id) ??
            (Number.isNaN(median) ? { ewma: 0, at: now, known: false } : { ewma: median, at: now, known: true })
          next.set(b.id, s)
          return s
        })
        byId = next
        list = backends
        refreshBest(now, true)
      },
      pick (_ctx, usable) {
        sampler.reset()
        const i = sampler.draw(list, deps.random(), usable)
        if (i < 0) return undefined
        const j = sampler.draw(list, deps.random(), usable)
        if (j < 0) return list[i]
        const now = deps.now()
        refreshBest(now, false)
        let w = cheaper(i, j, now)
        if (effective(stats[w]!, now) > ESCALATE * best) {
          const k = sampler.draw(list, deps.random(), usable)
          if (k >= 0) w = cheaper(w, k, now)
        }
        return list[w]
      },
      observe (backend, outcome) {
        const s = byId.get(backend.id)
        if (s === undefined) return
        const now = deps.now()
        const sample = outcome.ok ? outcome.latencyMs : Math.max(outcome.latencyMs, penalty)
        if (s.known && now - s.at > tau) s.ewma = effective(s, now)
        if (!s.known || sample >= s.ewma) {
          s.ewma = sample
        } else {
          const w = Math.exp(-Math.max(0, now - s.at) / tau)
          s.ewma = s.ewma * w + sample * (1 - w)
        }
        s.known = true
        s.at = now
        if (Number.isNaN(best) || s.ewma < best) best = s.ewma
      }
    }
  }
}
