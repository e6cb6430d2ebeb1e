import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import type { EtcdClient, EtcdEvent, EtcdKv } from './etcd-client.js'
import { MEMBERS_KEY } from './etcd-members.js'

/** A backend's health as its prober published it under `<prefix>health/<pool>/<backend>`. */
export interface PublishedHealth { healthy: boolean, reason: string, by: string, at: string }

export const HEALTH_KEY = 'health/'

/** Rendezvous (highest random weight) score of `member` for `key`: stable, spread evenly. */
function score (member: string, key: string): bigint {
  return createHash('sha256').update(member).update('\0').update(key).digest().readBigUInt64BE(0)
}

/**
 * Shared active health checks (`healthCheck.active.shared: true`, docs/config-store.md,
 * "Shared health checks"): in a fleet, each backend is probed by one gateway only, the live
 * member with the highest rendezvous score for it, which publishes its transitions in etcd; the
 * others apply them. When a member joins or leaves, only the backends whose top score changes
 * move. This module decides ownership and carries the transitions; the health plugin runs the
 * probes and hands every result to the pool (the one owner of backend state).
 *
 * Events: 'owners' (the member list changed: recompute what this gateway probes); 'remote'
 * (pool, backend, PublishedHealth) for transitions other gateways published.
 *
 * The members are followed by a watch on `<prefix>instances/`, so a prober whose lease expires
 * loses its backends the moment etcd deletes its key: takeover within one lease TTL.
 * With no member list (etcd away since the start), or one without this gateway (its lease
 * lapsed), a gateway owns every backend: probing everything itself is the safe side.
 */
export class SharedHealth extends EventEmitter {
  private members: string[] = []
  private readonly stop = new AbortController()
  /** Aborted by lost(): the watches end and read again. */
  private cut = new AbortController()

  constructor (private readonly client: EtcdClient, private readonly prefix: string, readonly self: string, private readonly log: FastifyBaseLogger) {
    super()
  }

  /** The live members' ids (from the watch on `instances/`); a change emits 'owners'. */
  setMembers (ids: string[]): void {
    const next = [...new Set(ids)].sort()
    if (next.join('\0') === this.members.join('\0')) return
    this.members = next
    this.emit('owners')
  }

  /** Whether this gateway probes `backend` of `pool`. */
  owns (pool: string, backend: string): boolean {
    if (this.members.length === 0 || !this.members.includes(this.self)) return true
    const key = `${pool}/${backend}`
    let best = this.members[0]
    let bestScore = score(best, key)
    for (const m of this.members.slice(1)) {
      const s = score(m, key)
      if (s > bestScore) { best = m; bestScore = s }
    }
    return best === this.self
  }

  /** Publishes a transition this gateway's probes saw (fire and forget: etcd away loses it, the next one is published again). */
  publish (pool: string, backend: string, healthy: boolean, reason: string): void {
    const v: PublishedHealth = { healthy, reason, by: this.self, at: new Date().toISOString() }
    this.client.put(`${this.prefix}${HEALTH_KEY}${pool}/${backend}`, JSON.stringify(v)).catch((err: unknown) => {
      this.log.warn({ err, pool, backend }, 'could not publish a health transition to the fleet')
    })
  }

  /** Follows the members and what is published (each read whole, then watched) until close(). */
  follow (): void {
    const ids = new Set<string>()
    const idOf = (key: string): string => key.slice(`${this.prefix}${MEMBERS_KEY}`.length)
    void this.followPrefix(MEMBERS_KEY, (kvs) => {
      ids.clear()
      for (const kv of kvs) ids.add(idOf(kv.key))
      this.setMembers([...ids])
    }, (events) => {
      for (const e of events) {
        if (e.type === 'put') ids.add(idOf(e.kv.key))
        else ids.delete(idOf(e.kv.key))
      }
      this.setMembers([...ids])
    })
    void this.followPrefix(HEALTH_KEY, (kvs) => {
      for (const kv of kvs) this.deliver(kv.key, kv.value)
    }, (events) => {
      for (const e of events) if (e.type === 'put') this.deliver(e.kv.key, e.kv.value)
    })
  }

  close (): void {
    this.stop.abort()
  }

  /**
   * This gateway's lease renewal failed (a silent partition leaves the watches open and quiet):
   * probe everything until the members are read again, and make the watches read again.
   */
  lost (): void {
    this.setMembers([])
    this.cut.abort()
    this.cut = new AbortController()
  }

  /** Range read of `<prefix><sub>`, then a watch from the next revision; again after a pause when either ends (etcd away, compaction). */
  private async followPrefix (sub: string, whole: (kvs: EtcdKv[]) => void, events: (e: EtcdEvent[]) => void): Promise<void> {
    const key = `${this.prefix}${sub}`
    while (!this.stop.signal.aborted) {
      try {
        const signal = AbortSignal.any([this.stop.signal, this.cut.signal])
        const { kvs, revision } = await this.client.list(key)
        whole(kvs)
        await this.client.watch(key, revision + 1, events, signal)
      } catch {
        // etcd away (the config store logs it): no members known means probe everything.
        whole([])
      }
      if (!this.stop.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1000).unref())
    }
  }

  private deliver (key: string, value: string): void {
    const rest = key.slice(`${this.prefix}${HEALTH_KEY}`.length)
    const slash = rest.lastIndexOf('/') // pool names may hold a slash; backend ids do not
    if (slash <= 0) return
    let h: PublishedHealth
    try {
      h = JSON.parse(value) as PublishedHealth
    } catch {
      return
    }
    if (h.by === this.self || typeof h.healthy !== 'boolean') return
    this.emit('remote', rest.slice(0, slash), rest.slice(slash + 1), h)
  }
}
