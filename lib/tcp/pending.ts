import type { Socket } from 'node:net'

/** What a client may send while its backend connect is pending before it is paused (bytes). */
export const PENDING_BUFFER_BYTES = 64 * 1024

/**
 * A client connection whose backend connect is pending (lib/tcp/listener.ts dial). It is read
 * into a bounded buffer meanwhile, so that its leaving is noticed and the connect cancelled
 * (as HAProxy's abortonclose does for requests waiting for a server) instead of finishing it
 * and handing the backend a connection that ends at once:
 *
 * - a reset, an error or a close means the client left;
 * - a FIN before any byte means it left too: there is nothing to forward, and no reply can
 *   be asked for;
 * - bytes followed by a FIN are a request whose end is the half-close (`printf 'req' | nc -N`):
 *   they are kept, and forwarded with the FIN once connected (`release()`).
 *
 * Past PENDING_BUFFER_BYTES the client is paused until the tunnel takes over (its leaving is
 * then noticed only after the connect). `onGone`, set by whoever is waiting (a connect, a
 * backoff), is called once, when the client leaves.
 */
export class PendingClient {
  /** Set by the current connect or backoff; called once if the client leaves. */
  onGone: (() => void) | undefined
  private leftAt = false
  private ended = false
  private readonly head: Buffer[] = []
  private bytes = 0

  constructor (private readonly client: Socket) {
    client.on('data', this.onData)
    client.on('end', this.onEnd)
    client.on('close', this.onClose)
    client.resume() // accepted with pauseOnConnect
  }

  /** Whether the client has left. */
  get gone (): boolean {
    return this.leftAt
  }

  /**
   * The connect succeeded: stops watching, pauses the client (the tunnel resumes it) and gives
   * what it sent meanwhile, and whether it has already half-closed.
   */
  release (): { head: Buffer[], ended: boolean } {
    this.onGone = undefined
    this.client.removeListener('data', this.onData)
    this.client.removeListener('end', this.onEnd)
    this.client.removeListener('close', this.onClose)
    this.client.pause()
    return { head: this.head, ended: this.ended }
  }

  private leave (): void {
    if (this.leftAt) return
    this.leftAt = true
    const gone = this.onGone
    this.onGone = undefined
    gone?.()
    this.client.destroy()
  }

  private readonly onData = (chunk: Buffer): void => {
    this.head.push(chunk)
    this.bytes += chunk.length
    if (this.bytes >= PENDING_BUFFER_BYTES) this.client.pause()
  }

  private readonly onEnd = (): void => {
    this.ended = true
    if (this.bytes === 0) this.leave()
  }

  private readonly onClose = (): void => { this.leave() }
}
