import type { Backend } from '../backend.js'

/** A proxied long-lived connection (a WebSocket or a TCP connection), as the registry sees it. */
export interface Tunnel {
  readonly backend: Backend
  /** How long it may stay open once its backend drains or the gateway shuts down (ms). */
  readonly drainTimeout: number
  /** Ends it gracefully now (WebSocket: close 1001 both ways; TCP: FIN both ways). */
  goAway: () => void
}

/**
 * The open long-lived connections of one kind, so that backend drains and shutdown can end them
 * after their grace period, and shutdown can wait for them. Tunnels add and delete themselves.
 */
export class Connections {
  private readonly open = new Set<Tunnel>()
  private emptied: Array<() => void> = []
  private closing = false

  get size (): number {
    return this.open.size
  }

  /**
   * A connection opened. One whose handshake or connect finished after a shutdown began, or
   * after its backend started draining, gets the same grace period from now.
   */
  add (t: Tunnel): void {
    this.open.add(t)
    if (this.closing || t.backend.draining) {
      setTimeout(() => { if (this.open.has(t) && (this.closing || t.backend.draining)) t.goAway() }, t.drainTimeout).unref()
    }
  }

  delete (t: Tunnel): void {
    if (!this.open.delete(t) || this.open.size > 0) return
    const waiting = this.emptied
    this.emptied = []
    for (const resolve of waiting) resolve()
  }

  /**
   * A backend stopped taking new work (drain, removal, reload): each of its connections ends
   * after its drainTimeout, unless it closed by then or the backend is no longer draining.
   */
  backendDraining (b: Backend): void {
    for (const t of this.open) {
      if (t.backend !== b) continue
      setTimeout(() => { if (b.draining && this.open.has(t)) t.goAway() }, t.drainTimeout).unref()
    }
  }

  /**
   * Shutdown: every connection ends after its drainTimeout (at once when 0); resolves when all
   * have closed.
   */
  async close (): Promise<void> {
    this.closing = true
    if (this.open.size === 0) return
    const timers = [...this.open].map((t) => setTimeout(() => { if (this.open.has(t)) t.goAway() }, t.drainTimeout))
    await new Promise<void>((resolve) => { this.emptied.push(resolve) })
    for (const timer of timers) clearTimeout(timer)
  }
}
