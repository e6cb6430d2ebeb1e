import cluster, { type Worker } from 'node:cluster'
import type { FastifyBaseLogger } from 'fastify'
import type { GatewayConfig } from '../config/types.js'
import type { BackendPool } from '../pool.js'
import type { ReloadParticipant } from '../reload/participant.js'
import { ConfigError, type ConfigIssue } from '../config/issues.js'
import { WORKER_ENV, type FromWorker, type PoolCounters, type SharedBackendState, type ToWorker } from './messages.js'
import { sharedStateOf, sumCounters } from './pool-sync.js'
import type { MetricsJson } from './metrics.js'
import { RateCounters, type RateStore } from '../traffic/rate-counters.js'
import { RetiredTotals } from './retired.js'

export interface WorkerSetDeps {
  count: number
  logger: FastifyBaseLogger
  configPath: string | undefined
  /** The config in force in the primary (it changes with reloads). */
  config: () => GatewayConfig
  /** The primary's pools: the one view of backend state every worker follows. */
  pools: () => ReadonlyMap<string, BackendPool>
  /** Counts replacements (gateway_worker_restarts_total). */
  onRestart?: () => void
  /** Where the workers' rate limits count: default counters in the primary; Redis with store.redis. */
  rates?: RateStore
}

/** One worker as GET /admin/workers shows it. */
export interface WorkerInfo {
  worker: number
  pid: number | undefined
  state: 'starting' | 'ready'
  startedAt: string
  restarts: number
}

interface Slot {
  n: number
  proc: Worker | undefined
  state: 'starting' | 'ready' | 'waiting'
  startedAt: number
  restarts: number
  /** Crashes in a row without a long enough life between them: the backoff's exponent. */
  crashes: number
  /** The config it was started with: a reload during its start is sent to it once it is ready. */
  startConfig: GatewayConfig | undefined
  timer: NodeJS.Timeout | undefined
  /** Its latest answers, kept for the totals when it dies (lib/cluster/retired.ts). */
  lastCounters: PoolCounters | undefined
  lastMetrics: MetricsJson | undefined
}

/** Answers the primary waits for, by kind. */
type Answer = Extract<FromWorker, { id: number }>

/** A replaced worker waits BACKOFF_BASE_MS × 2^(crashes-1), at most BACKOFF_MAX_MS. */
const BACKOFF_BASE_MS = 100
const BACKOFF_MAX_MS = 10_000
/** A worker that lived this long before it died starts the backoff again from the base. */
const STABLE_AFTER_MS = 30_000
/** How long a worker may take to answer a prepare (it may bind ports, build a generation). */
const PREPARE_TIMEOUT_MS = 30_000
const ASK_TIMEOUT_MS = 5_000

/**
 * The primary's side of the worker processes (docs/workers.md): forks them (node:cluster, so
 * they share the client listeners' sockets), starts each from the primary's config, keeps them
 * on the primary's view of every pool (membership, weights, health, enable, drain: one `sync`
 * per pool change), runs reloads as prepare-everywhere-then-commit (participant()), sums their
 * counters for the admin API, and replaces a worker that dies, with backoff.
 */
