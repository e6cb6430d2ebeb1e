import { EventEmitter } from 'node:events'
import type { Dispatcher } from 'undici'
import type { BackendConfig, PoolConfig } from './config/types.js'
import type { Algorithm, KeySource, Outcome, SelectionContext } from '../algorithms/types.js'
import { algorithms } from '../algorithms/index.js'
import type { AnyAlgorithmDefinition } from '../algorithms/index.js'
import { Backend } from './backend.js'
import { CircuitBreaker, type CircuitState } from './resilience/breaker.js'
import { OutlierDetector } from './health/outlier.js'
import { realClock, type Clock } from './health/clock.js'
import { RetryPolicy } from './resilience/retry-policy.js'

export interface PoolDeps {
  /** Makes the upstream connection pool for a backend (tests may inject their own). */
  createUpstream: (backend: BackendConfig, pool: PoolConfig) => Dispatcher
  random?: () => number
  /** Clock for slow start, breakers and ejections; default the real one. */
  clock?: Clock
  /** Custom algorithm definitions by module path (lib/config/modules.ts loadModules). */
  customAlgorithms?: ReadonlyMap<string, AnyAlgorithmDefinition>
}

/** What a finished attempt tells the pool besides the algorithm's Outcome. */
export interface AttemptResult extends Outcome {
  /** The backend's status, 0 when it did not answer. */
  status: number
  /** Why it failed, when it did (connect, timeout, reset, status, …). */
  reason: string | undefined
}

export interface PoolEvents {
  /** A backend joined at run time (admin API). */
  added: [Backend]
  /** A backend left (after draining). */
  removed: [Backend]
  health: [{ backend: string, from: string, to: string, reason: string }]
  eject: [{ backend: string, until: number, duration: number, ejections: number, reason: string }]
  return: [{ backend: string }]
  circuit: [{ backend: string, from: CircuitState, to: CircuitState, reason: string }]
  /** A backend stopped taking new work (drain, removal, reload): long-lived connections to it should wind down. */
  draining: [Backend]
}

/** Long-lived connections the pool counts per backend. */
export type ConnectionKind = 'websocket' | 'tcp'

export interface BackendSnapshot {
  id: string
  url: string
  weight: number
  /** Below `weight` while the backend is in slow start. */
  effectiveWeight: number
  ready: boolean
  healthy: boolean
  ejected: boolean
  enabled: boolean
  draining: boolean
  circuit: CircuitState | 'none'
  inFlight: number
  /** Open WebSocket and TCP connections (part of inFlight). */
  websockets: number
  tcpConnections: number
  requests: number
  errors: number
}

/**
 * The owner of a pool's backends and all their state. The proxy asks it for a backend with
 * acquire() and must hand the backend back with release() exactly once per acquire; the proxy's
 * single finish path guarantees that, so in-flight counts cannot leak.
 *
 * Health checks report through setHealthy(); passive ejection and circuit breakers are fed by
 * release(). State changes are emitted (`events`) for logs and metrics; nothing else writes state.
 */
export class BackendPool {
  readonly name: string
  readonly config: PoolConfig
  /** Which part of a request the algorithm needs as its key; undefined for none. */
  readonly keySource: KeySource | undefined
  readonly events = new EventEmitter<PoolEvents>()
  /** Retry rules and budget shared by this pool's requests. */
  readonly retry: RetryPolicy
  private list: Backend[]
  private readonly algorithm: Algorithm<Backend>
  private readonly clock: Clock
  private readonly deps: PoolDeps
  private readonly outliers: OutlierDetector | undefined
  /** Ready fraction under which health is ignored (panic mode); 0: never. */
  private readonly panicBelow: number

