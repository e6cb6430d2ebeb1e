/**
 * A seeded, reproducible stand-in for Math.random in algorithm tests: a Weyl sequence (adding the
 * 32-bit golden-ratio constant) passed through murmur3's fmix32 finaliser. Fast, uniform enough
 * for share bands, and the same seed always gives the same run, so a band failure reproduces.
 */
import type { AlgorithmDeps } from '../../algorithms/types.js'

export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    z ^= z >>> 16
    return (z >>> 0) / 4294967296
  }
}

/** Deps for create(): seeded randomness and a clock stuck at 0. */
export function seededDeps (seed = 42): AlgorithmDeps {
  return { random: seededRandom(seed), now: () => 0 }
}

/** A fake backend: what an algorithm may read, with fields a test can change between picks. */
export interface FakeBackend { id: string, weight: number, inFlight: number }

export function fakeBackends (weights: Record<string, number>): FakeBackend[] {
  return Object.entries(weights).map(([id, weight]) => ({ id, weight, inFlight: 0 }))
}
