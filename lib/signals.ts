import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { ConfigError, loadConfigFile } from './config/load.js'
import type { GatewayConfig } from './config/types.js'

export interface ShutdownOptions {
  /** How long in-flight requests may take (config shutdown.timeout). */
  timeoutMs: number
  logger: Logger
  /** Runs first: the primary of worker processes drains its workers before it closes itself. */
  before?: () => Promise<void>
}

/**
 * Graceful shutdown on SIGTERM/SIGINT (and on an uncaught error): no new connections, in-flight
 * requests finish for up to timeoutMs, then the process exits; a second signal exits at once.
 * SIGHUP is not a shutdown here: server.ts makes it a reload.
 *
 * The returned close() starts the same shutdown without a signal (a worker told by its primary);
 * it does nothing once a shutdown has begun, so a worker that got the terminal's Ctrl-C or
 * systemd's SIGTERM for the whole process group, and then its primary's word, drains once
 * instead of taking the second as "exit now".
 */
export function shutdownOnSignals (app: FastifyInstance, opts: ShutdownOptions): { close: () => void } {
  let begun = false
  const grace = closeWithGrace({
    delay: opts.timeoutMs,
    skip: ['SIGHUP'],
    logger: { error: (m: unknown) => app.log.error(m) },
    onSecondSignal: (signal: string) => { app.log.warn({ signal }, 'second signal: exiting now') },
    onTimeout: (delay: number) => {
      app.log.warn({ timeoutMs: delay }, 'shutdown timeout reached: exiting with requests still in flight')
      opts.logger.flush()
      process.exit(0)
    }
  }, async ({ signal, err }) => {
    begun = true
    if (err !== undefined) app.log.error({ err }, 'fatal error: shutting down')
    else app.log.info({ signal: signal ?? 'primary' }, 'shutting down: no new connections, finishing in-flight requests')
    await opts.before?.()
    await app.close()
    app.log.info('stopped')
    opts.logger.flush()
  })
  return { close: () => { if (!begun) void grace.close() } }
}

/** SIGHUP re-reads the config file and reloads; an invalid one is logged and the running config keeps serving. */
export function reloadOnSighup (app: FastifyInstance, path: string): void {
  process.on('SIGHUP', () => {
    let next: GatewayConfig
    try {
      next = loadConfigFile(path, process.env)
    } catch (err) {
      app.log.error({ issues: err instanceof ConfigError ? err.issues : undefined, err: err instanceof ConfigError ? undefined : err }, 'reload refused: the config file is invalid; the running config keeps serving')
      return
    }
    app.reloadConfig(next).catch((err: unknown) => {
      app.log.error({ issues: err instanceof ConfigError ? err.issues : undefined, err }, 'reload failed; the running config keeps serving')
    })
  })
}
