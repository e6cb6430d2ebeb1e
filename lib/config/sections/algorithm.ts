/**
 * A pool's `algorithm`: a built-in name, `{ name, ...options }`, or `{ module: PATH, ...options }`
 * for a custom algorithm. Built-in options are checked against the algorithm's own schema here,
 * with its defaults applied. Custom modules can only be loaded asynchronously: the loader records
 * the resolved path and lib/config/modules.ts imports and checks them before the gateway starts.
 */
import { resolve } from 'node:path'
import { Type } from '@sinclair/typebox'
import { algorithms, algorithmNames } from '../../../algorithms/index.js'
import { OptionError } from '../../../algorithms/option-error.js'
import { isObj, type Ctx } from '../fields.js'
import { checkAgainst, closest } from '../check.js'
import { Name } from '../schema-parts.js'

/** `name` is also what a pool falls back to when its algorithm entry is unusable (an issue is reported). */
export const ALGORITHM_DEFAULTS = Object.freeze({ name: 'round-robin' })

export const AlgorithmSchema = Type.Union([
  Name(),
  Type.Object({ name: Type.Optional(Name()), module: Type.Optional(Name()) }, { additionalProperties: true })
], { default: ALGORITHM_DEFAULTS.name, description: 'an algorithm name, or a mapping with a name (or module) key plus the algorithm\'s options' })

export interface AlgorithmConfig {
  /** A built-in name, or "module:<absolute path>" for a custom algorithm. */
  name: string
  /** Absolute path of a custom algorithm module (then `name` is "module:<path>"). */
  module?: string
  /** Algorithm-specific options, validated by the algorithm's own schema. */
  options: Record<string, unknown>
}

export function normaliseAlgorithm (ctx: Ctx, raw: unknown, segs: string[]): AlgorithmConfig {
  const fallback = ALGORITHM_DEFAULTS.name
  if (!isObj(raw)) {
    const name = typeof raw === 'string' ? raw : fallback
    return builtIn(ctx, name, {}, segs, segs)
  }
  const { name, module, ...options } = raw
  if (module !== undefined) {
    if (name !== undefined) ctx.issues.add([...segs, 'name'], 'give either name (a built-in algorithm) or module (a custom one), not both')
    if (typeof module !== 'string' || module === '') {
      ctx.issues.add([...segs, 'module'], 'expected the path of a JavaScript module, e.g. ./algorithms/my-algo.js')
      return { name: fallback, options: {} }
    }
    const path = resolve(ctx.baseDir, module)
    return { name: `module:${path}`, module: path, options }
  }
  if (typeof name !== 'string') {
    ctx.issues.add([...segs, 'name'], 'required: the algorithm\'s name, or module: PATH for a custom algorithm')
    return { name: fallback, options: {} }
  }
  return builtIn(ctx, name, options, [...segs, 'name'], segs)
}

function builtIn (ctx: Ctx, name: string, options: Record<string, unknown>, nameAt: string[], segs: string[]): AlgorithmConfig {
  const def = algorithms[name]
  if (def === undefined) {
    const guess = closest(name, algorithmNames)
    ctx.issues.add(nameAt, `unknown algorithm "${name}"; ${guess === undefined ? '' : `did you mean ${guess}? `}known algorithms: ${algorithmNames.join(', ')}`)
    return { name, options }
  }
  const before = ctx.issues.size
  const checked = checkAgainst(def.options, options, segs, ctx.issues) as Record<string, unknown>
  // Options can be well-formed yet unusable together (an unknown inner algorithm): one trial
  // create() turns that into a config issue now rather than a failure when pools are built.
  if (ctx.issues.size === before) {
    try {
      def.create(checked, { random: Math.random, now: () => 0 })
    } catch (err) {
      ctx.issues.add(err instanceof OptionError ? [...segs, err.option] : segs, (err as Error).message)
    }
  }
  return { name, options: checked }
}
