import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createMetrics, type Metrics } from '../lib/metrics/index.js'
import type { BackendPool } from '../lib/pool.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The metrics layer: the recorder the proxy writes to, and the exporters. */
    gatewayMetrics: Metrics
    /** After a reload (and after rewireHealth): subscribes to the current pools and checkers. */
    rewireMetrics: () => void
  }
}

/**
 * Creates the metrics layer and wires the pools' and health checkers' events into it (circuit
 * changes, health transitions, ejections, probe results). The proxy records requests itself.
 */
async function metricsPlugin (app: FastifyInstance): Promise<void> {
  const metrics = createMetrics(app.gatewayConfig.metrics, () => app.pools.values(), app.log)
  const r = metrics.recorder
  const wire = (name: string, pool: BackendPool): void => {
    pool.events.on('circuit', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.circuit(pool, b, e.from, e.to) })
    pool.events.on('health', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.healthTransition(pool, b, e.to) })
    pool.events.on('eject', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.healthTransition(pool, b, 'ejected') })
    pool.events.on('return', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.healthTransition(pool, b, 'returned') })
    pool.events.on('removed', (b) => { metrics.prometheus.backendRemoved(pool, b) })
    app.healthCheckers.get(name)?.on('probe', (e) => { const b = pool.find(e.backend); if (b !== undefined) r.healthCheck(pool, b, e.ok) })
  }
  for (const [name, pool] of app.pools) wire(name, pool)
  app.decorate('rewireMetrics', () => { for (const [name, pool] of app.pools) wire(name, pool) })
  app.decorate('gatewayMetrics', metrics)
  app.addHook('onClose', async () => { await metrics.recorder.close() })
}

export default fp(metricsPlugin, { name: 'gateway-metrics', dependencies: ['gateway-config', 'gateway-pools', 'gateway-health'], fastify: '5.x' })
