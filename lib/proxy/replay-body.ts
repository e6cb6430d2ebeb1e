import { Readable } from 'node:stream'

/**
 * A streamed request body (a gRPC call's messages) that can be sent again to another backend
 * while what was read of it so far is at most `limit` bytes: gRPC's retry buffer (gRFC A6 keeps
 * a per-call buffer the same way). The body keeps streaming as it arrives, with backpressure;
 * nothing waits for its end, so streaming and bidirectional calls work as before.
 *
 * Contract: open() gives the stream for one try: the bytes kept so far, then the rest as it
 * comes; a later open() ends the previous try's stream (that try failed). Once more than `limit`
 * bytes were read, nothing is kept and `replayable` is false for good: the caller must not open
 * another try then. The source is paused whenever no try is reading (between tries).
 */
export class ReplayBody {
  private kept: Buffer[] = []
  private size = 0
  private overflowed = false
  private ended = false
  private failed: Error | undefined
  private current: Readable | undefined

  constructor (private readonly source: Readable, private readonly limit: number) {
    source.on('data', this.onData)
    source.once('end', this.onEnd)
    source.once('error', this.onError)
    source.pause()
  }

  /** Whether another try can get the whole body (nothing was dropped). */
  get replayable (): boolean {
    return !this.overflowed && this.failed === undefined
  }

  /** The body for the next try. Only while `replayable`, or for the first try. */
  open (): Readable {
    const previous = this.current
    if (previous !== undefined && !previous.destroyed) previous.destroy()
    const stream = new Readable({
      read: () => { if (this.current === stream && !this.ended) this.source.resume() }
    })
    this.current = stream
    for (const chunk of this.kept) stream.push(chunk)
    if (this.ended) stream.push(null)
    else if (this.failed !== undefined) stream.destroy(this.failed)
    return stream
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.overflowed) {
      this.size += chunk.length
      if (this.size <= this.limit) this.kept.push(chunk)
      else {
        this.overflowed = true
        this.kept = []
      }
    }
    const cur = this.current
    if (cur === undefined || cur.destroyed || !cur.push(chunk)) this.source.pause()
  }

  private readonly onEnd = (): void => {
    this.ended = true
    const cur = this.current
    if (cur !== undefined && !cur.destroyed) cur.push(null)
  }

  private readonly onError = (err: Error): void => {
    this.failed = err
    const cur = this.current
    if (cur !== undefined && !cur.destroyed) cur.destroy(err)
  }
}