  /**
   * `previous` (a reload): backends with the same id and URL, under unchanged connection
   * settings (timeouts, TLS, maxConnections), are taken over with their state (health, circuit,
   * counters, in-flight requests and open connections); the caller retires the rest with
   * `retireExcept()` on the previous pool.
   */
  constructor (config: PoolConfig, deps: PoolDeps, previous?: BackendPool) {
    this.name = config.name
    this.config = config
    this.clock = deps.clock ?? realClock
    this.deps = deps
    const now = (): number => this.clock.now()
    const { name, module, options } = config.algorithm
    const def = module !== undefined ? deps.customAlgorithms?.get(module) : algorithms[name]
    if (def === undefined) throw new Error(`algorithm "${name}" is not loaded`)
    // An unchanged algorithm config keeps its instance across a reload, so what it learned
    // (latency estimates, rotation) survives; update() below gives it the new list.
    const sameAlgorithm = previous !== undefined && JSON.stringify(previous.config.algorithm) === JSON.stringify(config.algorithm)
    this.algorithm = sameAlgorithm ? previous.algorithm : def.create<Backend>(options, { random: deps.random ?? Math.random, now })
    this.keySource = def.key?.(options)
    this.panicBelow = config.panicThreshold / 100
    this.retry = new RetryPolicy(config.retry, now, deps.random ?? Math.random)
    const initiallyHealthy = config.healthCheck.active?.initialState !== 'unhealthy'
    const sameConnections = previous !== undefined && connectionSettings(previous.config) === connectionSettings(config)
    this.list = config.backends.map((b) => {
      const old = sameConnections ? previous.find(b.id) : undefined
      if (old !== undefined && old.url === b.url) {
        old.configWeight = b.weight
        // Ejection belonged to the previous pool's outlier detector; the new one starts fresh.
        old.ejected = false
        // The file is the source of truth: API drains and disables do not outlive a reload.
        old.enabled = true
        old.draining = false
        if (JSON.stringify(previous!.config.circuitBreaker) !== JSON.stringify(config.circuitBreaker)) {
          old.breaker = undefined
          old.maxInFlight = 0
          this.attachLimits(old)
        }
        return old
      }
      const backend = new Backend(b, deps.createUpstream(b, config), now)
      backend.healthy = initiallyHealthy
      this.attachLimits(backend)
      return backend
    })
    const passive = config.healthCheck.passive
    if (passive !== undefined) {
      this.outliers = new OutlierDetector(passive, { clock: this.clock, poolSize: () => this.list.length })
      this.outliers.on('eject', (e) => {
        const b = this.find(e.backend)
        if (b !== undefined) b.ejected = true
        this.events.emit('eject', e)
      })
      this.outliers.on('return', (e) => {
        const b = this.find(e.backend)
        if (b === undefined) return
        b.ejected = false
        this.startSlowStart(b)
        this.events.emit('return', { backend: e.backend })
      })
    }
    this.algorithm.update(this.list)
  }

  get backends (): readonly Backend[] {
    return this.list
  }

  find (id: string): Backend | undefined {
    return this.list.find((b) => b.id === id)
  }

  /**
   * A usable backend chosen by the algorithm, already counted as in flight; undefined if none.
   * `exclude` lists backends already tried by this request (retries go elsewhere when they can).
   */
  acquire (ctx: SelectionContext, exclude?: readonly Backend[]): Backend | undefined {
    const usable = this.usablePredicate(exclude)
    let b = this.algorithm.pick(ctx, usable)
    // A retry may go back to a tried backend only when nothing else is usable.
    if (b === undefined && exclude !== undefined && exclude.length > 0) b = this.algorithm.pick(ctx, this.usablePredicate(undefined))
    if (b !== undefined) {
      b.inFlight++
      b.requests++
      b.breaker?.onDispatch()
    }
    return b
  }

  /**
   * The one release path: ends the in-flight count taken by acquire() and records the outcome.
   * An abandoned attempt (the client went away first) says nothing about the backend: only its
   * in-flight count and a half-open trial slot are given back.
   */
  release (b: Backend, result: AttemptResult | undefined): void {
    b.inFlight--
    if (b.inFlight === 0 && b.draining) settleDrain(b)
    if (result === undefined) return
    if (result.reason === 'abandoned') {
      b.breaker?.abandon()
      return
    }
    this.record(b, result)
  }

