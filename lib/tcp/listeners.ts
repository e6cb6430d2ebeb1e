import type { TcpListenerConfig } from '../config/types.js'
import type { Backend } from '../backend.js'
import type { BackendPool } from '../pool.js'
import { TcpListener, type TcpDeps } from './listener.js'

/** A listener's identity across reloads: its configured address. */
const addressOf = (c: TcpListenerConfig): string => `${c.listen.host}\u0000${c.listen.port}`

export interface TcpChange {
  /** Switches to the new listener set and pools; call in the same synchronous step as the pool switch. Cannot fail. */
  commit: () => void
  /** After commit: closes the listeners that left (they stop accepting; their connections drain). */
  afterCommit: () => void
  /** Gives up the change: closes the listeners it bound. */
  abort: () => Promise<void>
}

/**
 * The `tcp` section's listeners. A reload keeps a listener whose address is unchanged (its open
 * connections are untouched; new ones use the new pool and settings), binds listeners for new
 * addresses before anything switches (a port that cannot be bound fails the reload, and the
 * running set keeps serving), and closes listeners that left after the switch, letting their
 * connections drain.
 */
export class TcpListeners {
  private readonly byAddress = new Map<string, TcpListener>()

  constructor (private readonly deps: TcpDeps) {}

  get listeners (): TcpListener[] {
    return [...this.byAddress.values()]
  }

  /**
   * Binds what `configs` adds and resolves each listener's pool in `pools` (the pools that will
   * be in force at commit): an unknown pool or a port that cannot be bound throws, with what was
   * bound closed again and the running set unchanged. Connections the new listeners accept
   * before commit() wait for it.
   */
  async prepare (configs: readonly TcpListenerConfig[], pools: ReadonlyMap<string, BackendPool>): Promise<TcpChange> {
    const poolOf = configs.map((c) => {
      const p = pools.get(c.pool)
      if (p === undefined) throw new Error(`tcp listener ${c.listen.host}:${c.listen.port}: unknown pool "${c.pool}"`)
      return p
    })
    const bound = new Map<string, TcpListener>()
    const abort = async (): Promise<void> => { await Promise.all([...bound.values()].map(async (l) => { await l.close() })) }
    try {
      for (const c of configs) {
        const key = addressOf(c)
        if (this.byAddress.has(key) || bound.has(key)) continue
        const l = new TcpListener(c, undefined, this.deps)
        await l.listen()
        bound.set(key, l)
      }
    } catch (err) {
      await abort()
      throw err
    }
    const wanted = new Set(configs.map(addressOf))
    const leaving: TcpListener[] = []
    const commit = (): void => {
      for (const [key, l] of bound) this.byAddress.set(key, l)
      configs.forEach((c, i) => { this.byAddress.get(addressOf(c))?.update(c, poolOf[i]!) })
      for (const [key, l] of this.byAddress) {
        if (wanted.has(key)) continue
        this.byAddress.delete(key)
        leaving.push(l)
      }
    }
    const afterCommit = (): void => {
      for (const l of leaving) void l.close().catch((err: unknown) => { this.deps.logger.error({ err }, 'closing a tcp listener failed') })
    }
    return { commit, afterCommit, abort }
  }

  /** A backend began draining: its connections end after their listener's drainTimeout. */
  backendDraining (b: Backend): void {
    for (const l of this.byAddress.values()) l.connections.backendDraining(b)
  }

  /** Shutdown: stop accepting everywhere and wait for the connections to drain. */
  async close (): Promise<void> {
    const all = [...this.byAddress.values()]
    this.byAddress.clear()
    await Promise.all(all.map(async (l) => { await l.close() }))
  }
}
