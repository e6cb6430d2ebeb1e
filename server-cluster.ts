/**
 * How server.ts runs with `workers` above 1 (docs/workers.md): the primary (config, admin API,
 * active health checks, reload coordinator) and the worker processes that serve the client
 * listeners. node:cluster forks this same file; a forked process has GATEWAY_WORKER set and
 * runs runWorker() instead of main().
 */
import type { Logger } from 'pino'
import { buildApp } from './app.js'
import type { GatewayConfig } from './lib/config/types.js'
import { loadModules, type LoadedModules } from './lib/config/modules.js'
import { createLogger } from './lib/logger.js'
import { reloadOnSighup, shutdownOnSignals } from './lib/signals.js'
import { WorkerSet } from './lib/cluster/primary.js'
import { WorkerAgent } from './lib/cluster/worker.js'
import { RemoteRateStore } from './lib/cluster/rate-store.js'
import { RedisRateStore } from './lib/traffic/rate-redis.js'
import { applyShared } from './lib/cluster/pool-sync.js'
import { WORKER_ENV, type FromWorker, type ToWorker } from './lib/cluster/messages.js'
import type { FastifyInstance } from 'fastify'
import type { OpenedStore } from './lib/store/open.js'

/** The primary waits this much beyond shutdown.timeout for its workers to drain before it exits anyway. */
const PRIMARY_GRACE_MS = 2000

export const portOf = (s: { address: () => unknown }): number | undefined => (s.address() as { port?: number } | null)?.port

export interface PrimaryOptions {
  config: GatewayConfig
  configPath: string
  modules: LoadedModules
  logger: Logger
  store: OpenedStore
}

/**
 * The primary: builds the gateway as a single process does (its pools hold the one view of
 * backend state, its health checkers probe for everyone) but binds no client listener; forks
 * the workers, which do; then opens the admin API. Exit code 1 when a worker cannot start.
 */
export async function runPrimary (opts: PrimaryOptions): Promise<void> {
  const { config, logger } = opts
  // The worker set and the app refer to each other: the app is built with the set's view.
  const ref: { app?: FastifyInstance } = {}
  // With store.redis the workers' rate limits count in Redis, through the primary (one connection).
  const rates = config.store.redis === undefined ? undefined : new RedisRateStore({ ...config.store.redis, timeoutMs: config.store.redis.timeout, logger: logger.child({ role: 'primary' }) })
  const workers = new WorkerSet({
    rates,
    count: config.workers.count,
    logger: logger.child({ role: 'primary' }),
    configPath: opts.configPath,
    config: () => ref.app!.gatewayConfig,
    pools: () => ref.app!.pools,
    onRestart: () => { ref.app?.gatewayMetrics.prometheus.workerRestarts.inc() }
  })
  const app = await buildApp(config, { logger, configPath: opts.configPath, modules: opts.modules, workers, store: opts.store, rateStore: rates })
  ref.app = app
  app.reload.register(workers.participant())
  let ports: number[]
  try {
    await app.ready()
    ports = await workers.start()
    await app.adminServer.listen({ host: config.admin.host, port: config.admin.port })
  } catch (err) {
    app.log.fatal({ code: (err as NodeJS.ErrnoException).code }, `gateway not started: ${(err as Error).message}`)
    await workers.stop()
    await app.close()
    process.exitCode = 1
    return
  }
  app.fleet?.listening({ address: `${config.listen[0].host}:${ports[0]}`, admin: `${config.admin.host}:${portOf(app.adminServer.server)}` })
  app.log.info({ config: opts.configPath, pools: Object.keys(config.pools), port: ports[0], ports, adminPort: portOf(app.adminServer.server), workers: config.workers.count }, 'gateway ready')
  reloadOnSighup(app, opts.configPath)
  shutdownOnSignals(app, { timeoutMs: config.shutdown.timeout + PRIMARY_GRACE_MS, logger, before: async () => { await workers.stop() } })
}

/**
 * A worker: waits for the primary's `start` (the config in force, already validated, and the
 * primary's view of every pool), builds the gateway without active health checks or an admin
 * server, binds the client listeners (shared through the primary by node:cluster), says
 * `ready`, then follows the primary (lib/cluster/worker.ts). SIGTERM drains it as a single
 * gateway drains; when the primary dies, node:cluster ends the worker (no orphans).
 */
export async function runWorker (): Promise<void> {
  const n = Number(process.env[WORKER_ENV])
  const send = (m: FromWorker): void => { if (process.connected) process.send!(m) }
  const start = await new Promise<Extract<ToWorker, { t: 'start' }>>((resolve) => {
    const first = (m: ToWorker): void => {
      if (m.t !== 'start') return
      process.removeListener('message', first)
      resolve(m)
    }
    process.on('message', first)
    send({ t: 'hello' })
  })
  const { config } = start
  const logger = createLogger(config.log).child({ worker: n })
  let app: FastifyInstance | undefined
  const rates = new RemoteRateStore(send, () => { logger.warn('the primary did not count a rate-limited request within 1 s: let through') })
  try {
    const modules = await loadModules(config, start.configPath)
    app = await buildApp(config, { logger, configPath: start.configPath, modules, worker: true, rateStore: rates })
    for (const [name, backends] of Object.entries(start.pools)) {
      const pool = app.pools.get(name)
      if (pool !== undefined) applyShared(pool, backends, () => {})
    }
    await app.ready()
    await app.traffic.listen()
  } catch (err) {
    send({ t: 'failed', message: (err as Error).message })
    await app?.close()
    process.exitCode = 1
    process.disconnect()
    return
  }
  const agent = new WorkerAgent(app, send, rates)
  // SIGHUP goes to the primary, which reloads every worker; a worker ignores its own.
  process.on('SIGHUP', () => {})
  const shutdown = shutdownOnSignals(app, { timeoutMs: config.shutdown.timeout, logger, signals: false })
  process.on('message', (m: ToWorker) => {
    if (m.t === 'shutdown') {
      shutdown.close()
      return
    }
    agent.handle(m).catch((err: unknown) => { app.log.error({ err }, 'handling a message from the primary failed') })
  })
  send({ t: 'ready', ports: app.traffic.servers().map((s) => portOf(s) ?? 0) })
}
