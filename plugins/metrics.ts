import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createMetrics, type Metrics } from '../lib/metrics/index.js'
import type { BackendPool } from '../lib/pool.js'
import type { HealthChecker } from '../lib/health/checker.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The metrics layer: the recorder the proxy writes to, and the exporters. */
    readonly gatewayMetrics: Metrics
  }
}

/**
 * Creates the metrics layer and wires the pools' and health checkers' events into it (circuit
 * changes, health transitions, ejections, probe results). The proxy records requests itself.
 *
 * Reload ("metrics" participant): commit wires the new pools and checkers and drops the series
 * of backends no new pool took over, so ids that come and go cannot grow the output without
 * bound. The exporters are built once: a changed `metrics` section needs a restart.
 */
async function metricsPlugin (app: FastifyInstance): Promise<void> {
  const built = app.gatewayConfig.metrics
  const metrics = createMetrics(built, () => app.pools.values(), app.log)
  const r = metrics.recorder
  const wire = (pool: BackendPool, checker: HealthChecker | undefined): void => {
    pool.events.on('circuit', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.circuit(pool, b, e.from, e.to) })
    pool.events.on('health', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.healthTransition(pool, b, e.to) })
    pool.events.on('eject', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.healthTransition(pool, b, 'ejected') })
    pool.events.on('return', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.healthTransition(pool, b, 'returned') })
    pool.events.on('removed', (b) => { metrics.prometheus.backendRemoved(pool, b) })
    checker?.on('probe', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.healthCheck(pool, b, e.ok) })
  }
  for (const [name, pool] of app.pools) wire(pool, app.healthCheckers.get(name))
  app.decorate('gatewayMetrics', metrics)

  app.reload.register({
    name: 'metrics',
    prepare: (next, ctx) => {
      if (JSON.stringify(next.metrics) !== JSON.stringify(built)) ctx.needsRestart('metrics')
      const pools = ctx.get('pools')
      const checkers = ctx.get('healthCheckers')
      return {
        commit: () => {
          for (const { pool, backend } of pools.leaving()) metrics.prometheus.backendRemoved(pool, backend)
          for (const [name, pool] of pools.next) wire(pool, checkers.get(name))
        },
        abort: () => {}
      }
    }
  })
  app.addHook('onClose', async () => { await metrics.recorder.close() })
}

export default fp(metricsPlugin, { name: 'gateway-metrics', dependencies: ['gateway-config', 'gateway-pools', 'gateway-health', 'gateway-reload'], fastify: '5.x' })