export class WorkerSet {
  private readonly slots: Slot[] = []
  private readonly pending = new Map<string, { resolve: (a: Answer) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>()
  private readonly watched = new WeakSet<BackendPool>()
  private readonly dirty = new Set<string>()
  private seq = 0
  /** Every worker's rate-limit counts (lib/cluster/rate-store.ts). */
  private readonly rates: RateStore
  private readonly retired = new RetiredTotals()
  private stopping = false
  private firstStart: { resolve: (ports: number[]) => void, reject: (e: Error) => void } | undefined
  private ports: number[] = []

  constructor (private readonly deps: WorkerSetDeps) {
    // Workers accept from the shared listening sockets themselves (SCHED_NONE), rather than the
    // primary accepting and handing each connection over IPC (SCHED_RR, Node's default on
    // Linux): no IPC per connection, and no connection lost in a hand-off to a worker that
    // dies (measured with SCHED_RR: a connection handed to a worker killed at that moment hung
    // open, neither answered nor closed). docs/workers.md has the measurements.
    cluster.schedulingPolicy = cluster.SCHED_NONE
    this.rates = deps.rates ?? new RateCounters()
    for (let n = 1; n <= deps.count; n++) this.slots.push({ n, proc: undefined, state: 'waiting', startedAt: 0, restarts: 0, crashes: 0, startConfig: undefined, timer: undefined, lastCounters: undefined, lastMetrics: undefined })
  }

  /** Forks every worker; resolves with the client listeners' ports once all are ready, rejects if one cannot start. */
  async start (): Promise<number[]> {
    this.watchPools()
    const started = new Promise<number[]>((resolve, reject) => { this.firstStart = { resolve, reject } })
    for (const s of this.slots) this.fork(s)
    return await started
  }

  list (): WorkerInfo[] {
    return this.slots.map((s) => ({ worker: s.n, pid: s.proc?.process.pid, state: s.state === 'ready' ? 'ready' : 'starting', startedAt: new Date(s.startedAt).toISOString(), restarts: s.restarts }))
  }

  /** Every ready worker's counters, summed, and what each served (GET /admin/pools, /admin/workers). */
  async counters (): Promise<{ pools: PoolCounters, served: Map<number, number> }> {
    const ready = this.ready()
    const answers = await Promise.all(ready.map(async (s) => await this.ask(s, { t: 'counters', id: ++this.seq }, ASK_TIMEOUT_MS).catch(() => undefined)))
    const served = new Map<number, number>()
    const all: PoolCounters[] = []
    answers.forEach((a, i) => {
      if (a?.t !== 'counters') return
      served.set(ready[i]!.n, a.served)
      ready[i]!.lastCounters = a.pools
      all.push(a.pools)
    })
    return { pools: sumCounters([...all, this.retired.poolCounters()]), served }
  }

  /**
   * Every ready worker's metrics registry as JSON (a worker that does not answer is left out),
   * and what replaced workers had counted, so the totals never go down.
   */
  async metrics (): Promise<MetricsJson[]> {
    const ready = this.ready()
    const answers = await Promise.all(ready.map(async (s) => await this.ask(s, { t: 'metrics', id: ++this.seq }, ASK_TIMEOUT_MS).catch(() => undefined)))
    const out: MetricsJson[] = []
    answers.forEach((a, i) => {
      if (a?.t !== 'metrics') return
      ready[i]!.lastMetrics = a.json
      out.push(a.json)
    })
    const retired = await this.retired.metricsJson()
    if (retired.length > 0) out.push(retired)
    return out
  }

  /**
   * The "workers" reload participant, registered after every other: prepare sends the config
   * to every ready worker and waits for all to accept; one refusal throws (the coordinator then
   * aborts the primary's own participants, and this aborts the workers that had accepted), so a
   * config refused by any worker changes nothing anywhere. Commit tells all to commit.
   */
  participant (): ReloadParticipant {
    return {
      name: 'workers',
      prepare: async (next) => {
        const targets = this.ready()
        const id = ++this.seq
        const answers = await Promise.allSettled(targets.map(async (s) => await this.ask(s, { t: 'prepare', id, config: next }, PREPARE_TIMEOUT_MS)))
        const accepted = targets.filter((_s, i) => { const a = answers[i]!; return a.status === 'fulfilled' && a.value.t === 'prepared' && a.value.ok })
        const refusal = answers.findIndex((a) => a.status === 'rejected' || (a.value.t === 'prepared' && !a.value.ok))
        if (refusal >= 0) {
          for (const s of accepted) this.send(s, { t: 'abort', id })
          const a = answers[refusal]!
          const who = `worker ${targets[refusal]!.n}`
          if (a.status === 'rejected') throw new Error(`${who} did not prepare the reload: ${(a.reason as Error).message}`)
          const v = a.value as Extract<FromWorker, { t: 'prepared', ok: false }>
          if (Array.isArray(v.issues)) throw new ConfigError(v.issues as ConfigIssue[], who)
          throw new Error(`${who} refused the reload: ${v.message}`)
        }
        let settled: Array<Promise<unknown>> = []
        return {
          commit: () => {
            settled = accepted.map(async (s) => {
              const done = this.expect(s, id, PREPARE_TIMEOUT_MS)
              this.send(s, { t: 'commit', id })
              await done.catch((err: unknown) => { this.deps.logger.error({ err, worker: s.n }, 'a worker did not confirm its reload commit') })
            })
          },
          abort: () => { for (const s of accepted) this.send(s, { t: 'abort', id }) },
          afterCommit: async () => {
            await Promise.all(settled)
            this.watchPools()
            this.syncAll()
          }
        }
      }
    }
  }

  /** Stops every worker gracefully (each drains as a single gateway does); resolves when all exited. */
  async stop (): Promise<void> {
    this.stopping = true
    const exits = this.slots.map(async (s) => {
      clearTimeout(s.timer)
      const p = s.proc
      if (p === undefined || p.isDead()) return
      await new Promise<void>((resolve) => {
        p.once('exit', () => { resolve() })
        // A message: workers act on no signal of their own (lib/signals.ts), only on this. One
        // whose channel is already gone exits by itself (node:cluster); SIGKILL makes sure.
        if (p.isConnected()) p.send({ t: 'shutdown' } satisfies ToWorker)
        else p.process.kill('SIGKILL')
      })
    })
    await Promise.all(exits)
  }

  private ready (): Slot[] {
    return this.slots.filter((s) => s.state === 'ready' && s.proc !== undefined)
  }

  private fork (s: Slot): void {
    s.timer = undefined
    s.state = 'starting'
    s.startedAt = Date.now()
    const proc = cluster.fork({ [WORKER_ENV]: String(s.n) })
    s.proc = proc
    s.startConfig = this.deps.config()
    proc.on('message', (m: FromWorker) => {
      if (m.t !== 'hello') return
      const pools: Record<string, SharedBackendState[]> = {}
      for (const [name, pool] of this.deps.pools()) pools[name] = sharedStateOf(pool)
      this.send(s, { t: 'start', config: s.startConfig!, configPath: this.deps.configPath, worker: s.n, pools })
    })
    proc.on('message', (m: FromWorker) => { this.received(s, m) })
    proc.on('exit', (code, signal) => { this.exited(s, proc, code, signal) })
  }

  private received (s: Slot, m: FromWorker): void {
    if (m.t === 'hello') return
    if (m.t === 'ready') {
      s.state = 'ready'
      this.ports = m.ports
      for (const pool of this.deps.pools().values()) this.send(s, { t: 'sync', pool: pool.name, backends: sharedStateOf(pool) })
      if (s.startConfig !== this.deps.config()) void this.catchUp(s)
      if (this.firstStart !== undefined && this.slots.every((x) => x.state === 'ready')) {
        this.firstStart.resolve(this.ports)
        this.firstStart = undefined
      }
      return
    }
    if (m.t === 'rate') {
      this.rates.incr(m.key, (_err, res) => { this.send(s, { t: 'rate', id: m.id, current: res.current, ttl: res.ttl }) }, m.window)
      return
    }
    if (m.t === 'circuit') {
      // The first worker to open a backend's circuit opens it in every other worker; each then
      // runs its own half-open trials. Logged once, here.
      this.deps.logger.warn({ pool: m.pool, backend: m.backend, reason: m.reason, worker: s.n }, 'circuit opened in a worker: opening it in every worker')
      for (const other of this.ready()) if (other !== s) this.send(other, { t: 'trip', pool: m.pool, backend: m.backend, reason: `${m.reason} (worker ${s.n})` })
      return
    }
    if (m.t === 'outlier') {
      this.deps.pools().get(m.pool)?.reportOutlier(m.backend, `${m.reason} (worker ${s.n})`)
      return
    }
    if (m.t === 'failed') {
      this.deps.logger.fatal({ worker: s.n }, `worker ${s.n} could not start: ${m.message}`)
      if (this.firstStart !== undefined) {
        this.firstStart.reject(new Error(m.message))
        this.firstStart = undefined
      }
      return
    }
    const key = `${s.n}:${m.id}`
    const p = this.pending.get(key)
    if (p === undefined) return
    this.pending.delete(key)
    clearTimeout(p.timer)
    p.resolve(m)
  }

  private exited (s: Slot, proc: Worker, code: number | null, signal: string | null): void {
    if (s.proc !== proc) return
    s.proc = undefined
    this.retired.retire(s.lastCounters, s.lastMetrics)
    s.lastCounters = undefined
    s.lastMetrics = undefined
    for (const [key, p] of this.pending) {
      if (!key.startsWith(`${s.n}:`)) continue
      this.pending.delete(key)
      clearTimeout(p.timer)
      p.reject(new Error(`worker ${s.n} exited`))
    }
    if (this.stopping) return
    if (this.firstStart !== undefined) {
      // A worker that dies before the gateway was ever ready: a start failure, not a crash to retry.
      s.state = 'waiting'
      this.firstStart.reject(new Error(`worker ${s.n} exited during start (code ${String(code)}, signal ${String(signal)})`))
      this.firstStart = undefined
      return
    }
    const lived = Date.now() - s.startedAt
    s.crashes = lived >= STABLE_AFTER_MS ? 1 : s.crashes + 1
    s.restarts++
    s.state = 'waiting'
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (s.crashes - 1))
    this.deps.logger.error({ worker: s.n, workerPid: proc.process.pid, code, signal, restartInMs: delay, restarts: s.restarts }, `worker ${s.n} exited; replacing it`)
    this.deps.onRestart?.()
    s.timer = setTimeout(() => { this.fork(s) }, delay)
  }

