import type { AlgorithmDefinition } from './types.js'
import { roundRobin } from './round-robin.js'
import { stickyWith } from './sticky.js'
import { weightedRoundRobin } from './weighted-round-robin.js'
import { leastConnections } from './least-connections.js'
import { random, weightedRandom } from './random.js'
import { p2c } from './p2c.js'
import { consistentHash } from './consistent-hash.js'
import { leastResponseTime } from './least-response-time.js'
import { adaptive } from './adaptive.js'

/** Any algorithm definition, whatever its options type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAlgorithmDefinition = AlgorithmDefinition<any>

/**
 * Registry of built-in algorithms: name to definition. The config loader rejects any other name
 * at load time and validates each algorithm's options against its schema, so an unknown
 * algorithm or a bad option is a startup error, never a request-time one.
 */
export const algorithms: Readonly<Record<string, AnyAlgorithmDefinition>> = Object.freeze({
  'round-robin': roundRobin,
  'weighted-round-robin': weightedRoundRobin,
  'least-connections': leastConnections,
  random,
  'weighted-random': weightedRandom,
  p2c,
  'consistent-hash': consistentHash,
  'least-response-time': leastResponseTime,
  adaptive,
  sticky: stickyWith(() => algorithms)
})

export const algorithmNames: readonly string[] = Object.keys(algorithms)

export type {
  Algorithm, AlgorithmDefinition, AlgorithmDeps, KeySource, SelectableBackend, SelectionContext, Outcome
} from './types.js'
