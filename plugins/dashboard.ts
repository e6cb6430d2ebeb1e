import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { BackendPool } from '../lib/pool.js'
import { DashboardSampler, type Instance } from '../lib/dashboard/sampler.js'
import type { WorkersView } from '../routes/admin-workers.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The live dashboard's data, sampled once a second (routes/dashboard.ts serves it). */
    readonly dashboard: DashboardSampler
  }
}

export interface DashboardPluginOptions {
  /** In the primary of worker processes: their summed counters and their list. */
  workers?: WorkersView
  /** False in a worker process: the primary's admin listener serves the dashboard. */
  sample?: boolean
}

/**
 * The dashboard's sampler (lib/dashboard/sampler.ts), fed by the pools and their events:
 * health, ejection and circuit transitions with their reasons. It samples from onReady to
 * onClose, whether or not a page is open, so a page opened now shows the last 15 minutes.
 *
 * Reload ("dashboard" participant): commit wires the new pools' events; the sampler reads
 * `app.pools` at every tick, so it follows the new pools by itself.
 */
async function dashboardPlugin (app: FastifyInstance, opts: DashboardPluginOptions): Promise<void> {
  const workers = opts.workers
  const fleet = app.fleet
  const instances = fleet === undefined && workers === undefined
    ? undefined
    : async (): Promise<Instance[]> => [
      ...(fleet === undefined ? [] : (await fleet.members()).map((m) => ({ id: m.id, state: `revision ${m.revision}`, detail: `${m.address}, ${m.version}${m.id === fleet.instance ? ' (this one)' : ''}` }))),
      ...(workers === undefined ? [] : workers.list().map((w) => ({ id: `worker ${w.worker}`, state: w.state, detail: `pid ${w.pid ?? '-'}, restarts ${w.restarts}` })))
    ]
  const sampler = new DashboardSampler({
    pools: () => app.pools.values(),
    latency: app.gatewayMetrics.latency,
    revision: () => app.configStore.revision,
    counters: workers === undefined ? undefined : async () => (await workers.counters()).pools,
    instances
  })
  const wire = (pool: BackendPool): void => {
    const pool0 = pool.name
    pool.events.on('health', (e) => { sampler.transition({ at: Date.now(), pool: pool0, backend: e.backend, kind: 'health', to: e.to, reason: e.reason }) })
    pool.events.on('eject', (e) => { sampler.transition({ at: Date.now(), pool: pool0, backend: e.backend, kind: 'eject', to: 'ejected', reason: e.reason }) })
    pool.events.on('return', (e) => { sampler.transition({ at: Date.now(), pool: pool0, backend: e.backend, kind: 'return', to: 'returned', reason: 'ejection ended' }) })
    pool.events.on('circuit', (e) => { sampler.transition({ at: Date.now(), pool: pool0, backend: e.backend, kind: 'circuit', to: `circuit ${e.to}`, reason: e.reason }) })
  }
  for (const pool of app.pools.values()) wire(pool)
  app.decorate('dashboard', sampler)
  app.reload.register({
    name: 'dashboard',
    prepare: (_next, ctx) => {
      const pools = ctx.get('pools')
      return { commit: () => { for (const pool of pools.next.values()) wire(pool) }, abort: () => {} }
    }
  })
  if (opts.sample !== false) app.addHook('onReady', async () => { sampler.start() })
  app.addHook('onClose', async () => { sampler.stop() })
}

export default fp(dashboardPlugin, { name: 'gateway-dashboard', dependencies: ['gateway-config', 'gateway-pools', 'gateway-metrics', 'gateway-reload', 'gateway-store'], fastify: '5.x' })
