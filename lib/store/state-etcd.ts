import type { FastifyBaseLogger } from 'fastify'
import { EtcdUnavailable, type EtcdClient } from './etcd-client.js'
import type { FileStateStore } from './state-file.js'
import { StoreConflict, type StateStore, type StoredState } from './types.js'

/** Reconnection backoff after etcd stopped answering: doubling, with jitter. */
const BACKOFF_MIN_MS = 100
const BACKOFF_MAX_MS = 5000

/** The key under the prefix that holds the fleet's StoredState (JSON). */
export const CONFIG_KEY = 'config'

/** A StoredState read from etcd, or a reason it is not one. */
export function parseState (text: string): StoredState | string {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    return `not JSON (${(err as Error).message})`
  }
  const s = v as Partial<StoredState> | null
  if (s === null || typeof s !== 'object' || s.format !== 1 || !Number.isInteger(s.revision) || typeof s.overrides !== 'object' || !Array.isArray(s.history)) {
    return 'not a gateway config state (format 1 with revision, base, overrides and history)'
  }
  return s as StoredState
}

/**
 * The fleet store (docs/config-store.md, "etcd"): the state is one JSON value at
 * `<prefix>config`; every write is a transaction that puts it only if the key's mod revision is
 * the one this gateway last saw, so two gateways writing at once cannot both win (the loser gets
 * StoreConflict with the current state, and ConfigState applies it, then retries or answers 409).
 *
 * follow() watches the key from the last revision seen and hands every state written by others
 * to `remote`. When etcd stops answering, `connected` goes false (writes are refused, the
 * gateway keeps serving what it has), and the watch is re-opened with backoff from the same
 * revision; when that revision was compacted away, the whole state is read again instead.
 *
 * Every state in force is also written to a local snapshot file (`applied`), so a gateway that
 * starts while etcd is down can boot from its last-known-good config (lib/store/open-etcd.ts).
 */
export class EtcdStateStore implements StateStore {
  readonly where: string
  private ok = true
  /**
   * The mod revision of the state in force here: writes compare against it, not against the
   * newest one seen, so a state seen but not applied yet (queued, or refused here) is never
   * overwritten by a write made on top of an older one.
   */
  private modRevision = 0
  /** Mod revisions of the states seen, by their revision, until applied (a few at most). */
  private readonly seen = new Map<number, number>()
  private watchFrom = 0
  private newest = 0
  private readonly stop = new AbortController()
  private restartWatch: AbortController | undefined
  private readonly key: string
  /** Set by follow(); before it (at start) problems go to the caller's notes instead. */
  private log: FastifyBaseLogger | undefined

  constructor (private readonly client: EtcdClient, prefix: string, private readonly snapshot: FileStateStore, endpoints: string[]) {
    this.key = `${prefix}${CONFIG_KEY}`
    this.where = `etcd ${endpoints.join(',')} key ${this.key}`
  }

  get connected (): boolean { return this.ok }
  get latest (): number { return this.newest }

  async load (): Promise<{ state: StoredState | undefined, from: string, problems: string[] }> {
    const { kv, revision } = await this.reach(async () => await this.client.get(this.key))
    this.watchFrom = revision + 1
    if (kv === undefined) {
      this.modRevision = 0
      return { state: undefined, from: this.where, problems: [] }
    }
    const state = parseState(kv.value)
    if (typeof state === 'string') return { state: undefined, from: this.where, problems: [`${this.key}: ${state}`] }
    this.saw(state, kv.modRevision)
    return { state, from: this.where, problems: [] }
  }

  async save (state: StoredState): Promise<void> {
    const r = await this.reach(async () => await this.client.putIfUnchanged(this.key, JSON.stringify(state), this.modRevision))
    if (r.ok) {
      this.modRevision = r.modRevision
      this.newest = Math.max(this.newest, state.revision)
      return
    }
    const current = r.current === undefined ? undefined : parseState(r.current.value)
    if (current === undefined || typeof current === 'string') throw new Error(`etcd key ${this.key} was deleted or overwritten with something else (${current ?? 'deleted'}): push a config with the CLI (docs/config-store.md)`)
    this.saw(current, r.current!.modRevision)
    throw new StoreConflict(current)
  }

