import { Type } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, SelectableBackend } from './types.js'

/**
 * Least connections, weighted: the usable backend with the lowest inFlight / weight (current
 * weight, read per pick, so a backend in slow start looks busier). A backend whose weight is 0
 * counts as infinitely loaded: chosen only when every usable backend is.
 *
 * Ties rotate: the scan starts just after the backend chosen last time, and a later backend must
 * be strictly less loaded to win, so equally loaded backends take turns (a b c a b c … when all
 * are idle) instead of the first one in the list taking every tie.
 */
export const leastConnections: AlgorithmDefinition = {
  options: Type.Object({}, { additionalProperties: false }),
  create<B extends SelectableBackend> (): Algorithm<B> {
    let list: readonly B[] = []
    let start = 0
    return {
      update (backends) {
        list = backends
        if (start >= list.length) start = 0
      },
      pick (_ctx, usable) {
        const n = list.length
        let best = -1
        let bestLoad = Infinity
        for (let i = 0; i < n; i++) {
          let j = start + i
          if (j >= n) j -= n
          const b = list[j]!
          if (!usable(b)) continue
          const load = loadOf(b)
          if (best < 0 || load < bestLoad) {
            best = j
            bestLoad = load
          }
        }
        if (best < 0) return undefined
        start = best + 1 >= n ? 0 : best + 1
        return list[best]
      }
    }
  }
}

/** inFlight per unit of weight; shared with p2c. */
export function loadOf (b: SelectableBackend): number {
  return b.weight > 0 ? b.inFlight / b.weight : Infinity
}
