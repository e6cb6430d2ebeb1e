/**
 * The code modules a config names: custom algorithms (`algorithm: { module: ./my-algo.js, ...}`)
 * and middleware plugins (`plugins: [{ module: ./tag.js }]`). The config loader is synchronous
 * and only records their paths; these loaders import them, check their default exports (and, for
 * algorithms, validate the options against the module's own schema and try one create()). Any
 * failure is a ConfigError at the option's path, so a bad module stops startup (or a reload)
 * instead of failing at request time.
 *
 * The loaders keep no state: they return what they loaded, and the caller hands it on (buildApp's
 * `modules`, a reload's context). Two gateways in one process therefore never see each other's
 * modules. Every call imports afresh (a URL query unique to the call), so a reload picks up a
 * changed file; within one call a path is imported once.
 */
import { randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'
import type { AnyAlgorithmDefinition } from '../../algorithms/index.js'
import type { GatewayConfig } from './types.js'
import { ConfigError, IssueList } from './issues.js'
import { checkAgainst } from './validate.js'

/** A middleware plugin: a module's default export, registered with the config's options. */
export type MiddlewarePlugin = FastifyPluginAsync<Record<string, unknown>>

/** What one load of a config's modules produced, by absolute module path. */
export interface LoadedModules {
  readonly algorithms: ReadonlyMap<string, AnyAlgorithmDefinition>
  readonly plugins: ReadonlyMap<string, MiddlewarePlugin>
}

/**
 * Imports and checks every module the config names, algorithms and plugins, and reports every
 * issue of both at once.
 */
export async function loadModules (config: GatewayConfig, source?: string): Promise<LoadedModules> {
  const issues = new IssueList()
  const token = randomUUID()
  const algorithms = await collectAlgorithms(config, token, issues)
  const plugins = await collectPlugins(config, token, issues)
  if (issues.size > 0) throw new ConfigError(issues.list(), source)
  return { algorithms, plugins }
}

/** The custom algorithm definitions the config names, by module path (the admin API's validate uses this alone). */
export async function loadAlgorithmModules (config: GatewayConfig, source?: string): Promise<ReadonlyMap<string, AnyAlgorithmDefinition>> {
  const issues = new IssueList()
  const loaded = await collectAlgorithms(config, randomUUID(), issues)
  if (issues.size > 0) throw new ConfigError(issues.list(), source)
  return loaded
}

/**
 * The middleware plugins the config names, by module path. A module that fails to load, or whose
 * default export is not a function (a Fastify plugin), is a ConfigError at `plugins[i].module`.
 */
export async function loadPluginModules (config: GatewayConfig, source?: string): Promise<ReadonlyMap<string, MiddlewarePlugin>> {
  const issues = new IssueList()
  const loaded = await collectPlugins(config, randomUUID(), issues)
  if (issues.size > 0) throw new ConfigError(issues.list(), source)
  return loaded
}

async function collectAlgorithms (config: GatewayConfig, token: string, issues: IssueList): Promise<Map<string, AnyAlgorithmDefinition>> {
  const loaded = new Map<string, AnyAlgorithmDefinition>()
  for (const [poolName, pool] of Object.entries(config.pools)) {
    const path = pool.algorithm.module
    if (path === undefined) continue
    const at = ['pools', poolName, 'algorithm']
    let def = loaded.get(path)
    if (def === undefined) {
      const got = await importDefinition(path, token)
      if (typeof got === 'string') {
        issues.add([...at, 'module'], got)
        continue
      }
      def = got
      loaded.set(path, def)
    }
    pool.algorithm.options = checkAgainst(def.options, pool.algorithm.options, at, issues) as Record<string, unknown>
    const trial = tryCreate(def, pool.algorithm.options)
    if (trial !== undefined) issues.add([...at, 'module'], trial)
  }
  return loaded
}

async function collectPlugins (config: GatewayConfig, token: string, issues: IssueList): Promise<Map<string, MiddlewarePlugin>> {
  const loaded = new Map<string, MiddlewarePlugin>()
  for (const [i, p] of config.plugins.entries()) {
    let mod: Record<string, unknown>
    try {
      mod = await importFresh(p.module, token)
    } catch (err) {
      issues.add(['plugins', i, 'module'], `cannot load plugin module ${p.module}: ${(err as Error).message.split('\n')[0]}`)
      continue
    }
    if (typeof mod.default !== 'function') {
      issues.add(['plugins', i, 'module'], `${p.module} does not export a Fastify plugin: its default export must be a function (app, options)`)
      continue
    }
    loaded.set(p.module, mod.default as MiddlewarePlugin)
  }
  return loaded
}

/** Node caches modules by URL: a query unique to this load makes it read the file again. */
async function importFresh (path: string, token: string): Promise<Record<string, unknown>> {
  return await import(`${pathToFileURL(path).href}?v=${token}`) as Record<string, unknown>
}

/** The module's default export if it is a definition, else why not. */
async function importDefinition (path: string, token: string): Promise<AnyAlgorithmDefinition | string> {
  let mod: Record<string, unknown>
  try {
    mod = await importFresh(path, token)
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