  applied (state: StoredState): void {
    const mod = this.seen.get(state.revision)
    if (mod !== undefined) this.modRevision = mod
    for (const r of this.seen.keys()) if (r <= state.revision) this.seen.delete(r)
    this.snapshot.save(state).catch((err: unknown) => { this.log?.warn({ err, snapshot: this.snapshot.where }, 'the local snapshot of the etcd config could not be written') })
  }

  follow (remote: (state: StoredState) => void, log: FastifyBaseLogger): void {
    this.log = log
    void this.watchLoop(remote)
  }

  /** Called by the membership keepalive when etcd did or did not answer: a silent partition is noticed within a third of the lease TTL. */
  contact (ok: boolean): void {
    if (!ok) {
      this.setConnected(false)
      this.restartWatch?.abort()
    } else if (!this.ok && this.restartWatch === undefined) this.setConnected(true)
  }

  async close (): Promise<void> {
    this.stop.abort()
    this.restartWatch?.abort()
  }

  private async watchLoop (remote: (state: StoredState) => void): Promise<void> {
    let backoff = BACKOFF_MIN_MS
    while (!this.stop.signal.aborted) {
      const restart = new AbortController()
      this.restartWatch = restart
      const signal = AbortSignal.any([this.stop.signal, restart.signal])
      try {
        // Started from the local snapshot while etcd was away: read the state whole first.
        if (this.watchFrom === 0) await this.resync(remote)
        const end = await this.client.watch(this.key, this.watchFrom, (events) => {
          for (const e of events) {
            this.watchFrom = e.kv.modRevision + 1
            if (e.type === 'delete') {
              this.log?.error({ key: this.key }, 'the config key was deleted from etcd: this gateway keeps its config; push one with the CLI')
              continue
            }
            const state = parseState(e.kv.value)
            if (typeof state === 'string') {
              this.log?.error({ key: this.key, problem: state }, 'etcd holds something that is not a config state: ignored')
              continue
            }
            this.saw(state, e.kv.modRevision)
            remote(state)
          }
        }, signal, () => {
          this.restartWatch = undefined
          backoff = BACKOFF_MIN_MS
          this.log?.debug({ from: this.watchFrom }, 'watching the fleet config in etcd')
          this.setConnected(true)
        })
        if (end.why === 'compacted') {
          // The revisions this gateway missed are gone: read the state whole.
          this.log?.warn({ from: this.watchFrom, compactRevision: end.compactRevision }, 'etcd compacted the revisions this gateway had not seen: reading the whole config again')
          await this.resync(remote)
        }
      } catch (err) {
        if (this.stop.signal.aborted) return
        this.setConnected(false, err)
        const wait = Math.min(BACKOFF_MAX_MS, backoff) * (0.5 + Math.random() / 2)
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2)
        await sleep(wait, this.stop.signal)
      }
    }
  }

  /** Reads the whole state (and the revision to watch from) and hands it on. */
  private async resync (remote: (state: StoredState) => void): Promise<void> {
    const { state } = await this.load()
    if (state !== undefined) remote(state)
  }

  private saw (state: StoredState, modRevision: number): void {
    this.newest = Math.max(this.newest, state.revision)
    this.seen.set(state.revision, modRevision)
    // Bounded: a gateway that refuses revision after revision keeps only the latest few.
    if (this.seen.size > 16) this.seen.delete(this.seen.keys().next().value!)
  }

  private async reach<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn()
      if (this.restartWatch === undefined) this.setConnected(true)
      return r
    } catch (err) {
      if (err instanceof EtcdUnavailable) this.setConnected(false, err)
      throw err
    }
  }

  private setConnected (ok: boolean, err?: unknown): void {
    if (ok === this.ok || this.stop.signal.aborted) return
    this.ok = ok
    if (ok) this.log?.info({ store: this.where }, 'etcd is reachable again: following the fleet config')
    else this.log?.error({ store: this.where, reason: (err as Error | undefined)?.message }, 'etcd is unreachable: serving the last applied config; admin changes are refused until it is back')
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done, { once: true })
  })
}
