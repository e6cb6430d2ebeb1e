import type { Socket } from 'node:net'
import type { Backend } from '../backend.js'
import { SocketPair, type TunnelEnd } from '../conn/pair.js'
import { CLOSE_BAD_GATEWAY, CLOSE_GOING_AWAY, FrameTracker, closeFrame } from './frames.js'

export { CLOSE_DEADLINE_MS } from '../conn/pair.js'

/** Who ended it: client, backend, drain (gateway, 1001) or backend-lost (gateway, 1014). */
export type WsEndedBy = 'client' | 'backend' | 'drain' | 'backend-lost'
export type WsTunnelEnd = TunnelEnd<WsEndedBy>

/**
 * An established WebSocket between a client and a backend, after the 101: bytes are piped both
 * ways unchanged (frames, masks, ping/pong, compression, close frames), with frame boundaries
 * tracked so the gateway can still close properly:
 * - goAway() (drain, shutdown): close 1001 to both sides at the next frame boundary;
 * - the backend connection drops without a close frame: close 1014 to the client (or, if it
 *   dropped mid-frame, the client connection is cut, since no valid frame can follow);
 * - the client drops: close 1001 to the backend the same way.
 * Either side's own close frame passes through; its connection end is then passed on.
 * `onEnd` is called once, after both sockets have closed.
 */
export class WsTunnel extends SocketPair<WsEndedBy> {
  constructor (client: Socket, upstream: Socket, backend: Backend, drainTimeout: number, onEnd: (end: WsTunnelEnd) => void) {
    super(client, upstream, backend, drainTimeout, { c2s: new FrameTracker(), s2c: new FrameTracker() }, 'client', onEnd)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    client.on('end', () => { this.clientGone() })
    upstream.on('end', () => { this.backendGone() })
    client.on('error', () => { this.clientGone() })
    upstream.on('error', () => { this.backendGone() })
  }

  protected override onSideClosed (side: 'client' | 'backend'): void {
    if (side === 'client') this.clientGone()
    else this.backendGone()
  }

  /** Starts the pipes with the bytes each side sent along with the handshake. */
  start (clientHead: Buffer, backendHead: Buffer): void {
    this.s2c.forwardHead(backendHead)
    this.c2s.forwardHead(clientHead)
  }

  goAway (): void {
    if (this.endedBy !== undefined) return
    this.endedBy = 'drain'
    this.armDeadline()
    this.s2c.stopAtBoundary(() => { this.client.end(closeFrame(CLOSE_GOING_AWAY, false)) })
    this.c2s.stopAtBoundary(() => { this.upstream.end(closeFrame(CLOSE_GOING_AWAY, true)) })
  }

  private backendGone (): void {
    if (this.endedBy !== undefined) {
      // Already closing: the backend's end is passed on once its last frame is out (the
      // client's socket comes from the HTTP server, which keeps half-closed connections open).
      if (this.s2c.tracker!.atBoundary) this.client.end()
      return
    }
    this.armDeadline()
    if (this.s2c.tracker!.closeSeen) {
      this.endedBy = 'backend'
      this.client.end()
    } else {
      this.endedBy = 'backend-lost'
      if (this.s2c.tracker!.atBoundary && this.client.writable) this.client.end(closeFrame(CLOSE_BAD_GATEWAY, false))
      else this.client.destroy()
    }
  }

  private clientGone (): void {
    if (this.endedBy !== undefined) {
      if (this.endedBy !== 'backend' && this.endedBy !== 'backend-lost' && this.c2s.tracker!.atBoundary) this.upstream.end()
      return
    }
    this.endedBy = 'client'
    this.armDeadline()
    if (this.c2s.tracker!.closeSeen) this.upstream.end()
    else if (this.c2s.tracker!.atBoundary && this.upstream.writable) this.upstream.end(closeFrame(CLOSE_GOING_AWAY, true))
    else this.upstream.destroy()
  }
}