  /** A worker started before a reload committed gets the config in force now. */
  private async catchUp (s: Slot): Promise<void> {
    const config = this.deps.config()
    const id = ++this.seq
    try {
      const a = await this.ask(s, { t: 'prepare', id, config }, PREPARE_TIMEOUT_MS)
      if (a.t !== 'prepared' || !a.ok) throw new Error(a.t === 'prepared' && !a.ok ? a.message : 'unexpected answer')
      const done = this.expect(s, id, PREPARE_TIMEOUT_MS)
      this.send(s, { t: 'commit', id })
      await done
      s.startConfig = config
    } catch (err) {
      this.deps.logger.error({ err, worker: s.n }, 'a worker started during a reload could not take the new config; restarting it')
      // Drained by the same word as at shutdown (it ignores SIGTERM); its exit restarts it.
      if (s.proc?.isConnected() === true) s.proc.send({ t: 'shutdown' } satisfies ToWorker)
      else s.proc?.process.kill('SIGKILL')
    }
  }

  /** Subscribes to every primary pool not yet watched: each change queues one sync of that pool. */
  private watchPools (): void {
    for (const pool of this.deps.pools().values()) {
      if (this.watched.has(pool)) continue
      this.watched.add(pool)
      const changed = (): void => { this.queue(pool.name) }
      for (const event of ['added', 'removed', 'health', 'enabled', 'draining', 'weight', 'eject', 'return'] as const) pool.events.on(event, changed)
    }
  }

