import type { FastifyInstance } from 'fastify'
import type { BackendPool } from '../pool.js'
import type { PreparedReload } from '../reload/coordinator.js'
import { ConfigError } from '../config/issues.js'
import { applyShared, countersOf } from './pool-sync.js'
import type { FromWorker, ToWorker } from './messages.js'
import type { MetricsJson } from './metrics.js'
import type { RemoteRateStore } from './rate-store.js'

/**
 * A worker's side of the control channel (docs/workers.md), once its gateway is built and
 * listening: it follows the primary's pool view (sync), takes part in reloads in two steps
 * (prepare, then commit or abort, never on its own), and reports its counters. Its gateway
 * runs no active health checks and no admin server: the primary does both for all workers.
 */
export class WorkerAgent {
  private readonly prepared = new Map<number, PreparedReload>()
  private readonly watched = new WeakSet<BackendPool>()
  /** Set while a relayed trip opens a circuit, so that opening is not reported back. */
  private tripping = false

  constructor (private readonly app: FastifyInstance, private readonly send: (m: FromWorker) => void, private readonly rates: RemoteRateStore) {
    this.watchPools()
  }

  /** Reports each pool's outlier verdicts to the primary (pools made by a reload included). */
  private watchPools (): void {
    for (const pool of this.app.pools.values()) {
      if (this.watched.has(pool)) continue
      this.watched.add(pool)
      pool.events.on('outlier', (e) => { this.send({ t: 'outlier', pool: pool.name, backend: e.backend, reason: e.reason }) })
      pool.events.on('circuit', (e) => {
        if (e.to === 'open' && !this.tripping) this.send({ t: 'circuit', pool: pool.name, backend: e.backend, reason: e.reason })
      })
    }
  }

  async handle (m: ToWorker): Promise<void> {
    switch (m.t) {
      case 'sync': {
        const pool = this.app.pools.get(m.pool)
        if (pool !== undefined) applyShared(pool, m.backends, (err) => { this.app.log.error({ err, pool: m.pool }, 'removing a backend failed') })
        return
      }
      case 'prepare': {
        try {
          const p = await this.app.reload.prepare(m.config)
          this.prepared.set(m.id, p)
          this.send({ t: 'prepared', id: m.id, ok: true, needsRestart: [...p.needsRestart] })
        } catch (err) {
          const e = err as Error
          this.send({ t: 'prepared', id: m.id, ok: false, message: e.message, issues: err instanceof ConfigError ? err.issues : undefined })
        }
        return
      }
      case 'commit':
      case 'abort': {
        const p = this.prepared.get(m.id)
        this.prepared.delete(m.id)
        try {
          if (m.t === 'commit') await p?.commit()
          else await p?.abort()
          this.watchPools()
        } catch (err) {
          this.app.log.error({ err }, `reload ${m.t} failed in this worker`)
        }
        this.send({ t: 'settled', id: m.id })
        return
      }
      case 'counters':
        this.send({ t: 'counters', id: m.id, pools: countersOf(this.app.pools.values()), served: this.app.traffic.served() })
        break
      case 'metrics':
        this.send({ t: 'metrics', id: m.id, json: await this.app.gatewayMetrics.prometheus.registry.getMetricsAsJSON() as MetricsJson })
        break
      case 'trip':
        this.tripping = true
        try {
          this.app.pools.get(m.pool)?.tripCircuit(m.backend, m.reason)
        } finally {
          this.tripping = false
        }
        break
      case 'rate':
        this.rates.settle(m)
        break
      case 'start':
      case 'shutdown':
        break
    }
  }
}
