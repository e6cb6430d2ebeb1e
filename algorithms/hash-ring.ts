import type { SelectableBackend } from './types.js'
import { buildWeight, EMPTY_TABLE, hash32, type HashTable } from './hash.js'

/**
 * Ring-hash ("ketama"-style) table. Each backend gets `vnodes × weight` points on a 32-bit
 * circle, at hash32(`${id}#${n}`) for n = 0, 1, …; a key belongs to the first point at or after
 * its hash, wrapping past the top. A point's position depends only on its backend's id, so
 * removing a backend moves exactly the keys that were on its points and no others, and adding one
 * moves only keys that land on the new points (on average its share of the total weight).
 *
 * Weights are read once, here (update() time). The total number of points is capped at
 * MAX_RING_POINTS; above it every backend's count is scaled down by the same factor (at least
 * one point each), which keeps shares proportional but re-places points when the scale changes.
 */
export const MAX_RING_POINTS = 1 << 20

/** Points and owners are sorted together by packing both into one float: hash × 2^21 + owner. */
const OWNER_SPACE = 2 ** 21

export function buildRing (backends: readonly SelectableBackend[], vnodes: number): HashTable {
  if (backends.length === 0) return EMPTY_TABLE
  if (backends.length > OWNER_SPACE) throw new RangeError(`consistent-hash ring supports at most ${OWNER_SPACE} backends`)
  let wanted = 0
  for (const b of backends) wanted += vnodes * buildWeight(b)
  // All weights 0 count as all equal; one weight 0 among others still gets a point.
  const weightOf = wanted === 0 ? () => 1 : buildWeight
  const scale = wanted > MAX_RING_POINTS ? MAX_RING_POINTS / wanted : 1
  const counts = backends.map((b) => Math.max(1, Math.round(vnodes * weightOf(b) * scale)))
  const total = counts.reduce((a, c) => a + c, 0)

  const packed = new Float64Array(total)
  let k = 0
  backends.forEach((b, owner) => {
    for (let n = 0; n < counts[owner]!; n++) packed[k++] = hash32(`${b.id}#${n}`) * OWNER_SPACE + owner
  })
  packed.sort()
  const points = new Uint32Array(total)
  const owners = new Uint32Array(total)
  for (let i = 0; i < total; i++) {
    const p = packed[i]!
    points[i] = Math.floor(p / OWNER_SPACE)
    owners[i] = p % OWNER_SPACE
  }
  return { owners, slot: (hash) => lowerBound(points, hash) }
}

/** Index of the first point ≥ hash, or 0 when hash is past the last point (the ring wraps). */
function lowerBound (points: Uint32Array, hash: number): number {
  let lo = 0
  let hi = points.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (points[mid]! < hash) lo = mid + 1
    else hi = mid
  }
  return lo === points.length ? 0 : lo
}
