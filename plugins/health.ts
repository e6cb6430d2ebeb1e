import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { HealthChecker, type HealthState } from '../lib/health/checker.js'
import type { BackendPool } from '../lib/pool.js'
import { probeFor } from '../lib/health/probes.js'
import { realClock } from '../lib/health/clock.js'
import { createUpstream } from '../lib/upstream.js'
import type { Dispatcher } from 'undici'
import type { Backend } from '../lib/backend.js'
import { backendState } from '../lib/pool/state.js'
import type { PublishedHealth, SharedHealth } from '../lib/store/shared-health.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Active health checkers by pool name (only pools with healthCheck.active). */
    readonly healthCheckers: ReadonlyMap<string, HealthChecker>
  }
}

declare module '../lib/reload/participant.js' {
  interface ReloadProducts {
    /** The checkers of the new pools, by pool name (not started before the commit). */
    healthCheckers: ReadonlyMap<string, HealthChecker>
  }
}

/**
 * Wiring between the health checkers and the pools: a checker only reports transitions; this
 * plugin hands them to the pool (the one owner of backend state) and logs every state change of
 * the pools (health, ejection, circuit, drain, enable/disable, panic mode), each backend's line with the backend's
 * one-word `state` after the change (lib/pool/state.ts; the pool's events carry it, a drain
 * line derives it from the backend). Probing starts when the server is ready and stops on close.
 *
 * Reload ("health" participant): prepare makes a checker for each new pool with active checks;
 * commit stops the old checkers and wires the new pools, each taken-over backend starting from
 * what was known of its health at that moment; the old probe connections close afterwards.
 */
export interface HealthPluginOptions {
  /**
   * False in a worker process: the primary probes for every worker and sends the results
   * (lib/cluster/), so the worker's pools take health from it, never from probes of their own.
   */
  probe?: boolean
  /**
   * In a fleet: who probes which backend of the pools with `healthCheck.active.shared`, and the
   * transitions the other gateways publish (lib/store/shared-health.ts).
   */
  shared?: SharedHealth
}

