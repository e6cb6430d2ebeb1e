import type { Dispatcher } from 'undici'
import type { BackendConfig, PoolConfig } from './config/types.js'
import type { Algorithm, KeySource, Outcome, SelectionContext } from '../algorithms/types.js'
import { algorithms } from '../algorithms/index.js'
import { customAlgorithm } from './config/modules.js'
import { Backend } from './backend.js'

export interface PoolDeps {
  /** Makes the upstream connection pool for a backend (tests may inject their own). */
  createUpstream: (backend: BackendConfig, pool: PoolConfig) => Dispatcher
  random?: () => number
  /** Monotonic clock in ms; default performance.now. */
  now?: () => number
}

export interface BackendSnapshot {
  id: string
  url: string
  weight: number
  /** Below `weight` while the backend is in slow start. */
  effectiveWeight: number
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
  /** Which part of a request the algorithm needs as its key; undefined for none. */
  readonly keySource: KeySource | undefined
  private list: Backend[]
  private readonly algorithm: Algorithm<Backend>
  private readonly now: () => number

  constructor (config: PoolConfig, deps: PoolDeps) {
    this.name = config.name
    this.config = config
    this.now = deps.now ?? (() => performance.now())
    const { name, module, options } = config.algorithm
    const def = module !== undefined ? customAlgorithm(module) : algorithms[name]
    if (def === undefined) throw new Error(`algorithm "${name}" is not loaded`)
    this.algorithm = def.create<Backend>(options, { random: deps.random ?? Math.random, now: this.now })
    this.keySource = def.key?.(options)
    this.list = config.backends.map((b) => new Backend(b, deps.createUpstream(b, config), this.now))
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
  release (b: Backend, outcome: Outcome): void {
    b.inFlight--
    if (!outcome.ok) b.errors++
    this.algorithm.observe?.(b, outcome)
  }

  /** Sticky sessions: the Set-Cookie value the answer must carry, if any. */
  affinity (ctx: SelectionContext, b: Backend): string | undefined {
    return this.algorithm.affinity?.(ctx, b)
  }

  /** Enables or disables a backend by id; false when the pool has no such backend. */
  setEnabled (id: string, enabled: boolean): boolean {
    const b = this.list.find((x) => x.id === id)
    if (b === undefined) return false
    if (enabled && !b.enabled) this.startSlowStart(b)
    b.enabled = enabled
    return true
  }

  /**
   * Starts a backend's slow start (when the pool has one): called when it is added at run time or
   * comes back (enabled, healthy). Backends present at startup take their full share at once.
   */
  private startSlowStart (b: Backend): void {
    const ms = this.config.slowStart
    if (ms <= 0) return
    b.rampMs = ms
    b.rampEnd = this.now() + ms
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
      weight: b.configWeight,
      effectiveWeight: b.weight,
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
