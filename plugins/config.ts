import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig } from '../lib/config/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated, normalised config this instance was built from. */
    gatewayConfig: GatewayConfig
  }
}

export interface ConfigPluginOptions {
  config: GatewayConfig
}

/** Provides the loaded config to every other gateway plugin. Loading and validation happen before. */
async function configPlugin (app: FastifyInstance, opts: ConfigPluginOptions): Promise<void> {
  app.decorate('gatewayConfig', opts.config)
}

export default fp(configPlugin, { name: 'gateway-config', fastify: '5.x' })
