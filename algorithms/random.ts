import { Type } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, AlgorithmDeps, SelectableBackend } from './types.js'

/**
 * Random selection, uniform (`random`) or proportional to the current weight (`weightedRandom`,
 * read per pick, so slow start applies). One draw over all backends; only when it lands on an
 * unusable one do we look at `usable` for the others, and then draw again among the usable ones
 * only. That keeps the distribution right (an unusable backend's share is spread over the rest
 * in proportion, instead of going to its neighbour) and never answers undefined while some
 * backend is usable. All randomness comes from deps.random.
 */
export const random: AlgorithmDefinition = {
  options: Type.Object({}, { additionalProperties: false }),
  create<B extends SelectableBackend> (_options: unknown, deps: AlgorithmDeps): Algorithm<B> {
    let list: readonly B[] = []
    return {
      update (backends) { list = backends },
      pick: (_ctx, usable) => uniformPick(list, usable, deps.random)
    }
  }
}

export const weightedRandom: AlgorithmDefinition = {
  options: Type.Object({}, { additionalProperties: false }),
  create<B extends SelectableBackend> (_options: unknown, deps: AlgorithmDeps): Algorithm<B> {
    let list: readonly B[] = []
    return {
      update (backends) { list = backends },
      pick (_ctx, usable) {
        let total = 0
        for (const b of list) total += weightOf(b)
        const drawn = walkWeights(list, all, deps.random() * total)
        if (drawn !== undefined && usable(drawn)) return drawn
        let usableTotal = 0
        for (const b of list) if (usable(b)) usableTotal += weightOf(b)
        // Usable backends that all have weight 0 (deep in slow start) still beat no backend.
        if (usableTotal === 0) return amongUsable(list, usable, deps.random)
        return walkWeights(list, usable, deps.random() * usableTotal)
      }
    }
  }
}

/** Uniform among the backends `usable` accepts; undefined only when it accepts none. */
export function uniformPick<B> (list: readonly B[], usable: (b: B) => boolean, rnd: () => number): B | undefined {
  if (list.length === 0) return undefined
  const first = list[Math.floor(rnd() * list.length)]!
  return usable(first) ? first : amongUsable(list, usable, rnd)
}

/** Uniform among the usable backends, by counting them first: the slow path. */
export function amongUsable<B> (list: readonly B[], usable: (b: B) => boolean, rnd: () => number): B | undefined {
  const count = countUsable(list, usable)
  return count === 0 ? undefined : nthUsable(list, usable, Math.floor(rnd() * count))
}

export function countUsable<B> (list: readonly B[], usable: (b: B) => boolean): number {
  let count = 0
  for (const b of list) if (usable(b)) count++
  return count
}

/** The k-th (from 0) usable backend in list order; k must be below countUsable(). */
export function nthUsable<B> (list: readonly B[], usable: (b: B) => boolean, k: number): B {
  let seen = 0
  for (const b of list) if (usable(b) && seen++ === k) return b
  throw new RangeError(`no usable backend number ${k}`)
}

const all = (): boolean => true
const weightOf = (b: SelectableBackend): number => b.weight > 0 ? b.weight : 0

/**
 * The backend whose cumulative-weight interval contains r, among those `accept` takes with a
 * positive weight. If rounding leaves r past the end, the last such backend; undefined if none.
 */
function walkWeights<B extends SelectableBackend> (list: readonly B[], accept: (b: B) => boolean, r: number): B | undefined {
  let chosen: B | undefined
  for (const b of list) {
    const w = weightOf(b)
    if (w === 0 || !accept(b)) continue
    chosen = b
    r -= w
    if (r < 0) break
  }
  return chosen
}
