import { Type } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, SelectableBackend } from './types.js'

/**
 * Plain rotation, ignoring weights. Each pick starts one past the previous start and walks the
 * ring from there until `usable` accepts one, so an unready backend's turn passes to the next
 * backend instead of doubling one backend's share. Backends a, b, c give a b c a b c …
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
        // A retry (attempt > 0) looks from the current turn without taking it, so the backend
        // whose turn it is still gets its next request: one failing backend cannot make every
        // request start on itself.
        const start = ctx.attempt > 0 ? Math.min(next, n - 1) : next
        if (ctx.attempt === 0) next = start + 1 >= n ? 0 : start + 1
        for (let i = 0; i < n; i++) {
          let j = start + i
          if (j >= n) j -= n
          const b = list[j]!
          if (usable(b)) return b
        }
        return undefined
      }
    }
  }
}
