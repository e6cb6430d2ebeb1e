import type { FastifyBaseLogger } from 'fastify'
import type { GatewayConfig } from '../config/types.js'
import type { PreparedReload } from '../reload/coordinator.js'
import { GatewayError } from '../errors.js'
import type { Documents } from './documents.js'
import { applyOverrides } from './overrides.js'
import { StoreConflict, type BaseSource, type HistoryEntry, type Overrides, type StateStore, type StoredState } from './types.js'

/** How many times a change is tried again when another gateway of the fleet wrote first (no If-Match). */
const CONFLICT_RETRIES = 5

export interface ConfigStateDeps {
  store: StateStore
  /** The state in force at start (resumed or seeded, lib/store/open.ts). */
  state: StoredState
  /** `state.base` loaded (with `local`). */
  base: GatewayConfig
  /** Which part of a document is stored and how it loads (lib/store/documents.ts). */
  documents: Documents
  /** This gateway's own sections (a fleet: from its config file; the file store: none). */
  local: unknown
  instance: string
  /** How many changes GET /admin/config/history keeps. */
  historySize: number
  logger: FastifyBaseLogger
  /** Prepares a reload to `next` in every participant (app.reload.prepare). */
  prepare: (next: GatewayConfig) => Promise<PreparedReload>
  /** Records a config whose changes the admin API already made to the pools (no reload). */
  adopt: (config: GatewayConfig) => void
  /** Hears every revision put in force here, local or remote (the fleet registration says it). */
  onApplied?: (revision: number) => void
}

/** Who asked for a change, for the history. */
export interface ChangeOrigin {
  change: string
  via: HistoryEntry['via']
  /** The revision the writer read (If-Match); undefined: any. */
  expected?: number
}

/** A new config document for baseChange. */
export interface NewDocument {
  /** The whole document as parsed (the file, or a PUT body). */
  raw: unknown
  source: BaseSource
  fileSha256?: string
  /** false: the admin API's changes are dropped (a reset). */
  keepOverrides: boolean
  /** 'replace': the document's local sections become this gateway's (a file); 'keep': they are ignored (PUT). */
  local: 'replace' | 'keep'
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
 *
 * In a fleet (etcd) a third: remoteChange, a state another gateway wrote, applied as a reload
 * without saving. A save that finds the store moved on (StoreConflict) applies what the store
 * holds first; then a change with If-Match is refused (409), one without is made again on top.
 */
export class ConfigState {
  private state: StoredState
  private base: GatewayConfig
  private effective: GatewayConfig
  private local: unknown
  private tail: Promise<unknown> = Promise.resolve()
  /** A remote revision that could not be applied here (why in the log), until a later one is. */
  private refused: { revision: number, reason: string } | undefined

  constructor (private readonly deps: ConfigStateDeps) {
    this.state = deps.state
    this.base = deps.base
    this.local = deps.local
    this.effective = applyOverrides(deps.base, deps.state.overrides).config
  }

  get revision (): number { return this.state.revision }
  get connected (): boolean { return this.deps.store.connected }
  /** How many revisions the store holds that this gateway has not applied (0 when in step or unknown). */
  get behind (): number { return Math.max(0, (this.deps.store.latest ?? 0) - this.state.revision) }
  /** Set while the newest remote revision could not be applied here. */
  get refusedRemote (): { revision: number, reason: string } | undefined { return this.refused }
  /** Whether the store is shared with other gateways (etcd). */
  get shared (): boolean { return this.deps.store.follow !== undefined }
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
    return await this.serial(async () => await this.retrying(async () => {
      this.check(o)
      const next = overrides(this.state.overrides)
      const effective = applyOverrides(this.base, next).config
      await this.save({ ...this.state, overrides: next }, o)
      this.effective = effective
      const result = apply()
      this.deps.adopt(effective)
      this.appliedHere()
      return { revision: this.state.revision, result }
    }))
  }

