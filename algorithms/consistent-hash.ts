import { Type, type Static } from '@sinclair/typebox'
import type { Algorithm, AlgorithmDefinition, AlgorithmDeps, SelectableBackend } from './types.js'
import { KeyOption, keySource } from './key.js'
import { EMPTY_TABLE, hash32, type HashTable } from './hash.js'
import { buildRing } from './hash-ring.js'
import { buildMaglev, isPrime, nextPrime } from './maglev.js'
import { uniformPick } from './random.js'
import { OptionError } from './option-error.js'

export const CONSISTENT_HASH_DEFAULTS = Object.freeze({ method: 'ring' as const, vnodes: 160, tableSize: 65537 })
export const MAX_TABLE_SIZE = 1_000_003

export const ConsistentHashOptions = Type.Object({
  key: KeyOption,
  method: Type.Optional(Type.Union([Type.Literal('ring'), Type.Literal('maglev')], { default: CONSISTENT_HASH_DEFAULTS.method })),
  /** Ring only: points per unit of weight. More points, smoother shares, bigger ring. */
  vnodes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: CONSISTENT_HASH_DEFAULTS.vnodes })),
  /** Maglev only: lookup table size, a prime well above 100 × the number of backends. */
  tableSize: Type.Optional(Type.Integer({
    minimum: 7,
    maximum: MAX_TABLE_SIZE,
    default: CONSISTENT_HASH_DEFAULTS.tableSize,
    description: `a prime from 7 to ${MAX_TABLE_SIZE} (e.g. 65537)`
  }))
}, { additionalProperties: false })

export type ConsistentHashOptionsValue = Static<typeof ConsistentHashOptions>

/**
 * Consistent hashing on the request key (ip, path, a header or a cookie): the same key goes to
 * the same backend while the backend set is unchanged, and a membership change moves few keys.
 * `method: ring` (hash-ring.ts) moves exactly the keys it must; `method: maglev` (maglev.ts)
 * balances more evenly and looks up in O(1), at the cost of a few extra moves.
 *
 * When the key's backend is unusable, the walk goes on through the following slots (ring points
 * or table entries), skipping backends already refused, until `usable` accepts one; that spreads
 * the refused backend's keys over the others, and they come back once it is usable again. A
 * request without a key goes to a uniformly random usable backend.
 *
 * Weights are read at update() time (a backend's share of slots); slow start does not reshape
 * the table, because moving keys back and forth as weights ramp is what hashing should avoid.
 * create() throws on a tableSize that is not prime; the schema checks only the range.
 */
export const consistentHash: AlgorithmDefinition<ConsistentHashOptionsValue> = {
  options: ConsistentHashOptions,
  key: (options) => keySource(options.key),
  create<B extends SelectableBackend> (options: ConsistentHashOptionsValue, deps: AlgorithmDeps): Algorithm<B> {
    const method = options.method ?? CONSISTENT_HASH_DEFAULTS.method
    const vnodes = options.vnodes ?? CONSISTENT_HASH_DEFAULTS.vnodes
    const tableSize = options.tableSize ?? CONSISTENT_HASH_DEFAULTS.tableSize
    if (method === 'maglev' && !isPrime(tableSize)) {
      throw new OptionError('tableSize', `must be a prime number (got ${tableSize}); the next prime is ${nextPrime(tableSize)}`)
    }
    let list: readonly B[] = []
    let table: HashTable = EMPTY_TABLE
    // refused[i] === pickNo marks backend i as refused during the current pick: no per-pick Set.
    let refused = new Float64Array(0)
    let pickNo = 0
    return {
      update (backends) {
        list = backends
        table = method === 'maglev' ? buildMaglev(backends, tableSize) : buildRing(backends, vnodes)
        refused = new Float64Array(backends.length)
      },
      pick (ctx, usable) {
        if (ctx.key === undefined) return uniformPick(list, usable, deps.random)
        const owners = table.owners
        const size = owners.length
        let slot = table.slot(hash32(ctx.key))
        if (size === 0) return undefined
        const first = list[owners[slot]!]!
        if (usable(first)) return first
        pickNo++
        refused[owners[slot]!] = pickNo
        let left = list.length - 1
        for (let step = 1; step < size && left > 0; step++) {
          if (++slot === size) slot = 0
          const owner = owners[slot]!
          if (refused[owner] === pickNo) continue
          const b = list[owner]!
          if (usable(b)) return b
          refused[owner] = pickNo
          left--
        }
        // Only a maglev table smaller than the backend list leaves backends out of the walk.
        if (left === 0) return undefined
        for (let i = 0; i < list.length; i++) {
          if (refused[i] !== pickNo && usable(list[i]!)) return list[i]
        }
        return undefined
      }
    }
  }
}
