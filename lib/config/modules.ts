/**
 * Custom algorithm modules (`algorithm: { module: ./my-algo.js, ...options }`). The loader is
 * synchronous and only records the module's path; this step imports each module, checks that its
 * default export fits the AlgorithmDefinition interface, validates its options against the
 * module's own schema and tries one create(). Any failure is a ConfigError naming the pool and
 * the module, so a bad module stops startup (or a reload) instead of failing at request time.
 *
 * Modules are imported again on every call (a fresh URL query), so a reload picks up a changed
 * file. The definitions of the last successful call are what pools use.
 */
import { pathToFileURL } from 'node:url'
import type { AnyAlgorithmDefinition } from '../../algorithms/index.js'
import type { GatewayConfig } from './types.js'
import { ConfigError, IssueList } from './issues.js'
import { checkAgainst } from './validate.js'

let loaded = new Map<string, AnyAlgorithmDefinition>()
let generation = 0

/** The definition loaded for a module path by the last successful loadAlgorithmModules(). */
export function customAlgorithm (path: string): AnyAlgorithmDefinition | undefined {
  return loaded.get(path)
}

/**
 * Imports and checks every custom algorithm module the config names. With `commit` false (the
 * admin API's validate) the modules are checked but the ones pools use stay as they were.
 */
export async function loadAlgorithmModules (config: GatewayConfig, source?: string, commit = true): Promise<void> {
  const issues = new IssueList()
  const next = new Map<string, AnyAlgorithmDefinition>()
  generation++
  for (const [poolName, pool] of Object.entries(config.pools)) {
    const path = pool.algorithm.module
    if (path === undefined) continue
    const at = ['pools', poolName, 'algorithm']
    let def = next.get(path)
    if (def === undefined) {
      const got = await importDefinition(path)
      if (typeof got === 'string') {
        issues.add([...at, 'module'], got)
        continue
      }
      def = got
      next.set(path, def)
    }
    pool.algorithm.options = checkAgainst(def.options, pool.algorithm.options, at, issues) as Record<string, unknown>
    const trial = tryCreate(def, pool.algorithm.options)
    if (trial !== undefined) issues.add([...at, 'module'], trial)
  }
  if (issues.size > 0) throw new ConfigError(issues.list(), source)
  if (commit) loaded = next
}

/** The module's default export if it is a definition, else why not. */
async function importDefinition (path: string): Promise<AnyAlgorithmDefinition | string> {
  let mod: Record<string, unknown>
  try {
    mod = await import(`${pathToFileURL(path).href}?v=${generation}`) as Record<string, unknown>
  } catch (err) {
    return `cannot load algorithm module ${path}: ${(err as Error).message.split('\n')[0]}`
  }
  const def = mod.default as Partial<AnyAlgorithmDefinition> | undefined
  if (def === null || typeof def !== 'object' || typeof def.create !== 'function' || typeof def.options !== 'object') {
    return `${path} does not export an algorithm: its default export must be { options: <TypeBox schema>, create(options, deps), key?(options) }`
  }
  return def as AnyAlgorithmDefinition
}

function tryCreate (def: AnyAlgorithmDefinition, options: Record<string, unknown>): string | undefined {
  try {
    const algo = def.create(options, { random: Math.random, now: () => 0 }) as unknown as Record<string, unknown>
    if (typeof algo?.update !== 'function' || typeof algo.pick !== 'function') {
      return 'the algorithm\'s create() must return an object with update(backends) and pick(ctx, usable)'
    }
    return undefined
  } catch (err) {
    return `the algorithm's create() failed: ${(err as Error).message}`
  }
}

/** Fastify plugins named by the config's `plugins`, by path, from the last successful load. */
let plugins = new Map<string, unknown>()

export function pluginModule (path: string): unknown {
  return plugins.get(path)
}

/**
 * Imports the middleware plugins the config names. A module that fails to load, or whose
 * default export is not a function (a Fastify plugin), is a ConfigError at `plugins[i].module`.
 */
export async function loadPluginModules (config: GatewayConfig, source?: string): Promise<void> {
  const issues = new IssueList()
  const next = new Map<string, unknown>()
  for (const [i, p] of config.plugins.entries()) {
    let mod: Record<string, unknown>
    try {
      mod = await import(`${pathToFileURL(p.module).href}?v=${generation}`) as Record<string, unknown>
    } catch (err) {
      issues.add(['plugins', i, 'module'], `cannot load plugin module ${p.module}: ${(err as Error).message.split('\n')[0]}`)
      continue
    }
    if (typeof mod.default !== 'function') {
      issues.add(['plugins', i, 'module'], `${p.module} does not export a Fastify plugin: its default export must be a function (app, options)`)
      continue
    }
    next.set(p.module, mod.default)
  }
  if (issues.size > 0) throw new ConfigError(issues.list(), source)
  plugins = next
}
