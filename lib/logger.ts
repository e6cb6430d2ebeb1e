import { pino, type Logger, type DestinationStream } from 'pino'
type SonicBoom = ReturnType<typeof pino.destination>
import type { LogConfig } from './config/types.js'

/** Longest time a log line waits before it is written. */
export const FLUSH_INTERVAL_MS = 200
/** Pending characters that trigger a write before the interval is up. */
export const BATCH_CHARS = 64 * 1024

/**
 * Collects log lines and hands them to the destination in batches of about 64 KiB, or every
 * FLUSH_INTERVAL_MS, whichever comes first; the rest is written synchronously at exit.
 *
 * Why not pino.destination's own buffering (minLength): sonic-boom measures the byte length of
 * its whole pending buffer on every write, so the per-line cost grows with the buffer (measured
 * here: 1.8 µs a line at 4 KiB, 3.2 µs at 32 KiB, against 0.16 µs for push-and-join), and each
 * small batch is one more write on the thread pool, which shares the gateway's core.
 */
export class LineBatcher implements DestinationStream {
  private parts: string[] = []
  private chars = 0

  constructor (private readonly dest: SonicBoom) {
    setInterval(() => { this.drain() }, FLUSH_INTERVAL_MS).unref()
    process.once('exit', () => { this.drain(); try { dest.flushSync() } catch { /* not open yet */ } })
  }

  write (line: string): void {
    this.parts.push(line)
    this.chars += line.length
    if (this.chars >= BATCH_CHARS) this.drain()
  }

  /** pino's logger.flush() lands here: write what is pending, then let the destination flush. */
  flush (cb?: (err?: Error) => void): void {
    this.drain()
    this.dest.flush(cb)
  }

  private drain (): void {
    if (this.parts.length === 0) return
    const chunk = this.parts.join('')
    this.parts = []
    this.chars = 0
    this.dest.write(chunk)
  }
}

/**
 * The gateway's pino logger: JSON lines on stdout, written asynchronously in large batches so
 * access logging costs the request path little. Tests pass their own stream to read the lines.
 */
export function createLogger (cfg: Pick<LogConfig, 'level'>, stream?: DestinationStream): Logger {
  if (stream !== undefined) return pino({ level: cfg.level, base: { pid: process.pid } }, stream)
  const dest = pino.destination({ dest: 1, sync: false, maxWrite: 2 * BATCH_CHARS })
  return pino({ level: cfg.level, base: { pid: process.pid } }, new LineBatcher(dest))
}
