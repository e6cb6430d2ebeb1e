import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig } from '../lib/config/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated, normalised config in force: the one built from, then the last reloaded. */
    readonly gatewayConfig: GatewayConfig
    /**
     * Makes `config` the one in force without a reload. Only for a change its owners already
     * made to the running state: the config store's record of an admin API backend change
     * (lib/store/config-state.ts), whose pool methods changed the pools.
     */
    readonly adoptConfig: (config: GatewayConfig) => void
  }
}

export interface ConfigPluginOptions {
  config: GatewayConfig
}

/**
 * Provides the config in force to every other gateway plugin. Loading and validation happen
 * before. On reload ("config" participant) it switches to the new config in the commit, and
 * reports `shutdown` as needing a restart: server.ts reads it once, at start.
 */
async function configPlugin (app: FastifyInstance, opts: ConfigPluginOptions): Promise<void> {
  const startup = opts.config
  let current = opts.config
  app.decorate('gatewayConfig', { getter: () => current })
  app.decorate('adoptConfig', (config: GatewayConfig) => { current = config })
  app.reload.register({
    name: 'config',
    prepare: (next, ctx) => {
      if (JSON.stringify(next.shutdown) !== JSON.stringify(startup.shutdown)) ctx.needsRestart('shutdown')
      // Processes are forked at start; a different count or header needs a restart.
      if (JSON.stringify(next.workers) !== JSON.stringify(startup.workers)) ctx.needsRestart('workers')
      // The store is opened before the gateway is built (lib/store/open.ts).
      if (JSON.stringify(next.store) !== JSON.stringify(startup.store)) ctx.needsRestart('store')
      return { commit: () => { current = next }, abort: () => {} }
    }
  })
}

export default fp(configPlugin, { name: 'gateway-config', dependencies: ['gateway-reload'], fastify: '5.x' })
