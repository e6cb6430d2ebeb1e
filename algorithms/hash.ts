import type { SelectableBackend } from './types.js'

/**
 * Pieces shared by consistent-hash's two methods (hash-ring.ts, maglev.ts).
 *
 * The 32-bit string hash used by consistent-hash (ring points, maglev permutations and keys).
 *
 * Choice: the FNV-1a step (xor, then multiply by the 32-bit FNV prime 16777619, from offset basis
 * 2166136261) applied per UTF-16 code unit rather than per byte, so a pick hashes the key with no
 * encoding and no allocation; then murmur3's 32-bit finaliser (fmix32). FNV-1a alone mixes the
 * last characters poorly into the high bits, and keys that differ only at the end are the common
 * case ("user-41", "user-42", consecutive IPs); the ring's binary search compares whole values and
 * maglev reduces modulo a prime, so both need every output bit to depend on every input bit.
 * Not cryptographic: a client who can choose keys can aim at one backend, as with any such hash.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** Unsigned 32-bit hash of `s`; a different `seed` gives an unrelated hash of the same string. */
export function hash32 (s: string, seed = 0): number {
  let h = FNV_OFFSET_BASIS ^ seed
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, FNV_PRIME)
  }
  return fmix32(h)
}

/** murmur3's finaliser: every input bit flips each output bit with probability close to 1/2. */
export function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * What consistent-hash looks a key up in, whatever the method: `owners[i]` is the index (in the
 * backend list given to the builder) of the backend that owns slot i, and `slot(hash)` is where a
 * key's hash lands. When that backend cannot be used, the caller walks on to slot i+1, i+2, …
 * (wrapping), which is "the next point clockwise" on a ring and "the next table entry" in maglev.
 */
export interface HashTable {
  readonly owners: ArrayLike<number>
  slot (hash: number): number
}

export const EMPTY_TABLE: HashTable = { owners: new Uint32Array(0), slot: () => 0 }

/** A backend's weight for building a table: non-positive or NaN weights count as zero. */
export function buildWeight (b: SelectableBackend): number {
  const w = b.configWeight ?? b.weight
  return w > 0 ? w : 0
}
