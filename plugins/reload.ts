import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig } from '../lib/config/types.js'
import { BackendPool, type PoolDeps } from '../lib/pool.js'
import { compileRoutes, type Router } from '../lib/router.js'
import type { TcpChange } from '../lib/tcp/listeners.js'
import { createUpstream } from '../lib/upstream.js'
import { loadAlgorithmModules, loadPluginModules } from '../lib/config/modules.js'
import type { Backend } from '../lib/backend.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Applies a validated config without a restart. Throws (ConfigError) before changing
     * anything when a custom algorithm module fails; otherwise the switch is atomic.
     */
    reloadConfig: (next: GatewayConfig) => Promise<ReloadSummary>
  }
}

export interface ReloadSummary {
  pools: string[]
  /** Sections that differ but only take effect after a restart. */
  needsRestart: string[]
}

/** Sections a running gateway cannot change in place (the admin listener, exporters, shutdown). */
const RESTART_ONLY = ['admin', 'metrics', 'shutdown'] as const

/**
 * Hot reload. New pools are built from the new config, taking over every backend that keeps
 * its id, URL and connection settings (with its health, circuit, counters, in-flight requests
 * and open connections); the routes are recompiled; then pools, routes and access-log settings
 * are switched in one synchronous step. Backends that left drain and close; requests in flight
 * keep the objects they hold, so none is dropped. Health checks and metrics are rewired to the
 * new pools; tcp listeners follow the tcp section; middleware plugins and rate limiting get a
 * new traffic generation (plugins/traffic.ts). Changes to listen, admin, metrics or shutdown
 * are reported as needing a restart.
 */
async function reloadPlugin (app: FastifyInstance, opts: { deps?: Partial<PoolDeps> }): Promise<void> {
  const deps: PoolDeps = { createUpstream, ...opts.deps }
  let running = Promise.resolve()

  const apply = async (next: GatewayConfig): Promise<ReloadSummary> => {
    await loadAlgorithmModules(next)
    // Plugin modules are imported afresh (new code is picked up) and a new traffic generation
    // with them is made ready now; a plugin that fails to load or register fails the reload.
    let traffic: { commit: () => void, abort: () => void } | undefined
    if (app.traffic.needsRebuild(next)) {
      await loadPluginModules(next)
      traffic = await app.traffic.prepare(next)
    }
    // New listener addresses are bound next, before the pools are built (building takes over
    // surviving backends and resets their flags): an address that cannot be bound, or a pool
    // that cannot be built, fails the reload with nothing changed.
    const before = app.gatewayConfig
    const listenChanged = JSON.stringify(before.listen) !== JSON.stringify(next.listen)
    let relisten: { commit: () => void, abort: () => void } | undefined
    let tcp: TcpChange | undefined
    let built: Map<string, BackendPool>
    let router: Router
    const previous = new Map(app.pools)
    try {
      if (listenChanged) relisten = await app.traffic.relisten(next.listen)
      tcp = await app.tcpListeners.prepare(next.tcp)
      built = new Map<string, BackendPool>()
      for (const [name, cfg] of Object.entries(next.pools)) built.set(name, new BackendPool(cfg, deps, previous.get(name)))
      router = compileRoutes(next.routes, built)
    } catch (err) {
      traffic?.abort()
      relisten?.abort()
      await tcp?.abort()
      throw err
    }

    // The switch: no await from here to the end of the block.
    const pools = app.pools as Map<string, BackendPool>
    pools.clear()
    for (const [name, pool] of built) pools.set(name, pool)
    app.proxy.swap(router, next.log.access, next.log.accessSample)
    tcp.commit(built)
    traffic?.commit()
    app.log.level = next.log.level
    relisten?.commit()
    ;(app as { gatewayConfig: GatewayConfig }).gatewayConfig = next

    for (const [name, old] of previous) {
      const kept = new Set<Backend>(built.get(name)?.backends ?? [])
      for (const b of old.backends) if (!kept.has(b)) app.gatewayMetrics.prometheus.backendRemoved(old, b)
      old.retireExcept(kept)
    }
    app.rewireConnections()
    await app.rewireHealth()
    app.rewireMetrics()
    const needsRestart: string[] = RESTART_ONLY.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(next[k]))
    // The proxy reads trustProxy once, when it is built.
    if (before.listen.trustProxy !== next.listen.trustProxy) needsRestart.push('listen.trustProxy')
    app.log.info({ pools: [...built.keys()], needsRestart }, 'config reloaded')
    return { pools: [...built.keys()], needsRestart: [...needsRestart] }
  }

  // Reloads run one at a time, in the order they were asked for.
  app.decorate('reloadConfig', async (next: GatewayConfig) => {
    const result = running.then(async () => await apply(next))
    running = result.then(() => {}, () => {})
    return await result
  })
}

export default fp(reloadPlugin, {
  name: 'gateway-reload',
  dependencies: ['gateway-config', 'gateway-pools', 'gateway-health', 'gateway-metrics', 'gateway-proxy', 'gateway-connections', 'gateway-traffic'],
  fastify: '5.x'
})
