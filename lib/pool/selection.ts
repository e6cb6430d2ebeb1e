import type { Backend } from '../backend.js'

/**
 * Which backends of `list` a request may use, as the predicate an algorithm's pick() walks
 * with. Normally `ready`; in panic mode (fewer than `panicBelow` of the pool healthy and not
 * ejected; 0: never) health, ejection and circuits are ignored and every enabled, non-draining
 * backend under its limit is used, rather than overloading the few survivors. `exclude`: the
 * backends a retry has already tried. Decided per pick, with no hysteresis.
 */
export function usableFor (list: readonly Backend[], panicBelow: number, exclude: readonly Backend[] | undefined): (b: Backend) => boolean {
  const base = inPanic(list, panicBelow) ? isServing : isReady
  if (exclude === undefined || exclude.length === 0) return base
  return (b) => base(b) && !exclude.includes(b)
}

/** The panic rule of usableFor(), also read by the pool to report entering and leaving it. */
export function inPanic (list: readonly Backend[], panicBelow: number): boolean {
  return panicBelow > 0 && healthyCount(list) < panicBelow * list.length
}

/** Backends that are healthy and not ejected: what the panic threshold is compared against. */
export function healthyCount (list: readonly Backend[]): number {
  let n = 0
  for (const b of list) if (b.healthy && !b.ejected) n++
  return n
}

const isReady = (b: Backend): boolean => b.ready
const isServing = (b: Backend): boolean => b.enabled && !b.draining && (b.maxInFlight === 0 || b.inFlight < b.maxInFlight)