  /** Applies a new document with the overrides on top; see the class comment. */
  async baseChange (o: ChangeOrigin, doc: NewDocument): Promise<BaseChangeResult> {
    return await this.serial(async () => await this.retrying(async () => {
      this.check(o)
      const parts = this.deps.documents.split(doc.raw)
      const local = doc.local === 'replace' ? parts.local : this.local
      const config = this.deps.documents.load(parts.shared, local)
      const { config: effective, kept, dropped } = applyOverrides(config, doc.keepOverrides ? this.state.overrides : {})
      const prepared = await this.deps.prepare(effective)
      const change = dropped.length === 0 ? o.change : `${o.change}; dropped: ${dropped.join('; ')}`
      try {
        await this.save({ ...this.state, base: parts.shared, baseSource: doc.source, fileSha256: doc.fileSha256 ?? this.state.fileSha256, overrides: kept }, { ...o, change })
      } catch (err) {
        await prepared.abort()
        throw err
      }
      this.base = config
      this.local = local
      this.effective = effective
      await prepared.commit()
      this.appliedHere()
      const pools = Object.keys(effective.pools)
      if (dropped.length > 0) this.deps.logger.warn({ revision: this.state.revision, dropped }, 'admin API changes that no longer apply to the new config were dropped')
      this.deps.logger.info({ pools, needsRestart: prepared.needsRestart, revision: this.state.revision }, 'config reloaded')
      return { revision: this.state.revision, pools, needsRestart: [...prepared.needsRestart], dropped }
    }))
  }

  /**
   * A state another gateway of the fleet wrote (the store's watch): applied as a reload, not
   * saved again. Older or equal revisions are ignored (this gateway's own writes come back this
   * way too). One that does not load or prepare here (an environment variable or a file this
   * host lacks) is refused and logged; the gateway keeps its config and `behind` says so.
   */
  async remoteChange (state: StoredState): Promise<void> {
    await this.serial(async () => { await this.applyRemote(state) })
  }

  private async applyRemote (state: StoredState): Promise<void> {
    if (state.revision <= this.state.revision) return
    try {
      const config = this.deps.documents.load(state.base, this.local)
      const { config: effective } = applyOverrides(config, state.overrides)
      const prepared = await this.deps.prepare(effective)
      this.state = state
      this.base = config
      this.effective = effective
      await prepared.commit()
      this.refused = undefined
      this.appliedHere()
      const last = state.history.at(-1)
      this.deps.logger.info({ revision: state.revision, change: last?.change, instance: last?.instance }, 'applied a config change made by another gateway of the fleet')
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      this.refused = { revision: state.revision, reason }
      this.deps.logger.error({ err, revision: state.revision }, 'a config change from the fleet store cannot be applied here: keeping the config in force')
    }
  }

  /** Runs `fn`; when the store moved on under it, applies what the store holds and runs it again. */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (err) {
        if (!(err instanceof StoreConflict)) throw err
        await this.applyRemote(err.current)
        if (attempt >= CONFLICT_RETRIES) throw new GatewayError('GW_CONFIG_REVISION_MOVED', [this.state.revision, err.current.revision])
      }
    }
  }

  private appliedHere (): void {
    this.deps.store.applied?.(this.state)
    this.deps.onApplied?.(this.state.revision)
  }

  private check (o: ChangeOrigin): void {
    if (this.refused !== undefined) throw new GatewayError('GW_CONFIG_BEHIND', [this.refused.revision, this.refused.reason])
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
      if (err instanceof StoreConflict) throw err
      this.deps.logger.error({ err, store: this.deps.store.where, change: o.change }, 'the config store could not be written: the change was refused')
      throw new GatewayError('GW_STORE_UNAVAILABLE', [this.shared && !this.deps.store.connected ? 'etcd is unreachable' : 'its state could not be saved; the error log says why'], err)
    }
    this.state = state
  }

  private async serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn)
    this.tail = run.catch(() => {})
    return await run
  }
}
