import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { ConfigError } from './config/load.js'
import { applyConfigFile } from './store/file-reload.js'

export interface ShutdownOptions {
  /** How long in-flight requests may take (config shutdown.timeout). */
  timeoutMs: number
  logger: Logger
  /** Runs first: the primary of worker processes drains its workers before it closes itself. */
  before?: () => Promise<void>
  /**
   * False in a worker process: SIGTERM and SIGINT are ignored, and only close() (its primary's
   * word) starts the shutdown. A signal sent to the whole process group (Ctrl-C, systemd's
   * control-group SIGTERM) reaches the primary too, which then tells every worker; had a worker
   * acted on both, whichever came second would count as "exit now", with requests in flight.
   */
  signals?: boolean
}

/**
 * Graceful shutdown on SIGTERM/SIGINT (and on an uncaught error): no new connections, in-flight
 * requests finish for up to timeoutMs, then the process exits; a second signal exits at once.
 * SIGHUP is not a shutdown here: server.ts makes it a reload.
 *
 * The returned close() starts the same shutdown without a signal (a worker told by its primary);
 * it does nothing once a shutdown has begun.
 */
export function shutdownOnSignals (app: FastifyInstance, opts: ShutdownOptions): { close: () => void } {
  let begun = false
  const own = opts.signals !== false
  if (!own) for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => {})
  const grace = closeWithGrace({
    delay: opts.timeoutMs,
    skip: own ? ['SIGHUP'] : ['SIGHUP', 'SIGTERM', 'SIGINT'],
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
  return {
    close: () => {
      if (begun) return
      begun = true
      void grace.close()
    }
  }
}

/**
 * SIGHUP re-reads the config file and applies it as a new revision, with the admin API's changes
 * on top (lib/store/file-reload.ts); an invalid one is logged and the running config keeps serving.
 */
export function reloadOnSighup (app: FastifyInstance, path: string): void {
  process.on('SIGHUP', () => {
    applyConfigFile(app.configStore, path, process.env, { reset: false, via: 'signal' }).catch((err: unknown) => {
      if (err instanceof ConfigError) app.log.error({ issues: err.issues }, 'reload refused: the config file is invalid; the running config keeps serving')
      else app.log.error({ err }, 'reload failed; the running config keeps serving')
    })
  })
}
