import type { FastifyBaseLogger } from 'fastify'
import type { GatewayConfig } from '../config/types.js'
import type { PreparedReload } from '../reload/coordinator.js'
import { GatewayError } from '../errors.js'
import { applyOverrides } from './overrides.js'
import type { BaseSource, HistoryEntry, Overrides, StateStore, StoredState } from './types.js'

export interface ConfigStateDeps {
  store: StateStore
  /** The state in force at start (resumed or seeded, lib/store/open.ts). */
  state: StoredState
  /** `state.base` loaded. */
  base: GatewayConfig
  instance: string
  /** How many changes GET /admin/config/history keeps. */
  historySize: number
  logger: FastifyBaseLogger
  /** Prepares a reload to `next` in every participant (app.reload.prepare). */
  prepare: (next: GatewayConfig) => Promise<PreparedReload>
  /** Records a config whose changes the admin API already made to the pools (no reload). */
  adopt: (config: GatewayConfig) => void
}

/** Who asked for a change, for the history. */
export interface ChangeOrigin {
  change: string
  via: HistoryEntry['via']
  /** The revision the writer read (If-Match); undefined: any. */
  expected?: number
}

export interface BaseChangeResult {
  revision: number
  pools: string[]
  needsRestart: string[]
  /** Admin API changes that no longer apply to the new document (applyOverrides). */
  dropped: string[]
}

/**
 * The one owner of the config's revision (docs/config-store.md): every change to the config,
 * from the admin API, the file or the start, goes through here, one at a time, and is saved in
 * the store before it takes effect, so what the gateway serves is always what a restart
 * resumes. A change that cannot be saved changes nothing (GW_STORE_UNAVAILABLE); one made for
 * an older revision than the current is refused (GW_CONFIG_REVISION_MOVED).
 *
 * Two kinds of change:
 * - backendChange: the admin API's backend writes. Kept as overrides on top of the document;
 *   saved, then made by the route through the pool's own methods (no reload, so ejections,
 *   circuits and what the algorithms learned are untouched).
 * - baseChange: a new document (the file reloaded or reset to, PUT /admin/config). Prepared as a
 *   reload in every participant (workers too), saved, then committed; the overrides stay on top
 *   where they still apply.
 */
export class ConfigState {
  private state: StoredState
  private base: GatewayConfig
  private effective: GatewayConfig
  private tail: Promise<unknown> = Promise.resolve()

  constructor (private readonly deps: ConfigStateDeps) {
    this.state = deps.state
    this.base = deps.base
    this.effective = applyOverrides(deps.base, deps.state.overrides).config
  }

  get revision (): number { return this.state.revision }
  get connected (): boolean { return this.deps.store.connected }
  get where (): string { return this.deps.store.where }
  /** The config in force: the document with the overrides applied. */
  config (): GatewayConfig { return this.effective }
  overrides (): Overrides { return this.state.overrides }
  baseSource (): BaseSource { return this.state.baseSource }
  history (): readonly HistoryEntry[] { return this.state.history }

  /**
   * Saves `overrides(current)` as the next revision, then runs `apply` (the pool change, which
   * must not fail: the route checked it first) and resolves with its result.
   */
  async backendChange<T>(o: ChangeOrigin, overrides: (ov: Overrides) => Overrides, apply: () => T): Promise<{ revision: number, result: T }> {
    return await this.serial(async () => {
      this.check(o)
      const next = overrides(this.state.overrides)
      const effective = applyOverrides(this.base, next).config
      await this.save({ ...this.state, overrides: next }, o)
      this.effective = effective
      const result = apply()
      this.deps.adopt(effective)
      return { revision: this.state.revision, result }
    })
  }

  /** Applies a new document (loaded as `config`) with the overrides on top; see the class comment. */
  async baseChange (o: ChangeOrigin, doc: { base: unknown, source: BaseSource, fileSha256?: string, config: GatewayConfig, keepOverrides: boolean }): Promise<BaseChangeResult> {
    return await this.serial(async () => {
      this.check(o)
      const { config: effective, kept, dropped } = applyOverrides(doc.config, doc.keepOverrides ? this.state.overrides : {})
      const prepared = await this.deps.prepare(effective)
      const change = dropped.length === 0 ? o.change : `${o.change}; dropped: ${dropped.join('; ')}`
      try {
        await this.save({ ...this.state, base: doc.base, baseSource: doc.source, fileSha256: doc.fileSha256 ?? this.state.fileSha256, overrides: kept }, { ...o, change })
      } catch (err) {
        await prepared.abort()
        throw err
      }
      this.base = doc.config
      this.effective = effective
      await prepared.commit()
      const pools = Object.keys(effective.pools)
      if (dropped.length > 0) this.deps.logger.warn({ revision: this.state.revision, dropped }, 'admin API changes that no longer apply to the new config were dropped')
      this.deps.logger.info({ pools, needsRestart: prepared.needsRestart, revision: this.state.revision }, 'config reloaded')
      return { revision: this.state.revision, pools, needsRestart: [...prepared.needsRestart], dropped }
    })
  }

  private check (o: ChangeOrigin): void {
    if (o.expected !== undefined && o.expected !== this.state.revision) {
      throw new GatewayError('GW_CONFIG_REVISION_MOVED', [this.state.revision, o.expected])
    }
  }

  /** Saves `next` as the next revision with its history entry; the state in memory moves only once it is saved. */
  private async save (next: StoredState, o: ChangeOrigin): Promise<void> {
    const revision = this.state.revision + 1
    const entry: HistoryEntry = { revision, time: new Date().toISOString(), change: o.change, instance: this.deps.instance, via: o.via, token: null }
    const state: StoredState = { ...next, revision, history: [...this.state.history, entry].slice(-this.deps.historySize) }
    try {
      await this.deps.store.save(state)
    } catch (err) {
      this.deps.logger.error({ err, store: this.deps.store.where, change: o.change }, 'the config store could not be written: the change was refused')
      throw new GatewayError('GW_STORE_UNAVAILABLE', ['its state could not be saved; the error log says why'], err)
    }
    this.state = state
  }

  private async serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn)
    this.tail = run.catch(() => {})
    return await run
  }
}
