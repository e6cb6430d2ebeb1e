import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { BackendPool, type PoolDeps } from '../lib/pool.js'
import { createUpstream } from '../lib/upstream.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every pool by name; each owns its backends' state. */
    pools: ReadonlyMap<string, BackendPool>
  }
}

export interface PoolsPluginOptions {
  /** Overrides for tests (seeded random, fake upstreams). */
  deps?: Partial<PoolDeps>
}

/**
 * Builds the backend pools from the config. Upstream connections close in onClose, which Fastify
 * runs after the listener has stopped and in-flight requests have finished.
 */
async function poolsPlugin (app: FastifyInstance, opts: PoolsPluginOptions): Promise<void> {
  const deps: PoolDeps = { createUpstream, ...opts.deps }
  const pools = new Map<string, BackendPool>()
  for (const [name, cfg] of Object.entries(app.gatewayConfig.pools)) pools.set(name, new BackendPool(cfg, deps))
  app.decorate('pools', pools)
  app.addHook('onClose', async () => {
    await Promise.all([...pools.values()].map((p) => p.close()))
  })
}

export default fp(poolsPlugin, { name: 'gateway-pools', dependencies: ['gateway-config'], fastify: '5.x' })
