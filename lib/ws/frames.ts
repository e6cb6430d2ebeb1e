import { randomBytes } from 'node:crypto'

/** WebSocket close codes the gateway itself sends (RFC 6455 §7.4.1). */
export const CLOSE_GOING_AWAY = 1001
/** RFC 6455 registry: "Bad Gateway", the server acting as a gateway lost its upstream. */
export const CLOSE_BAD_GATEWAY = 1014

const OPCODE_CLOSE = 0x8

/**
 * Follows WebSocket frame boundaries in one direction of a piped connection, without copying or
 * unmasking anything: it reads each frame's 2 to 14 byte header and skips its payload by count.
 * The gateway pipes bytes rather than re-framing messages (transparent to extensions such as
 * permessage-deflate, and cheaper); this is what lets it still end a connection with a proper
 * close frame, which may only be sent between two frames, and tell a backend's own close frame
 * from a connection that just dropped.
 *
 * Hand-written: `ws` only parses frames as part of a full receiver that unmasks and buffers
 * payloads, which is the re-framing this avoids.
 */
export class FrameTracker {
  /** A close frame passed in this direction. */
  closeSeen = false
  /** Payload bytes of the current frame still to come. */
  private remaining = 0
  private readonly header = Buffer.alloc(14)
  private headerLength = 0

  /** Between two frames: a close frame may be inserted here. */
  get atBoundary (): boolean {
    return this.remaining === 0 && this.headerLength === 0
  }

  /**
   * Accounts for chunk[from..]. With `stopAtBoundary`, stops right after the first frame that
   * ends within the chunk. Returns the index it stopped at (chunk.length when it read it all).
   */
  feed (chunk: Buffer, from = 0, stopAtBoundary = false): number {
    let i = from
    const n = chunk.length
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i)
        this.remaining -= take
        i += take
        if (this.remaining === 0 && stopAtBoundary) return i
        continue
      }
      this.header[this.headerLength++] = chunk[i++]!
      const size = headerSize(this.header, this.headerLength)
      if (size === 0 || this.headerLength < size) continue
      if ((this.header[0]! & 0x0f) === OPCODE_CLOSE) this.closeSeen = true
      this.remaining = payloadLength(this.header)
      this.headerLength = 0
      if (this.remaining === 0 && stopAtBoundary) return i
    }
    return i
  }
}

/** Whole header size once its first two bytes are known; 0 before that. */
function headerSize (h: Buffer, have: number): number {
  if (have < 2) return 0
  const len7 = h[1]! & 0x7f
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1]! & 0x80) !== 0 ? 4 : 0)
}

function payloadLength (h: Buffer): number {
  const len7 = h[1]! & 0x7f
  if (len7 === 126) return h.readUInt16BE(2)
  if (len7 === 127) return Number(h.readBigUInt64BE(2))
  return len7
}

/**
 * A close frame with a status code: unmasked as a server sends it to a client, masked (with a
 * random key, RFC 6455 §5.3) as a client sends it to a server.
 */
export function closeFrame (code: number, masked: boolean): Buffer {
  if (!masked) return Buffer.from([0x80 | OPCODE_CLOSE, 2, code >> 8, code & 0xff])
  const key = randomBytes(4)
  return Buffer.from([
    0x80 | OPCODE_CLOSE, 0x80 | 2, key[0]!, key[1]!, key[2]!, key[3]!,
    (code >> 8) ^ key[0]!, (code & 0xff) ^ key[1]!
  ])
}
