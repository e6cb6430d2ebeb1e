import type { Socket } from 'node:net'
import type { Backend } from '../backend.js'
import type { Tunnel } from '../conn/registry.js'
import { Splice } from '../conn/splice.js'

/** After a graceful end begins, how long both sides get to close before their sockets are destroyed. */
export const TCP_CLOSE_DEADLINE_MS = 2000

export interface TcpTunnelEnd {
  bytesIn: number
  bytesOut: number
  /** client, backend, idle (idleTimeout), drain (gateway) or error (a reset on either side). */
  endedBy: 'client' | 'backend' | 'idle' | 'drain' | 'error'
}

/**
 * A client connection piped to a backend connection, both ways, bytes unchanged. A half-close
 * (FIN) is passed on, so request/response protocols that signal the end of a request by
 * shutting down their write side work. A reset on one side destroys the other. No bytes either
 * way for idleTimeout ends both. `onEnd` is called once, after both sockets have closed.
 */
export class TcpTunnel implements Tunnel {
  private readonly c2s: Splice
  private readonly s2c: Splice
  private endedBy: TcpTunnelEnd['endedBy'] | undefined
  private open = 2
  private deadline: NodeJS.Timeout | undefined

  constructor (
    private readonly client: Socket,
    private readonly upstream: Socket,
    readonly backend: Backend,
    readonly drainTimeout: number,
    idleTimeout: number,
    private readonly onEnd: (end: TcpTunnelEnd) => void
  ) {
    this.c2s = new Splice(client, upstream)
    this.s2c = new Splice(upstream, client)
    client.on('end', () => { this.endedBy ??= 'client'; upstream.end() })
    upstream.on('end', () => { this.endedBy ??= 'backend'; client.end() })
    const broken = (): void => {
      this.endedBy ??= 'error'
      client.destroy()
      upstream.destroy()
    }
    client.on('error', broken)
    upstream.on('error', broken)
    client.on('close', () => { this.closed() })
    upstream.on('close', () => { this.closed() })
    // Bytes either way are activity on the client socket: one timer covers both directions.
    if (idleTimeout > 0) {
      client.setTimeout(idleTimeout, () => {
        this.endedBy ??= 'idle'
        client.destroy()
        upstream.destroy()
      })
    }
  }

  goAway (): void {
    if (this.endedBy !== undefined) return
    this.endedBy = 'drain'
    this.client.end()
    this.upstream.end()
    this.deadline ??= setTimeout(() => {
      this.client.destroy()
      this.upstream.destroy()
    }, TCP_CLOSE_DEADLINE_MS).unref()
  }

  private closed (): void {
    if (--this.open > 0) {
      // One side is gone for good: the other cannot carry anything useful much longer.
      this.deadline ??= setTimeout(() => {
        this.client.destroy()
        this.upstream.destroy()
      }, TCP_CLOSE_DEADLINE_MS).unref()
      return
    }
    clearTimeout(this.deadline)
    this.onEnd({ bytesIn: this.c2s.bytes, bytesOut: this.s2c.bytes, endedBy: this.endedBy ?? 'client' })
  }
}
