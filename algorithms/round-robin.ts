import { Type } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, SelectableBackend } from './types.js'

/**
 * Plain rotation, ignoring weights: backends a, b, c give a b c a b c … Each pick walks the ring
 * from the current turn until `usable` accepts a backend, and the next turn starts just after
 * the one chosen, so the ready backends keep equal shares when one is out (a, c of a b c with b
 * out give a c a c, not a c c a c c).
 */
export const roundRobin: AlgorithmDefinition = {
  options: Type.Object({}, { additionalProperties: false }),
  create<B extends SelectableBackend> (): Algorithm<B> {
    let list: readonly B[] = []
    let next = 0
    return {
      update (backends) {
        list = backends
        if (next >= list.length) next = 0
      },
      pick (ctx, usable) {
        const n = list.length
        const start = next < n ? next : 0
        for (let i = 0; i < n; i++) {
          let j = start + i
          if (j >= n) j -= n
          const b = list[j]!
          if (usable(b)) {
            // A retry (attempt > 0) does not take a turn: the backend whose turn it was still
            // gets the next request, so one failing backend cannot make every request start on
            // itself while its retries go to the others.
            if (ctx.attempt === 0) next = j + 1 >= n ? 0 : j + 1
            return b
          }
        }
        return undefined
      }
    }
  }
}
