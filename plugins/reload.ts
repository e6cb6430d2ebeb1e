import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig } from '../lib/config/types.js'
import { loadModules as loadConfigModules, type LoadedModules } from '../lib/config/modules.js'
import { ReloadCoordinator } from '../lib/reload/coordinator.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The reload coordinator: plugins register their participant; apply() runs a reload. */
    readonly reload: ReloadCoordinator
    /**
     * Applies a validated config without a restart: loads its modules, prepares every
     * participant, then commits all at once. Throws (ConfigError for a bad module) with nothing
     * changed when anything fails before the commit.
     */
    readonly reloadConfig: (next: GatewayConfig) => Promise<ReloadSummary>
  }
}

export interface ReloadSummary {
  pools: string[]
  /** Sections that differ but only take effect after a restart. */
  needsRestart: string[]
}

export interface ReloadPluginOptions {
  /** Loads a config's modules for a reload; default lib/config/modules.ts loadModules. */
  loadModules?: (config: GatewayConfig) => Promise<LoadedModules>
}

/**
 * Hot reload as prepare, then commit or abort (docs/reload.md). This plugin only coordinates:
 * every plugin whose state a reload changes registers a participant here (app.reload.register)
 * when it is registered, so participants run in plugin-dependency order, and changes its own
 * state in its commit. Registered first, before the plugins that take part.
 */
async function reloadPlugin (app: FastifyInstance, opts: ReloadPluginOptions): Promise<void> {
  const coordinator = new ReloadCoordinator({ logger: app.log, loadModules: opts.loadModules ?? (async (c) => await loadConfigModules(c)) })
  app.decorate('reload', coordinator)
  app.decorate('reloadConfig', async (next: GatewayConfig): Promise<ReloadSummary> => {
    const { needsRestart } = await coordinator.apply(next)
    const pools = Object.keys(next.pools)
    app.log.info({ pools, needsRestart }, 'config reloaded')
    return { pools, needsRestart }
  })
}

export default fp(reloadPlugin, { name: 'gateway-reload', fastify: '5.x' })
