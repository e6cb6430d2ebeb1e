import { Transform, type TransformCallback } from 'node:stream'
import { GatewayError } from '../errors.js'

/**
 * Passes a chunked request body through, failing with GW_BODY_TOO_LARGE as soon as more than
 * `max` bytes have arrived. Bodies with a Content-Length are checked before forwarding instead,
 * so this stream is only on the path of chunked uploads to routes that set maxBodySize.
 */
export class BodyLimit extends Transform {
  private seen = 0
  constructor (private readonly max: number) {
    super()
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length
    if (this.seen > this.max) cb(new GatewayError('GW_BODY_TOO_LARGE', [this.max]))
    else cb(null, chunk)
  }
}
