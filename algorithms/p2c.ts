import { Type } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, AlgorithmDeps, SelectableBackend } from './types.js'
import { loadOf } from './least-connections.js'
import { countUsable, nthUsable } from './random.js'

/**
 * Power of two choices (Mitzenmacher): draw two distinct backends uniformly at random and send
 * the request to the less loaded one (lower inFlight / current weight; a tie is a coin flip).
 * Nearly as good as least-connections at spreading load, without every gateway instance herding
 * onto the same "least loaded" backend, and O(1) per pick.
 *
 * The common case draws from the whole list and asks `usable` about the two drawn only. If either
 * is unusable, both are drawn again among the usable backends (counted once), so the pair is
 * always uniform over usable pairs. One usable backend is returned as is.
 */
export const p2c: AlgorithmDefinition = {
  options: Type.Object({}, { additionalProperties: false }),
  create<B extends SelectableBackend> (_options: unknown, deps: AlgorithmDeps): Algorithm<B> {
    let list: readonly B[] = []
    const rnd = deps.random
    /** A uniform index below n other than i (n ≥ 2): with i, a uniform pair of distinct indexes. */
    const other = (i: number, n: number): number => {
      const j = Math.floor(rnd() * (n - 1))
      return j >= i ? j + 1 : j
    }
    const lessLoaded = (a: B, b: B): B => {
      const la = loadOf(a)
      const lb = loadOf(b)
      if (la !== lb) return la < lb ? a : b
      return rnd() < 0.5 ? a : b
    }
    return {
      update (backends) { list = backends },
      pick (_ctx, usable) {
        const n = list.length
        if (n >= 2) {
          const i = Math.floor(rnd() * n)
          const a = list[i]!
          const b = list[other(i, n)]!
          if (usable(a) && usable(b)) return lessLoaded(a, b)
        }
        const count = countUsable(list, usable)
        if (count <= 1) return count === 0 ? undefined : nthUsable(list, usable, 0)
        const i = Math.floor(rnd() * count)
        return lessLoaded(nthUsable(list, usable, i), nthUsable(list, usable, other(i, count)))
      }
    }
  }
}
