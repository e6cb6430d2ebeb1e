import { Type, type Static } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, AlgorithmDeps, SelectableBackend } from './types.js'
import { CandidateSampler } from './sampling.js'
import { LatencyModel } from './adaptive-model.js'

/**
 * An online-learned policy after Prequal (NSDI 2024) and C3 (NSDI 2015), fed only by what the
 * gateway sees passively: each answer's latency, whether it failed, and the in-flight count at
 * dispatch.
 *
 * Model (adaptive-model.ts): per backend, latency ≈ a + b·inFlight fitted by exponentially
 * forgotten least squares (half-life `halfLifeMs`), and an error rate with the same forgetting.
 * Score = predicted latency at (live inFlight + 1) × 1/(1 − errorRate)² / weight: C3's point
 * that a request's cost is its queue position times the service time, learned rather than
 * assumed, and Prequal's point that latency, not load, is what to balance.
 *
 * Selection, per pick: `candidates` distinct usable backends drawn at random (power of d
 * choices), lowest score wins. As in Prequal's hot-cold rule, a candidate is hot when its
 * requests in flight exceed the `hotQuantile` quantile of the pool's in-flight counts: in-flight
 * reacts the instant a backend stalls, before any slow answer has come back to teach the model.
 * Prequal's rule is lexicographic (any cold candidate beats every hot one); here a hot
 * candidate's score is doubled instead, so it still wins against a cold one predicted more than
 * twice as slow. With a few backends the cold candidate is often the slow backend that everyone
 * avoids (which is why it is cold), and the strict rule sent it 2-3% of the traffic in the
 * simulation, enough to own the p99.
 *
 * Exploration: with probability `explore` a pick draws one usable backend at random, and if
 * that backend has had no sample nor exploration for a half-life (an eighth of one when its
 * last answer was more than 2× off its prediction: it is changing speed) it gets the request.
 * Only stale backends are explored, so a backend avoided for being slow costs about one request
 * per half-life instead of an ε share of all traffic (which would put it in the p99), yet its
 * model never goes older than a half-life plus a few picks, and a change is followed by probes
 * every eighth of a half-life until the model agrees with the answers again.
 *
 * Unknown backends: a backend added later is seeded with the pool's median latency at one in
 * flight (a pseudo-sample that fades with the half-life). Before any backend has answered, an
 * unknown one is predicted as the best known latency × in-flight (0 before any answer), so it
 * is tried rather than starved.
 */
export const ADAPTIVE_DEFAULTS = Object.freeze({ explore: 0.05, halfLifeMs: 2000, candidates: 3, hotQuantile: 0.8 })

export const AdaptiveOptions = Type.Object({
  explore: Type.Number({
    minimum: 0, maximum: 1, default: ADAPTIVE_DEFAULTS.explore, description: 'share of picks that look for a stale backend to explore'
  }),
  halfLifeMs: Type.Integer({
    minimum: 1, default: ADAPTIVE_DEFAULTS.halfLifeMs, description: 'half-life in ms of the latency and error models'
  }),
  candidates: Type.Integer({
    minimum: 1, maximum: 16, default: ADAPTIVE_DEFAULTS.candidates, description: 'backends drawn per pick (d of power of d choices)'
  }),
  hotQuantile: Type.Number({
    minimum: 0, maximum: 1, default: ADAPTIVE_DEFAULTS.hotQuantile, description: 'in-flight quantile of the pool above which a candidate is hot'
  })
}, { additionalProperties: false })

export type AdaptiveOptions = Static<typeof AdaptiveOptions>

/** The hot threshold and best known latency are recomputed at most this often (ms of deps.now). */
const REFRESH_MS = 1
/** A hot candidate's score is multiplied by this (see the hot-cold rule above). */
const HOT_PENALTY = 2

export const adaptive: AlgorithmDefinition<AdaptiveOptions> = {
  options: AdaptiveOptions,
  create<B extends SelectableBackend> (options: AdaptiveOptions, deps: AlgorithmDeps): Algorithm<B> {
    const { explore, halfLifeMs, candidates, hotQuantile } = options
    let list: readonly B[] = []
    let models: LatencyModel[] = []
    let byId = new Map<string, LatencyModel>()
    let scratch = new Float64Array(0)
    let hotAbove = Infinity
    let bestKnown = 0
    let refreshedAt = -Infinity
    const sampler = new CandidateSampler(candidates)

    /** Hot threshold (in-flight quantile, via an in-place sort of a reused array) and best latency. */
    function refresh (now: number): void {
      if (now - refreshedAt < REFRESH_MS) return
      refreshedAt = now
      const n = list.length
      let best = Infinity
      for (let i = 0; i < n; i++) {
        scratch[i] = list[i]!.inFlight
        const m = models[i]!
        if (m.known) best = Math.min(best, m.predict(1))
      }
      scratch.sort()
      hotAbove = n === 0 ? Infinity : scratch[Math.floor(hotQuantile * (n - 1))]!
      bestKnown = best === Infinity ? 0 : best
    }

    function score (i: number): number {
      const b = list[i]!
      if (!(b.weight > 0)) return Infinity
      const m = models[i]!
      const x = b.inFlight + 1
      return (m.known ? m.predict(x) : bestKnown * x) * m.penalty / b.weight
    }

    return {
      update (backends) {
        const now = deps.now()
        const known = models.filter((m) => m.known).map((m) => m.predict(1)).sort((x, y) => x - y)
        const median = known.length === 0 ? NaN : known[(known.length - 1) >> 1]!
        const next = new Map<string, LatencyModel>()
        models = backends.map((b) => {
          let m = byId.get(b.id) ?? next.get(b.id)
          if (m === undefined) {
            m = new LatencyModel(halfLifeMs, now)
            if (!Number.isNaN(median)) m.seed(median)
          }
          next.set(b.id, m)
          return m
        })
        byId = next
        list = backends
        scratch = new Float64Array(backends.length)
        refreshedAt = -Infinity
      },
      pick (_ctx, usable) {
        const now = deps.now()
        sampler.reset()
        if (explore > 0 && deps.random() < explore) {
          const i = sampler.draw(list, deps.random(), usable)
          if (i < 0) return undefined
          const m = models[i]!
          if (now - m.touched >= (m.changing ? halfLifeMs / 8 : halfLifeMs)) {
            m.touched = now
            return list[i]
          }
          // Not stale: it stays in as an ordinary candidate.
        }
        while (sampler.count < candidates && sampler.draw(list, deps.random(), usable) >= 0);
        if (sampler.count === 0) return undefined
        refresh(now)
        let best = -1
        let bestScore = Infinity
        for (let k = 0; k < sampler.count; k++) {
          const i = sampler.at(k)
          const hot = list[i]!.inFlight > hotAbove
          const s = hot ? score(i) * HOT_PENALTY : score(i)
          if (best < 0 || s < bestScore || (s === bestScore && list[i]!.inFlight < list[best]!.inFlight)) {
            best = i
            bestScore = s
          }
        }
        return list[best]
      },
      observe (backend, outcome) {
        byId.get(backend.id)?.observe(deps.now(), outcome.ok, outcome.latencyMs, outcome.inFlight)
      }
    }
  }
}
