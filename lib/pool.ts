import { EventEmitter } from 'node:events'
import type { Dispatcher } from 'undici'
import type { BackendConfig, PoolConfig } from './config/types.js'
import type { Algorithm, KeySource, SelectionContext } from '../algorithms/types.js'
import { algorithms } from '../algorithms/index.js'
import type { AnyAlgorithmDefinition } from '../algorithms/index.js'
import { Backend } from './backend.js'
import { CircuitBreaker, type CircuitState } from './resilience/breaker.js'
import { OutlierDetector } from './health/outlier.js'
import { realClock, type Clock } from './health/clock.js'
import { RetryPolicy } from './resilience/retry-policy.js'
import { Lease, type LeaseHooks } from './pool/lease.js'

import { adoptBackends } from './pool/adopt.js'
import { snapshotOf, type BackendSnapshot } from './pool/snapshot.js'
import { backendState, type BackendState } from './pool/state.js'
import { healthyCount, inPanic, usableFor } from './pool/selection.js'

export type { ConnectionKind } from './pool/lease.js'
export type { BackendSnapshot } from './pool/snapshot.js'
export type { BackendState } from './pool/state.js'

export interface PoolDeps {
  /** Makes the upstream connection pool for a backend (tests may inject their own). */
  createUpstream: (backend: BackendConfig, pool: PoolConfig) => Dispatcher
  random?: () => number
  /** Clock for slow start, breakers and ejections; default the real one. */
  clock?: Clock
  /** Custom algorithm definitions by module path (lib/config/modules.ts loadModules). */
  customAlgorithms?: ReadonlyMap<string, AnyAlgorithmDefinition>
  /**
   * Who ejects outliers. 'local' (default): this pool, on its own detector's verdict. 'primary'
   * (a worker process): the detector's verdict is only proposed, as an 'outlier' event the
   * worker reports to the primary, which ejects once for the whole gateway; the ejection then
   * arrives here through setEjected().
   */
  ejections?: 'local' | 'primary'
}

/**
 * The pool's state-change events. Each is emitted after the change; `state` is the backend's
 * one-word state (lib/pool/state.ts) as the change left it, which, by precedence, need not be
 * the word of what changed (an unhealthy backend that is ejected stays `unhealthy`).
 */
export interface PoolEvents {
  /** A backend joined at run time (admin API). */
  added: [Backend]
  /** A backend left (after draining). */
  removed: [Backend]
  health: [{ backend: string, from: string, to: string, reason: string, state: BackendState }]
  eject: [{ backend: string, until: number, duration: number, ejections: number, reason: string, state: BackendState }]
  return: [{ backend: string, state: BackendState }]
  circuit: [{ backend: string, from: CircuitState, to: CircuitState, reason: string, state: BackendState }]
  /** The admin API enabled or disabled a backend (emitted only when that changed it). */
  enabled: [{ backend: string, enabled: boolean, state: BackendState }]
  /** A backend stopped taking new work (drain, removal, reload): long-lived connections to it should wind down. */
  draining: [Backend]
  /** The admin API changed a backend's configured weight. */
  weight: [{ backend: string, weight: number }]
  /**
   * The pool entered (`entered: true`) or left panic mode: `healthy` of `total` backends are
   * healthy and not ejected, against `threshold` (panicThreshold, in percent).
   */
  panic: [{ entered: boolean, healthy: number, total: number, threshold: number }]
  /** With ejections 'primary': this process saw a backend fail consecutiveFailures times in a row. */
  outlier: [{ backend: string, reason: string }]
}