async function healthPlugin (app: FastifyInstance, opts: HealthPluginOptions): Promise<void> {
  const checkers = new Map<string, HealthChecker>()
  /** Probe connections of pools with maxConnections, by pool and backend id. */
  let probeDispatchers = new Map<string, Dispatcher>()
  let started = false
  /** Listeners on `opts.shared` of the wired pools, removed when their checkers stop. */
  let unsubscribe: Array<() => void> = []

  const checkerFor = (pool: BackendPool): HealthChecker | undefined => {
    const active = pool.config.healthCheck.active
    return active === undefined || opts.probe === false ? undefined : new HealthChecker(active, probeFor(active), { clock: realClock, random: Math.random })
  }

  const wire = (name: string, pool: BackendPool, checker: HealthChecker | undefined): void => {
    const log = app.log.child({ pool: name })
    pool.events.on('health', (e) => { log[e.to === 'healthy' ? 'info' : 'warn'](e, `backend ${e.to}`) })
    pool.events.on('eject', (e) => { log.warn(e, 'backend ejected (outlier)') })
    pool.events.on('return', (e) => { log.info(e, 'backend returned from ejection') })
    pool.events.on('circuit', (e) => { log[e.to === 'open' ? 'warn' : 'info'](e, `circuit ${e.to}`) })
    pool.events.on('draining', (b) => { log.info({ backend: b.id, state: backendState(b) }, 'backend draining') })
    pool.events.on('enabled', (e) => { log.info(e, e.enabled ? 'backend enabled' : 'backend disabled') })
    pool.events.on('panic', (e) => {
      if (e.entered) log.warn(e, 'pool entered panic mode: health is ignored')
      else log.info(e, 'pool left panic mode')
    })
    if (pool.panic) log.warn({ threshold: pool.config.panicThreshold }, 'pool is in panic mode: health is ignored')

    if (checker === undefined) return
    // Probes share a backend's connections, except where maxConnections bounds them: a probe
    // queued behind slow requests would time out and mark a merely busy backend unhealthy.
    const limited = (pool.config.circuitBreaker?.maxConnections ?? 0) > 0
    // Shared checks: this gateway probes only the backends it owns; the others' results come
    // from their probers through etcd. Ownership moves when the fleet's members change.
    const shared = opts.shared !== undefined && pool.config.healthCheck.active?.shared === true ? opts.shared : undefined
    const probed = new Set<string>()
    const probe = (b: Backend, state?: HealthState): void => {
      if (shared !== undefined && !shared.owns(name, b.id)) return
      probed.add(b.id)
      const dispatcher = limited ? createUpstream({ id: b.id, url: b.url, weight: 1, enabled: true, drain: false }, { ...pool.config, circuitBreaker: undefined }) : b.dispatcher
      if (limited) probeDispatchers.set(`${name}\u0000${b.id}`, dispatcher)
      checker.add({ id: b.id, url: b.url, dispatcher }, state)
    }
    // A backend taken over by a reload keeps what was known of its health.
    for (const b of pool.backends) probe(b, b.healthy ? 'healthy' : 'unhealthy')
    // Backends added or removed at run time (admin API) are probed from then on, or no more.
    pool.events.on('added', (b) => { probe(b) })
    pool.events.on('removed', (b) => {
      probed.delete(b.id)
      checker.remove(b.id)
      const key = `${name}\u0000${b.id}`
      void probeDispatchers.get(key)?.close()
      probeDispatchers.delete(key)
    })
    checker.on('transition', (e) => {
      pool.setHealthy(e.backend, e.to === 'healthy', e.reason)
      shared?.publish(name, e.backend, e.to === 'healthy', e.reason)
    })
    if (shared !== undefined) {
      const onOwners = (): void => {
        for (const b of pool.backends) {
          const mine = shared.owns(name, b.id)
          if (mine && !probed.has(b.id)) probe(b, b.healthy ? 'healthy' : 'unhealthy')
          else if (!mine && probed.has(b.id)) { probed.delete(b.id); checker.remove(b.id) }
        }
      }
      const onRemote = (p: string, id: string, h: PublishedHealth): void => {
        if (p !== name || probed.has(id) || pool.find(id) === undefined) return
        pool.setHealthy(id, h.healthy, `${h.reason} (probed by ${h.by})`)
      }
      shared.on('owners', onOwners)
      shared.on('remote', onRemote)
      unsubscribe.push(() => { shared.off('owners', onOwners); shared.off('remote', onRemote) })
    }
    checkers.set(name, checker)
    if (started) checker.start()
  }

  /** Stops every checker; returns the probe connections to close. */
  const stopAll = (): Dispatcher[] => {
    for (const c of checkers.values()) c.stop()
    checkers.clear()
    for (const u of unsubscribe) u()
    unsubscribe = []
    const dispatchers = [...probeDispatchers.values()]
    probeDispatchers = new Map()
    return dispatchers
  }
  const closeAll = async (dispatchers: Dispatcher[]): Promise<void> => {
    await Promise.all(dispatchers.map(async (d) => { await d.close() }))
  }

  for (const [name, pool] of app.pools) wire(name, pool, checkerFor(pool))
  app.decorate('healthCheckers', checkers)

  app.reload.register({
    name: 'health',
    prepare: (_next, ctx) => {
      const { next } = ctx.get('pools')
      const prepared = new Map<string, HealthChecker>()
      for (const [name, pool] of next) {
        const c = checkerFor(pool)
        if (c !== undefined) prepared.set(name, c)
      }
      ctx.provide('healthCheckers', prepared)
      let retired: Dispatcher[] = []
      return {
        commit: () => {
          retired = stopAll()
          for (const [name, pool] of next) wire(name, pool, prepared.get(name))
        },
        // Prepared checkers were never started and hold nothing.
        abort: () => {},
        afterCommit: async () => { await closeAll(retired) }
      }
    }
  })

  app.addHook('onReady', async () => { started = true; for (const c of checkers.values()) c.start() })
  app.addHook('onClose', async () => { started = false; await closeAll(stopAll()) })
}

export default fp(healthPlugin, { name: 'gateway-health', dependencies: ['gateway-pools', 'gateway-reload'], fastify: '5.x' })
