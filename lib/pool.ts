import type { Dispatcher } from 'undici'
import type { BackendConfig, PoolConfig } from './config/types.js'
import type { Algorithm, SelectionContext } from '../algorithms/types.js'
import { algorithms } from '../algorithms/index.js'
import { Backend } from './backend.js'

export interface PoolDeps {
  /** Makes the upstream connection pool for a backend (tests may inject their own). */
  createUpstream: (backend: BackendConfig, pool: PoolConfig) => Dispatcher
  random?: () => number
}

export interface BackendSnapshot {
  id: string
  url: string
  weight: number
  ready: boolean
  healthy: boolean
  enabled: boolean
  draining: boolean
  inFlight: number
  requests: number
  errors: number
}

const isReady = (b: Backend): boolean => b.ready

/**
 * The owner of a pool's backends and all their state. The proxy asks it for a backend with
 * acquire() and must hand the backend back with release() exactly once per acquire; the proxy's
 * single finish path guarantees that, so in-flight counts cannot leak.
 */
export class BackendPool {
  readonly name: string
  readonly config: PoolConfig
  private list: Backend[]
  private readonly algorithm: Algorithm<Backend>

  constructor (config: PoolConfig, deps: PoolDeps) {
    this.name = config.name
    this.config = config
    const factory = algorithms[config.algorithm.name]
    if (factory === undefined) throw new Error(`unknown algorithm "${config.algorithm.name}"`)
    this.algorithm = factory<Backend>(config.algorithm.options, { random: deps.random ?? Math.random })
    this.list = config.backends.map((b) => new Backend(b, deps.createUpstream(b, config)))
    this.algorithm.update(this.list)
  }

  get backends (): readonly Backend[] {
    return this.list
  }

  /** A ready backend chosen by the algorithm, already counted as in flight; undefined if none. */
  acquire (ctx: SelectionContext): Backend | undefined {
    const b = this.algorithm.pick(ctx, isReady)
    if (b !== undefined) {
      b.inFlight++
      b.requests++
    }
    return b
  }

  /** The one release path: ends the in-flight count taken by acquire() and records the outcome. */
  release (b: Backend, ok: boolean, latencyMs: number): void {
    b.inFlight--
    if (!ok) b.errors++
    this.algorithm.observe?.(b, { ok, latencyMs })
  }

  /** Enables or disables a backend by id; false when the pool has no such backend. */
  setEnabled (id: string, enabled: boolean): boolean {
    const b = this.list.find((x) => x.id === id)
    if (b === undefined) return false
    b.enabled = enabled
    return true
  }

  readyCount (): number {
    let n = 0
    for (const b of this.list) if (b.ready) n++
    return n
  }

  snapshot (): BackendSnapshot[] {
    return this.list.map((b) => ({
      id: b.id,
      url: b.url,
      weight: b.weight,
      ready: b.ready,
      healthy: b.healthy,
      enabled: b.enabled,
      draining: b.draining,
      inFlight: b.inFlight,
      requests: b.requests,
      errors: b.errors
    }))
  }

  /** Closes upstream connections once their in-flight requests have finished. */
  async close (): Promise<void> {
    await Promise.all(this.list.map((b) => b.dispatcher.close()))
  }
}