/**
 * The owner of a pool's backends and all their state. Every protocol asks it for a backend with
 * acquire(), which returns a Lease; the lease's done/abandon/hold are the only way back, and
 * release exactly once, so in-flight counts cannot leak.
 *
 * Health checks report through setHealthy(); passive ejection and circuit breakers are fed by
 * the outcomes leases report. State changes are emitted (`events`) for logs and metrics;
 * nothing else writes state.
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
  /** Whether the pool was in panic mode at its last health, ejection or membership change. */
  private panicking = false

  /**
   * `previous` (a reload): surviving backends are taken over with their state
   * (lib/pool/adopt.ts says which and what is reset); the caller retires the rest with
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
    this.list = adoptBackends(config, {
      previous,
      fresh: (b) => {
        const backend = new Backend(b, deps.createUpstream(b, config), now)
        backend.healthy = initiallyHealthy
        this.attachLimits(backend)
        return backend
      },
      attachLimits: (b) => { this.attachLimits(b) }
    })
    const passive = config.healthCheck.passive
    if (passive !== undefined) {
      this.outliers = new OutlierDetector(passive, { clock: this.clock, poolSize: () => this.list.length })
    }
    if (this.outliers !== undefined && deps.ejections === 'primary') {
      this.outliers.on('eject', (e) => { this.events.emit('outlier', { backend: e.backend, reason: e.reason }) })
    } else if (this.outliers !== undefined) {
      this.outliers.on('eject', (e) => {
        const b = this.find(e.backend)
        if (b === undefined) return
        b.ejected = true
        this.events.emit('eject', { ...e, state: backendState(b) })
        this.notePanic()
      })
      this.outliers.on('return', (e) => {
        const b = this.find(e.backend)
        if (b === undefined) return
        b.ejected = false
        this.startSlowStart(b)
        this.events.emit('return', { backend: e.backend, state: backendState(b) })
        this.notePanic()
      })
    }
    this.algorithm.update(this.list)
    this.panicking = inPanic(this.list, this.panicBelow)
  }

  /**
   * Whether the pool is in panic mode (fewer than panicThreshold percent of its backends healthy
   * and not ejected, so selection ignores health): kept up to date by the changes that move it,
   * so reading it costs nothing and changes nothing.
   */
  get panic (): boolean {
    return this.panicking
  }

  get backends (): readonly Backend[] {
    return this.list
  }

  find (id: string): Backend | undefined {
    return this.list.find((b) => b.id === id)
  }

  /**
   * A usable backend chosen by the algorithm, leased: counted in flight until the lease ends
   * (lib/pool/lease.ts), which is the only way back. Undefined if none is usable. `exclude`
   * lists backends already tried by this request (retries go elsewhere when they can).
   */
  acquire (ctx: SelectionContext, exclude?: readonly Backend[]): Lease | undefined {
    const usable = this.usablePredicate(exclude)
    let b = this.algorithm.pick(ctx, usable)
    // A retry may go back to a tried backend only when nothing else is usable.
    if (b === undefined && exclude !== undefined && exclude.length > 0) b = this.algorithm.pick(ctx, this.usablePredicate(undefined))
    if (b === undefined) return undefined
    b.inFlight++
    b.requests++
    b.breaker?.onDispatch()
    return new Lease(b, this.hooks)
  }

  /**
   * How leases end (the pool's side, made once): releasing ends the in-flight count taken by
   * acquire(); an outcome feeds the breaker, outlier detection and the algorithm; an abandoned
   * attempt (the client went away first) says nothing about the backend, so only a half-open
   * trial slot is given back.
   */
  private readonly hooks: LeaseHooks = {
    release: (b) => {
      b.inFlight--
      if (b.inFlight === 0 && b.draining) settleDrain(b)
    },
    abandon: (b) => { b.breaker?.abandon() },
    record: (b, result) => {
      if (!result.ok) b.errors++
      b.breaker?.record(result.ok)
      // Outlier detection applies its own failure statuses; here only transport failures are !ok.
      this.outliers?.record(b.id, { ok: result.reason === undefined || result.reason === 'status', status: result.status, reason: result.reason })
      this.algorithm.observe?.(b, result)
    },
    connections: (b, kind, delta) => {
      if (kind === 'websocket') b.websockets += delta
      else b.tcpConnections += delta
    }
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
    this.events.emit('health', { backend: id, from: healthy ? 'unhealthy' : 'healthy', to: healthy ? 'healthy' : 'unhealthy', reason, state: backendState(b) })
    this.notePanic()
  }

  /**
   * Another process's outlier verdict on a backend (a worker's, reported to the primary): it is
   * ejected as if this pool had seen the failures itself, within maxEjectionPercent, with the
   * growing ejection time. Ignored without passive health checks or when already ejected.
   */
  reportOutlier (id: string, reason: string): void {
    if (this.find(id) !== undefined) this.outliers?.report(id, reason)
  }

  /** Opens a backend's closed circuit (another worker's opened); nothing without a breaker. */
  tripCircuit (id: string, reason: string): void {
    this.find(id)?.breaker?.trip(reason)
  }

  /**
   * With ejections 'primary': the primary's ejection (true) or return (false) of a backend,
   * emitted as 'eject' or 'return' as a local one would be.
   */
  setEjected (id: string, ejected: boolean, reason: string): void {
    const b = this.find(id)
    if (b === undefined || b.ejected === ejected) return
    b.ejected = ejected
    if (ejected) this.events.emit('eject', { backend: id, until: 0, duration: 0, ejections: 0, reason, state: backendState(b) })
    else {
      this.startSlowStart(b)
      this.events.emit('return', { backend: id, state: backendState(b) })
    }
    this.notePanic()
  }

  /** Enables or disables a backend by id; false when the pool has no such backend. */
  setEnabled (id: string, enabled: boolean): boolean {
    const b = this.find(id)
    if (b === undefined) return false
    if (b.enabled === enabled) return true
    if (enabled) this.startSlowStart(b)
    b.enabled = enabled
    this.events.emit('enabled', { backend: id, enabled, state: backendState(b) })
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
    this.notePanic()
    return b
  }

  /** Changes a backend's configured weight; false when there is no such backend. */
  setWeight (id: string, weight: number): boolean {
    const b = this.find(id)
    if (b === undefined) return false
    if (b.configWeight === weight) return true
    b.configWeight = weight
    this.algorithm.update(this.list)
    this.events.emit('weight', { backend: id, weight })
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
    this.notePanic()
    await b.dispatcher.close()
    return true
  }

  readyCount (): number {
    let n = 0
    for (const b of this.list) if (b.ready) n++
    return n
  }

  snapshot (): BackendSnapshot[] {
    return this.list.map(snapshotOf)
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
   * Re-applies the panic rule after a change that can move it (health, ejection, a backend
   * added or removed) and emits 'panic' when the answer changed. Selection applies the same rule
   * per pick (lib/pool/selection.ts), so this only reports; it decides nothing.
   */
  private notePanic (): void {
    const now = inPanic(this.list, this.panicBelow)
    if (now === this.panicking) return
    this.panicking = now
    this.events.emit('panic', { entered: now, healthy: healthyCount(this.list), total: this.list.length, threshold: this.config.panicThreshold })
  }

  private usablePredicate (exclude: readonly Backend[] | undefined): (b: Backend) => boolean {
    return usableFor(this.list, this.panicBelow, exclude)
  }

  private attachLimits (b: Backend): void {
    const cb = this.config.circuitBreaker
    if (cb === undefined) return
    b.breaker = new CircuitBreaker(cb, {
      now: () => this.clock.now(),
      onChange: (from, to, reason) => { this.events.emit('circuit', { backend: b.id, from, to, reason, state: backendState(b) }) }
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

function settleDrain (b: Backend): void {
  const waiting = b.drainWaiters
  if (waiting === undefined) return
  b.drainWaiters = undefined
  for (const resolve of waiting) resolve()
}
