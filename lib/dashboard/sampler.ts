import type { BackendPool } from '../pool.js'
import type { BackendSnapshot } from '../pool/snapshot.js'
import type { PoolCounters } from '../cluster/messages.js'
import type { LatencyWindows } from './latency.js'

/**
 * The dashboard's data (docs/dashboard.md): once per interval, whatever the number of open pages,
 * the sampler reads the pools (and, with workers, their summed counters), turns counters into
 * rates, takes the latency windows, appends one point per pool to a fixed-size history, and
 * serialises the frame once; every subscriber gets the same string. It never runs on the request
 * path, and everything it keeps is bounded: `historyPoints` per pool, `keepTransitions`.
 */

/** One line of the "latest transitions" list. */
export interface Transition { at: number, pool: string, backend: string, kind: 'health' | 'eject' | 'return' | 'circuit', to: string, reason: string }

/** A gateway of the fleet, or a worker process. */
export interface Instance { id: string, state: string, detail: string }

export interface BackendRow {
  id: string
  url: string
  state: string
  weight: number
  effectiveWeight: number
  inFlight: number
  rps: number
  errorRate: number
  p50: number | null
  p99: number | null
  circuit: string
  websockets: number
  tcp: number
}

/** One point of a pool's charts. */
export interface Point { t: number, rps: number, errorRate: number, p50: number | null, p99: number | null }

export interface PoolRow extends Omit<Point, 't'> { name: string, algorithm: string, ready: number, total: number, backends: BackendRow[] }

export interface Frame { t: number, revision: number, instances: Instance[], pools: PoolRow[], transitions: Transition[] }

export interface SamplerDeps {
  pools: () => Iterable<BackendPool>
  latency: LatencyWindows
  revision: () => number
  /** With workers: their counters summed per backend (the primary serves no traffic itself). */
  counters?: () => Promise<PoolCounters>
  /** The fleet's gateways or the worker processes; read every `instancesEvery` ticks. */
  instances?: () => Promise<Instance[]>
  intervalMs?: number
  historyPoints?: number
  keepTransitions?: number
  instancesEvery?: number
}

/** A backend no worker has reported yet (just added) has served nothing. */
const ZERO = { inFlight: 0, websockets: 0, tcpConnections: 0, requests: 0, errors: 0 }

const rate = (n: number, seconds: number): number => Math.round((n / seconds) * 10) / 10

export class DashboardSampler {
  private readonly intervalMs: number
  private readonly historyPoints: number
  private readonly keepTransitions: number
  private readonly history = new Map<string, Point[]>()
  private readonly transitions: Transition[] = []
  private fresh: Transition[] = []
  /** Cumulative requests and errors per pool/backend at the last tick. */
  private last = new Map<string, { requests: number, errors: number }>()
  private lastAt = Date.now()
  private instances: Instance[] = []
  private ticks = 0
  private frame: Frame | undefined
  private chunk = ''
  private readonly subscribers = new Set<(chunk: string) => void>()
  private timer: NodeJS.Timeout | undefined
  private running = false

  constructor (private readonly deps: SamplerDeps) {
    this.intervalMs = deps.intervalMs ?? 1000
    this.historyPoints = deps.historyPoints ?? 900
    this.keepTransitions = deps.keepTransitions ?? 100
  }

