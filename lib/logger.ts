import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogConfig } from './config/types.js'

/**
 * The gateway's pino logger: JSON lines on stdout. Writes are asynchronous (buffered) so access
 * logging costs the request path little; the buffer is flushed every second and when the
 * process exits.
 * Tests pass their own stream to read the lines.
 */
export function createLogger (cfg: Pick<LogConfig, 'level'>, stream?: DestinationStream): Logger {
  if (stream !== undefined) return pino({ level: cfg.level, base: { pid: process.pid } }, stream)
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 })
  // A quiet gateway must not hold its last lines back until 4 KiB pile up.
  setInterval(() => { dest.flush() }, FLUSH_INTERVAL_MS).unref()
  return pino({ level: cfg.level, base: { pid: process.pid } }, dest)
}

/** Longest time a log line waits in the buffer. */
export const FLUSH_INTERVAL_MS = 1000
