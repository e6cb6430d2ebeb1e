import type { Socket } from 'node:net'
import type { FrameTracker } from '../ws/frames.js'

/**
 * One direction of a proxied connection: every chunk read from `src` is written to `dst`, with
 * backpressure (src pauses while dst's buffer is full) and a byte count. With a FrameTracker
 * (WebSocket) it also follows frame boundaries, so forwarding can be stopped between two frames.
 * Chunks are forwarded as they are: no copy, no re-framing.
 */
export class Splice {
  /** Bytes forwarded so far. */
  bytes = 0
  private onBoundary: (() => void) | undefined
  private stopped = false

  constructor (private readonly src: Socket, private readonly dst: Socket, readonly tracker?: FrameTracker) {
    src.on('data', this.onData)
    dst.on('drain', () => { if (!this.stopped) src.resume() })
  }

  /** Bytes that arrived with the handshake (already read from src): forwarded first. */
  forwardHead (head: Buffer): void {
    if (head.length > 0) this.onData(head)
  }

  /**
   * Stops forwarding at the next frame boundary (at once when between frames) and then calls
   * `then`; whatever src sends after that point is dropped. Without a tracker it stops at once.
   */
  stopAtBoundary (then: () => void): void {
    if (this.stopped) return
    if (this.tracker === undefined || this.tracker.atBoundary) {
      this.stop()
      then()
      return
    }
    this.onBoundary = then
  }

  private stop (): void {
    this.stopped = true
    this.src.removeListener('data', this.onData)
    this.src.resume() // keep reading (and discarding) so the peer's close reply can arrive
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.stopped) return
    let out = chunk
    const t = this.tracker
    if (t !== undefined) {
      if (this.onBoundary !== undefined) {
        const end = t.feed(chunk, 0, true)
        if (t.atBoundary) {
          out = end === chunk.length ? chunk : chunk.subarray(0, end)
          this.bytes += out.length
          this.dst.write(out)
          const then = this.onBoundary
          this.onBoundary = undefined
          this.stop()
          then()
          return
        }
      } else {
        t.feed(chunk)
      }
    }
    this.bytes += out.length
    if (!this.dst.write(out)) this.src.pause()
  }
}
