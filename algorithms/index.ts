import type { AlgorithmFactory } from './types.js'
import { roundRobin } from './round-robin.js'

/**
 * Registry of built-in algorithms: name to factory. The config loader rejects any other name at
 * load time, so an unknown algorithm is a startup error, never a request-time one.
 */
export const algorithms: Readonly<Record<string, AlgorithmFactory>> = Object.freeze({
  'round-robin': roundRobin as AlgorithmFactory
})

export const algorithmNames: readonly string[] = Object.keys(algorithms)

export type { Algorithm, AlgorithmFactory, SelectableBackend, SelectionContext, Outcome } from './types.js'
