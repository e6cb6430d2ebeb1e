import type { SelectableBackend } from './types.js'
import { buildWeight, EMPTY_TABLE, hash32, type HashTable } from './hash.js'

/**
 * Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, section 3.4). Each backend has a permutation of the table's slots given
 * by two hashes of its id: offset = h1 mod M and skip = h2 mod (M − 1) + 1, slot j of the
 * permutation being (offset + j × skip) mod M. M is prime, so every skip is coprime to M and each
 * permutation visits every slot. Backends take turns claiming the next free slot of their own
 * permutation until the table is full, which gives each backend M/N slots (±1).
 *
 * Weights (read here, at update() time): the paper's turns are equal; here a backend takes a turn
 * in a round when its accumulated weight reaches the largest weight, so with equal weights this
 * is exactly the paper's algorithm and with unequal ones slots are proportional to weight.
 *
 * The paper trades a little disruption for balance: removing a backend gives its slots to others
 * but can also shift a few slots between surviving backends. It measures this as small when
 * M ≫ N (it recommends M > 100 × N); test/algorithm-consistent-hash.test.ts measures it here.
 */
const OFFSET_SEED = 0x2545f491
const SKIP_SEED = 0x6c8e9cf5

export function buildMaglev (backends: readonly SelectableBackend[], size: number): HashTable {
  const n = backends.length
  if (n === 0) return EMPTY_TABLE
  const owners = new Int32Array(size).fill(-1)
  const position = new Float64Array(n)
  const skip = new Float64Array(n)
  const weight = new Float64Array(n)
  const credit = new Float64Array(n)
  let maxWeight = 0
  backends.forEach((b, i) => {
    position[i] = hash32(b.id, OFFSET_SEED) % size
    skip[i] = hash32(b.id, SKIP_SEED) % (size - 1) + 1
    weight[i] = buildWeight(b)
    maxWeight = Math.max(maxWeight, weight[i]!)
  })
  if (maxWeight === 0) weight.fill(maxWeight = 1)

  let filled = 0
  while (filled < size) {
    for (let i = 0; i < n && filled < size; i++) {
      credit[i] += weight[i]!
      if (credit[i]! < maxWeight) continue
      credit[i] -= maxWeight
      let c = position[i]!
      while (owners[c]! >= 0) c = next(c, skip[i]!, size)
      owners[c] = i
      position[i] = next(c, skip[i]!, size)
      filled++
    }
  }
  return { owners, slot: (hash) => hash % size }
}

const next = (c: number, skip: number, size: number): number => {
  const d = c + skip
  return d >= size ? d - size : d
}

export function isPrime (n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false
  return true
}

/** The smallest prime ≥ n, for error messages that say what to use instead. */
export function nextPrime (n: number): number {
  let p = Math.max(2, Math.ceil(n))
  while (!isPrime(p)) p++
  return p
}
