import type { Socket } from 'node:net'
import type { Backend } from '../backend.js'
import type { Tunnel } from './registry.js'
import { Splice } from './splice.js'
import type { FrameTracker } from '../ws/frames.js'

/** After a close begins, how long both sides get to finish before their sockets are destroyed. */
export const CLOSE_DEADLINE_MS = 2000

/** How a tunnel ended: bytes from the client to the backend and back, and who ended it. */
export interface TunnelEnd<E extends string> {
  bytesIn: number
  bytesOut: number
  endedBy: E
}

/**
 * What every proxied long-lived connection (WebSocket, TCP) shares: the two sockets piped both
 * ways (lib/conn/splice.ts), who ended it (the first to say wins), a deadline once a close has
 * begun or one side has closed (neither side may then hold its socket for long), and `onEnd`
 * called exactly once, after both sockets have closed. Subclasses decide how to end (goAway)
 * and what a side's end means for the other.
 */
export abstract class SocketPair<E extends string> implements Tunnel {
  protected readonly c2s: Splice
  protected readonly s2c: Splice
  protected endedBy: E | undefined
  private open = 2
  private deadline: NodeJS.Timeout | undefined

  constructor (
    protected readonly client: Socket,
    protected readonly upstream: Socket,
    readonly backend: Backend,
    readonly drainTimeout: number,
    trackers: { c2s?: FrameTracker, s2c?: FrameTracker },
    private readonly endedByDefault: E,
    private readonly onEnd: (end: TunnelEnd<E>) => void
  ) {
    this.c2s = new Splice(client, upstream, trackers.c2s)
    this.s2c = new Splice(upstream, client, trackers.s2c)
    client.on('close', () => { this.sideClosed('client') })
    upstream.on('close', () => { this.sideClosed('backend') })
  }

  abstract goAway (): void

  /** A side's socket closed; subclasses pass that on before the pair counts it. */
  protected onSideClosed (_side: 'client' | 'backend'): void {}

  protected destroyBoth (): void {
    this.client.destroy()
    this.upstream.destroy()
  }

  protected armDeadline (): void {
    this.deadline ??= setTimeout(() => { this.destroyBoth() }, CLOSE_DEADLINE_MS).unref()
  }

  private sideClosed (side: 'client' | 'backend'): void {
    this.onSideClosed(side)
    if (--this.open > 0) {
      this.armDeadline()
      return
    }
    clearTimeout(this.deadline)
    this.onEnd({ bytesIn: this.c2s.bytes, bytesOut: this.s2c.bytes, endedBy: this.endedBy ?? this.endedByDefault })
  }
}
