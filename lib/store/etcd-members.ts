import type { FastifyBaseLogger } from 'fastify'
import { EtcdRefused, type EtcdClient } from './etcd-client.js'

/** What each gateway of a fleet says about itself under `<prefix>instances/<id>` (GET /admin/cluster). */
export interface MemberInfo {
  id: string
  /** Where its listeners and admin API are, as configured (host:port). */
  address: string
  admin: string
  version: string
  /** The config revision it has applied. */
  revision: number
  startedAt: string
  pid: number
}

export const MEMBERS_KEY = 'instances/'

/**
 * This gateway's registration in the fleet: a key under a lease of `ttlSeconds`, renewed every
 * third of it, so a gateway that dies (or loses etcd) is gone from every instance's list within
 * the TTL. A renewal etcd refuses (the lease expired while etcd was away) registers again under a
 * new lease. `contact` hears of every renewal, which is also how the store notices a silent
 * partition. On close the lease is revoked, so a stopped gateway leaves the list at once.
 */
export class Membership {
  /** '' until registered. */
  private lease = ''
  private timer: NodeJS.Timeout | undefined
  private info: MemberInfo
  private closed = false
  private readonly key: string

  constructor (private readonly client: EtcdClient, prefix: string, info: MemberInfo, private readonly ttlSeconds: number, private readonly log: FastifyBaseLogger, private readonly contact: (ok: boolean) => void) {
    this.info = info
    this.key = `${prefix}${MEMBERS_KEY}${info.id}`
  }

  /** Registers (a failure is retried at the next renewal: etcd may be down at start). */
  start (): void {
    void this.tick()
  }

  /** Says a new applied revision (written at once when etcd is reachable, else at the next renewal). */
  applied (revision: number): void {
    this.update({ revision })
  }

  /** The bound addresses, once the listeners are up (port 0 in the config says nothing). */
  listening (where: { address: string, admin: string }): void {
    this.update(where)
  }

  /** Changes what the registration says: written at once when registered, else at the next renewal. */
  private update (change: Partial<MemberInfo>): void {
    this.info = { ...this.info, ...change }
    if (this.lease !== '') this.client.put(this.key, JSON.stringify(this.info), this.lease).catch(() => {})
  }

  async close (): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    if (this.lease !== '') await this.client.leaseRevoke(this.lease).catch(() => {})
  }

  private async tick (): Promise<void> {
    if (this.closed) return
    try {
      if (this.lease === '' || !(await this.client.leaseKeepAlive(this.lease))) {
        this.lease = await this.client.leaseGrant(this.ttlSeconds)
        await this.client.put(this.key, JSON.stringify(this.info), this.lease)
        this.log.info({ key: this.key, ttl: this.ttlSeconds }, 'registered in the fleet')
      }
      this.contact(true)
    } catch (err) {
      if (this.closed) return // a renewal cut short by the shutdown says nothing about etcd
      if (err instanceof EtcdRefused && /lease not found/i.test(err.message)) this.lease = ''
      this.contact(false)
    }
    if (!this.closed) {
      this.timer = setTimeout(() => { void this.tick() }, (this.ttlSeconds * 1000) / 3)
      this.timer.unref()
    }
  }
}

/** The live members of the fleet, from etcd. */
export async function listMembers (client: EtcdClient, prefix: string): Promise<MemberInfo[]> {
  const { kvs } = await client.list(`${prefix}${MEMBERS_KEY}`)
  const out: MemberInfo[] = []
  for (const kv of kvs) {
    try {
      out.push(JSON.parse(kv.value) as MemberInfo)
    } catch {}
  }
  return out
}
