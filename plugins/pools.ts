import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { BackendPool, type PoolDeps } from '../lib/pool.js'
import type { Backend } from '../lib/backend.js'
import { createUpstream } from '../lib/upstream.js'
import { buildSuccessors } from '../lib/reload/pool-takeover.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every pool by name; each owns its backends' state. The map itself changes only on reload. */
    readonly pools: ReadonlyMap<string, BackendPool>
  }
}

/** The "pools" participant's product: the new pools, and those they replace. */
export interface PreparedPools {
  readonly next: ReadonlyMap<string, BackendPool>
  readonly previous: ReadonlyMap<string, BackendPool>
  /** Backends of the previous pools that no new pool took over (they retire after the commit). */
  leaving: () => Array<{ pool: BackendPool, backend: Backend }>
}

declare module '../lib/reload/participant.js' {
  interface ReloadProducts {
    pools: PreparedPools
  }
}

export interface PoolsPluginOptions {
  /** Overrides for tests (seeded random, fake upstreams), and the custom algorithms loaded (app.ts). */
  deps?: Partial<PoolDeps>
}

/**
 * Builds the backend pools from the config. Upstream connections close in onClose, which Fastify
 * runs after the listener has stopped and in-flight requests have finished.
 *
 * Reload ("pools" participant): prepare builds the new pools, taking over surviving backends
 * with their state, without touching what the running pools serve with
 * (lib/reload/pool-takeover.ts); commit puts them in this plugin's map; afterwards the old
 * pools retire the backends nobody took over (drain, then close).
 */
async function poolsPlugin (app: FastifyInstance, opts: PoolsPluginOptions): Promise<void> {
  const deps: PoolDeps = { createUpstream, ...opts.deps }
  const pools = new Map<string, BackendPool>()
  for (const [name, cfg] of Object.entries(app.gatewayConfig.pools)) pools.set(name, new BackendPool(cfg, deps))
  app.decorate('pools', pools)

  app.reload.register({
    name: 'pools',
    prepare: (next, ctx) => {
      const previous = new Map(pools)
      const successors = buildSuccessors(next.pools, { ...deps, customAlgorithms: ctx.modules.algorithms }, previous)
      const leaving = (): Array<{ pool: BackendPool, backend: Backend }> =>
        [...previous.values()].flatMap((pool) => pool.backends.filter((b) => !successors.takenOver(b)).map((backend) => ({ pool, backend })))
      ctx.provide('pools', { next: successors.pools, previous, leaving })
      return {
        commit: () => {
          successors.commit()
          pools.clear()
          for (const [name, pool] of successors.pools) pools.set(name, pool)
        },
        abort: successors.abort,
        afterCommit: () => {
          // Requests in flight on a leaving backend finish; then its connections close.
          for (const pool of previous.values()) pool.retireExcept(new Set(pool.backends.filter((b) => successors.takenOver(b))))
        }
      }
    }
  })

  app.addHook('onClose', async () => {
    await Promise.all([...pools.values()].map((p) => p.close()))
  })
}

export default fp(poolsPlugin, { name: 'gateway-pools', dependencies: ['gateway-config', 'gateway-reload'], fastify: '5.x' })