  /**
   * The outcome of an acquire whose in-flight count is kept (a connection that was established
   * and stays open): feeds the breaker, outlier detection and the algorithm. release(b,
   * undefined) gives the count back later.
   */
  record (b: Backend, result: AttemptResult): void {
    if (!result.ok) b.errors++
    b.breaker?.record(result.ok)
    // Outlier detection applies its own failure statuses; here only transport failures are !ok.
    this.outliers?.record(b.id, { ok: result.reason === undefined || result.reason === 'status', status: result.status, reason: result.reason })
    this.algorithm.observe?.(b, result)
  }

  /**
   * A long-lived connection to `b` (taken with acquire()) was established after `latencyMs`:
   * the success is recorded now and the connection stays counted in flight until disconnected().
   */
  connected (b: Backend, kind: ConnectionKind, latencyMs: number): void {
    if (kind === 'websocket') b.websockets++
    else b.tcpConnections++
    this.record(b, { ok: true, latencyMs, inFlight: b.inFlight, status: 0, reason: undefined })
  }

  /** A connection counted by connected() closed. */
  disconnected (b: Backend, kind: ConnectionKind): void {
    if (kind === 'websocket') b.websockets--
    else b.tcpConnections--
    this.release(b, undefined)
  }

  /** Whether some backend other than those in `tried` could take a request now. */
  hasUsableBesides (tried: readonly Backend[]): boolean {
    const usable = this.usablePredicate(tried)
    for (const b of this.list) if (usable(b)) return true
    return false
  }

  /** Whether the algorithm pins clients (sticky sessions) and so may add a Set-Cookie. */
  get hasAffinity (): boolean {
    return this.algorithm.affinity !== undefined
  }

  /** Sticky sessions: the Set-Cookie value the answer must carry, if any. */
  affinity (ctx: SelectionContext, b: Backend): string | undefined {
    return this.algorithm.affinity?.(ctx, b)
  }

  /** Active health checks report here. A backend turning healthy starts its slow start. */
  setHealthy (id: string, healthy: boolean, reason: string): void {
    const b = this.find(id)
    if (b === undefined || b.healthy === healthy) return
    b.healthy = healthy
    if (healthy) this.startSlowStart(b)
    this.events.emit('health', { backend: id, from: healthy ? 'unhealthy' : 'healthy', to: healthy ? 'healthy' : 'unhealthy', reason })
  }

  /** Enables or disables a backend by id; false when the pool has no such backend. */
  setEnabled (id: string, enabled: boolean): boolean {
    const b = this.find(id)
    if (b === undefined) return false
    if (enabled && !b.enabled) this.startSlowStart(b)
    b.enabled = enabled
    return true
  }

  /**
   * Adds a backend at run time. It takes traffic at once, or, when the pool has active health
   * checks, after its first passing probes (the health plugin starts probing it on 'added').
   * Its weight ramps up when the pool has slowStart. Throws if the id is taken.
   */
  addBackend (cfg: BackendConfig): Backend {
    if (this.find(cfg.id) !== undefined) throw new Error(`backend "${cfg.id}" already exists in pool "${this.name}"`)
    const b = new Backend(cfg, this.deps.createUpstream(cfg, this.config), () => this.clock.now())
    b.healthy = this.config.healthCheck.active === undefined
    this.attachLimits(b)
    this.startSlowStart(b)
    this.list = [...this.list, b]
    this.algorithm.update(this.list)
    this.events.emit('added', b)
    return b
  }

  /** Changes a backend's configured weight; false when there is no such backend. */
  setWeight (id: string, weight: number): boolean {
    const b = this.find(id)
    if (b === undefined) return false
    b.configWeight = weight
    this.algorithm.update(this.list)
    return true
  }

  /**
   * Stops new requests to a backend; those in flight finish. Resolves once none is left.
   * Undefined when there is no such backend.
   */
  drain (id: string): Promise<void> | undefined {
    const b = this.find(id)
    if (b === undefined) return undefined
    return this.drainBackend(b)
  }

