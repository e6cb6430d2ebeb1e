import { Type } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, SelectableBackend } from './types.js'

/**
 * Smooth weighted round-robin, as nginx does it: on each pick every usable backend's `current`
 * grows by its weight, the one with the largest `current` is chosen (the first in list order on a
 * tie) and loses the total weight of the usable backends. Over any window of Σweight picks each
 * backend is chosen weight times, interleaved rather than in bursts: weights a=5, b=1, c=1 give
 * a a b a c a a, not a a a a a b c.
 *
 * Unusable backends sit the pick out (no credit gained), so the others share their turns in
 * proportion. Weights are read on every pick because slow start changes them without update().
 * update() restarts the sequence from zero credit, like a freshly built nginx peer list.
 */
export const weightedRoundRobin: AlgorithmDefinition = {
  options: Type.Object({}, { additionalProperties: false }),
  create<B extends SelectableBackend> (): Algorithm<B> {
    let list: readonly B[] = []
    let current = new Float64Array(0)
    return {
      update (backends) {
        list = backends
        current = new Float64Array(backends.length)
      },
      pick (_ctx, usable) {
        let total = 0
        let best = -1
        for (let i = 0; i < list.length; i++) {
          const b = list[i]!
          if (!usable(b)) continue
          const w = b.weight > 0 ? b.weight : 0
          current[i] += w
          total += w
          if (best < 0 || current[i]! > current[best]!) best = i
        }
        if (best < 0) return undefined
        current[best] -= total
        return list[best]
      }
    }
  }
}