  /** Changes in one turn of the event loop go out as one sync per pool. */
  private queue (pool: string): void {
    if (this.dirty.size === 0) setImmediate(() => { this.flush() })
    this.dirty.add(pool)
  }

  private flush (): void {
    const pools = this.deps.pools()
    for (const name of this.dirty) {
      const pool = pools.get(name)
      if (pool === undefined) continue
      const msg: ToWorker = { t: 'sync', pool: name, backends: sharedStateOf(pool) }
      for (const s of this.ready()) this.send(s, msg)
    }
    this.dirty.clear()
  }

  private syncAll (): void {
    for (const name of this.deps.pools().keys()) this.queue(name)
  }

  private send (s: Slot, m: ToWorker): void {
    const p = s.proc
    if (p === undefined || !p.isConnected()) return
    p.send(m)
  }

  private async ask (s: Slot, m: Extract<ToWorker, { id: number }>, timeoutMs: number): Promise<Answer> {
    const answer = this.expect(s, m.id, timeoutMs)
    this.send(s, m)
    return await answer
  }

  /** The answer with `id` from worker `s`; rejects after timeoutMs or when the worker exits. */
  private async expect (s: Slot, id: number, timeoutMs: number): Promise<Answer> {
    return await new Promise((resolve, reject) => {
      const key = `${s.n}:${id}`
      const timer = setTimeout(() => {
        this.pending.delete(key)
        reject(new Error(`worker ${s.n} did not answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(key, { resolve, reject, timer })
    })
  }
}
