/**
 * Seeded randomness for the simulator: mulberry32 (a 32-bit state generator, public domain
 * algorithm by Tommy Ettinger), enough for a benchmark and fully reproducible for a seed.
 */
export type Random = () => number

/** Uniform in [0, 1), deterministic for a seed. */
export function mulberry32 (seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Independent stream number `k` of a seed, so each consumer's draws do not shift the others'. */
export function stream (seed: number, k: number): Random {
  return mulberry32(Math.imul(seed ^ 0x9E3779B9, 0x85EBCA6B) + Math.imul(k + 1, 0xC2B2AE35))
}

/** Exponential with the given mean (inter-arrival times of a Poisson process). */
export function exponential (rnd: Random, mean: number): number {
  return -Math.log(1 - rnd()) * mean
}

/** Standard normal by Box–Muller (one of the pair is dropped: simplicity over speed). */
export function normal (rnd: Random): number {
  const u = 1 - rnd()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd())
}
