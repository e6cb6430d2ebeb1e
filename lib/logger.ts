import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogConfig } from './config/types.js'

/**
 * The gateway's pino logger: JSON lines on stdout. Writes are asynchronous (buffered) so access
 * logging costs the request path little; pino flushes the buffer when the process exits.
 * Tests pass their own stream to read the lines.
 */
export function createLogger (cfg: Pick<LogConfig, 'level'>, stream?: DestinationStream): Logger {
  const dest = stream ?? pino.destination({ dest: 1, sync: false, minLength: 4096 })
  return pino({ level: cfg.level, base: { pid: process.pid } }, dest)
}