  start (): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => { void this.tick() }, this.intervalMs).unref()
    void this.tick()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** A health, ejection or circuit change (the dashboard plugin wires the pools' events here). */
  transition (t: Transition): void {
    this.fresh.push(t)
    this.transitions.push(t)
    if (this.transitions.length > this.keepTransitions) this.transitions.splice(0, this.transitions.length - this.keepTransitions)
    if (this.fresh.length > this.keepTransitions) this.fresh.splice(0, this.fresh.length - this.keepTransitions)
  }

  /** What a page gets first: the charts' history, the latest transitions and the last frame (SSE `hello`). */
  hello (): string {
    const body = { intervalMs: this.intervalMs, historyPoints: this.historyPoints, history: Object.fromEntries(this.history), transitions: this.transitions, frame: this.frame ?? null }
    return `event: hello\ndata: ${JSON.stringify(body)}\n\n`
  }

  /** Hears every frame's SSE chunk (the same string for every subscriber) until the returned function is called. */
  subscribe (fn: (chunk: string) => void): () => void {
    this.subscribers.add(fn)
    return () => { this.subscribers.delete(fn) }
  }

  get subscriberCount (): number { return this.subscribers.size }

  /** One sample; exported for tests, which drive it without the timer. An overlapping tick is skipped. */
  async tick (): Promise<Frame | undefined> {
    if (this.running) return undefined
    this.running = true
    try {
      const counters = await this.deps.counters?.()
      if (this.deps.instances !== undefined && this.ticks++ % (this.deps.instancesEvery ?? 5) === 0) {
        this.instances = await this.deps.instances().catch(() => this.instances)
      }
      const now = Date.now()
      const seconds = Math.max(0.001, (now - this.lastAt) / 1000)
      this.lastAt = now
      const next = new Map<string, { requests: number, errors: number }>()
      const pools: PoolRow[] = []
      for (const pool of this.deps.pools()) pools.push(this.poolRow(pool, counters, seconds, next))
      this.last = next
      for (const p of pools) {
        let h = this.history.get(p.name)
        if (h === undefined) { h = []; this.history.set(p.name, h) }
        h.push({ t: now, rps: p.rps, errorRate: p.errorRate, p50: p.p50, p99: p.p99 })
        if (h.length > this.historyPoints) h.splice(0, h.length - this.historyPoints)
      }
      for (const name of this.history.keys()) if (!pools.some((p) => p.name === name)) this.history.delete(name)
      const frame: Frame = { t: now, revision: this.deps.revision(), instances: this.instances, pools, transitions: this.fresh }
      this.fresh = []
      this.frame = frame
      this.chunk = `event: frame\ndata: ${JSON.stringify(frame)}\n\n`
      for (const s of this.subscribers) s(this.chunk)
      return frame
    } finally {
      this.running = false
    }
  }

  private poolRow (pool: BackendPool, counters: PoolCounters | undefined, seconds: number, next: Map<string, { requests: number, errors: number }>): PoolRow {
    const mine = counters?.[pool.name]
    let requests = 0
    let errors = 0
    const rows: BackendRow[] = []
    // snapshot() maps pool.backends in order, so index i is the same backend in both.
    const snapshots = pool.snapshot()
    const live = pool.backends
    for (let i = 0; i < snapshots.length; i++) {
      const b: BackendSnapshot = mine === undefined ? snapshots[i] : { ...snapshots[i], ...ZERO, ...mine[snapshots[i].id] }
      const key = `${pool.name}\u0000${b.id}`
      const before = this.last.get(key) ?? { requests: b.requests, errors: b.errors }
      // A counter that went down (a worker replaced, a backend re-added) starts again from zero.
      const dr = b.requests >= before.requests ? b.requests - before.requests : b.requests
      const de = b.errors >= before.errors ? b.errors - before.errors : b.errors
      next.set(key, { requests: b.requests, errors: b.errors })
      requests += dr
      errors += de
      const lat = this.deps.latency.takeBackend(live[i])
      rows.push({
        id: b.id,
        url: b.url,
        state: b.state,
        weight: b.weight,
        effectiveWeight: b.effectiveWeight,
        inFlight: b.inFlight,
        rps: rate(dr, seconds),
        errorRate: dr === 0 ? 0 : Math.round((de / dr) * 1000) / 1000,
        p50: lat.p50,
        p99: lat.p99,
        circuit: b.circuit,
        websockets: b.websockets,
        tcp: b.tcpConnections
      })
    }
    const lat = this.deps.latency.takePool(pool)
    return {
      name: pool.name,
      algorithm: pool.config.algorithm.name,
      ready: pool.readyCount(),
      total: rows.length,
      rps: rate(requests, seconds),
      errorRate: requests === 0 ? 0 : Math.round((errors / requests) * 1000) / 1000,
      p50: lat.p50,
      p99: lat.p99,
      backends: rows
    }
  }
}
