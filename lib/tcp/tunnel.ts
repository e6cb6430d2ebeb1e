import type { Socket } from 'node:net'
import type { Backend } from '../backend.js'
import { SocketPair, type TunnelEnd } from '../conn/pair.js'

/** client, backend, idle (idleTimeout), drain (gateway) or error (a reset on either side). */
export type TcpEndedBy = 'client' | 'backend' | 'idle' | 'drain' | 'error'
export type TcpTunnelEnd = TunnelEnd<TcpEndedBy>

/**
 * A client connection piped to a backend connection, both ways, bytes unchanged. A half-close
 * (FIN) is passed on, so request/response protocols that signal the end of a request by
 * shutting down their write side work. A reset on one side destroys the other. No bytes either
 * way for idleTimeout ends both. `onEnd` is called once, after both sockets have closed.
 * `sent`: what the client sent while the connect was pending (lib/tcp/pending.ts), forwarded
 * first, and whether it had already half-closed (then the FIN follows those bytes).
 */
export class TcpTunnel extends SocketPair<TcpEndedBy> {
  constructor (client: Socket, upstream: Socket, backend: Backend, drainTimeout: number, idleTimeout: number,
    sent: { head: readonly Buffer[], ended: boolean }, onEnd: (end: TcpTunnelEnd) => void) {
    super(client, upstream, backend, drainTimeout, {}, 'client', onEnd)
    for (const chunk of sent.head) this.c2s.forwardHead(chunk)
    if (sent.ended) {
      this.endedBy = 'client'
      upstream.end()
    }
    client.on('end', () => { this.endedBy ??= 'client'; upstream.end() })
    upstream.on('end', () => { this.endedBy ??= 'backend'; client.end() })
    const broken = (): void => {
      this.endedBy ??= 'error'
      this.destroyBoth()
    }
    client.on('error', broken)
    upstream.on('error', broken)
    // Bytes either way are activity on the client socket: one timer covers both directions.
    if (idleTimeout > 0) {
      client.setTimeout(idleTimeout, () => {
        this.endedBy ??= 'idle'
        this.destroyBoth()
      })
    }
  }

  goAway (): void {
    if (this.endedBy !== undefined) return
    this.endedBy = 'drain'
    this.client.end()
    this.upstream.end()
    this.armDeadline()
  }
}