  private drainBackend (b: Backend): Promise<void> {
    const was = b.draining
    b.draining = true
    if (!was) this.events.emit('draining', b)
    if (b.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => { (b.drainWaiters ??= []).push(resolve) })
  }

  /** Drains a backend, then removes it and closes its connections. False when there is none. */
  async removeBackend (id: string): Promise<boolean> {
    const b = this.find(id)
    if (b === undefined) return false
    await this.drain(id)
    if (!this.list.includes(b)) return true // removed meanwhile by another call
    this.list = this.list.filter((x) => x !== b)
    this.algorithm.update(this.list)
    this.outliers?.remove(id)
    this.events.emit('removed', b)
    await b.dispatcher.close()
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
      weight: b.configWeight,
      effectiveWeight: b.weight,
      ready: b.ready,
      healthy: b.healthy,
      ejected: b.ejected,
      enabled: b.enabled,
      draining: b.draining,
      circuit: b.breaker?.state ?? 'none',
      inFlight: b.inFlight,
      websockets: b.websockets,
      tcpConnections: b.tcpConnections,
      requests: b.requests,
      errors: b.errors
    }))
  }

  /**
   * After a reload: backends of this (old) pool that `kept` does not hold drain, then close
   * their connections; this pool's timers stop. Requests in flight are not interrupted.
   */
  retireExcept (kept: ReadonlySet<Backend>): void {
    this.outliers?.stop()
    for (const b of this.list) {
      if (kept.has(b)) continue
      void this.drainBackend(b).then(async () => { await b.dispatcher.close() })
    }
  }

  /** Closes upstream connections once their in-flight requests have finished; stops timers. */
  async close (): Promise<void> {
    this.outliers?.stop()
    await Promise.all(this.list.map((b) => b.dispatcher.close()))
  }

  /**
   * Which backends a request may use. Normally `ready`; in panic mode (fewer than
   * panicThreshold percent of the pool healthy) health, ejection and circuits are ignored and
   * every enabled, non-draining backend under its limit is used, rather than overloading the
   * few survivors.
   */
  private usablePredicate (exclude: readonly Backend[] | undefined): (b: Backend) => boolean {
    const panic = this.panicBelow > 0 && this.healthyCount() < this.panicBelow * this.list.length
    const base = panic ? isServing : isReady
    if (exclude === undefined || exclude.length === 0) return base
    return (b) => base(b) && !exclude.includes(b)
  }

  private healthyCount (): number {
    let n = 0
    for (const b of this.list) if (b.healthy && !b.ejected) n++
    return n
  }

  private attachLimits (b: Backend): void {
    const cb = this.config.circuitBreaker
    if (cb === undefined) return
    b.breaker = new CircuitBreaker(cb, {
      now: () => this.clock.now(),
      onChange: (from, to, reason) => { this.events.emit('circuit', { backend: b.id, from, to, reason }) }
    })
    if (cb.maxConnections > 0) b.maxInFlight = cb.maxConnections + cb.maxPendingRequests
  }

  /**
   * Starts a backend's slow start (when the pool has one): called when it is added at run time or
   * comes back (enabled, healthy, returned from ejection). Backends present at startup take their
   * full share at once.
   */
  private startSlowStart (b: Backend): void {
    const ms = this.config.slowStart
    if (ms <= 0) return
    b.rampMs = ms
    b.rampEnd = this.clock.now() + ms
  }
}

/** What the upstream connection pools were built from: a change needs new connections. */
function connectionSettings (c: PoolConfig): string {
  return JSON.stringify([c.timeouts, c.tls, c.circuitBreaker?.maxConnections ?? 0])
}

function settleDrain (b: Backend): void {
  const waiting = b.drainWaiters
  if (waiting === undefined) return
  b.drainWaiters = undefined
  for (const resolve of waiting) resolve()
}

const isReady = (b: Backend): boolean => b.ready
const isServing = (b: Backend): boolean => b.enabled && !b.draining && (b.maxInFlight === 0 || b.inFlight < b.maxInFlight)
