import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { GatewayConfig } from './lib/config/types.js'
import { loadModules, type LoadedModules } from './lib/config/modules.js'
import { TrafficSwitch } from './lib/traffic-switch.js'
import { createLogger } from './lib/logger.js'
import { GatewayError } from './lib/errors.js'
import { sendError } from './lib/proxy/respond.js'
import reloadPlugin from './plugins/reload.js'
import configPlugin from './plugins/config.js'
import logPlugin from './plugins/log.js'
import poolsPlugin, { type PoolsPluginOptions } from './plugins/pools.js'
import healthPlugin from './plugins/health.js'
import metricsPlugin from './plugins/metrics.js'
import proxyPlugin from './plugins/proxy.js'
import adminPlugin from './plugins/admin.js'
import storePlugin from './plugins/store.js'
import dashboardPlugin from './plugins/dashboard.js'
import { GATEWAY_VERSION } from './lib/version.js'
import { RedisRateStore } from './lib/traffic/rate-redis.js'
import { SharedHealth } from './lib/store/shared-health.js'
import { watchRedisRates } from './plugins/rate-redis-metrics.js'
import type { OpenedStore } from './lib/store/open.js'
import type { WorkersView } from './routes/admin-workers.js'
import type { RateStore } from './lib/traffic/rate-counters.js'
import connectionsPlugin from './plugins/connections.js'
import trafficPlugin from './plugins/traffic.js'

export interface BuildOptions {
  /** A ready logger; default: pino on stdout at config.log.level. */
  logger?: Logger
  pools?: PoolsPluginOptions
  /** The config file, for the admin API's config routes. */
  configPath?: string
  /**
   * The custom algorithms and middleware plugins the config names, from loadModules(config).
   * Default: loaded here (a bad module then makes buildApp throw its ConfigError).
   */
  modules?: LoadedModules
  /** In a worker process: no active health checks (the primary's results come by IPC). */
  worker?: boolean
  /**
   * In the primary of worker processes: their list and counters, for the admin API. The
   * primary binds no client or tcp listener, at start or on reload: its workers do.
   */
  workers?: WorkersView
  /**
   * Where the rate limiter counts: in a worker process, the primary; in the primary, what its
   * workers count in. Default: Redis with store.redis (lib/traffic/rate-redis.ts), else this
   * process's counters.
   */
  rateStore?: RateStore
  /** The config store server.ts opened (lib/store/open.ts); default: one in memory. */
  store?: OpenedStore
}

/**
 * Builds the gateway (not listening): the plugins in dependency order; the traffic plugin builds
 * the client listeners and the instance that handles client requests. This root instance's own
 * server never listens: server.ts (and tests) call app.traffic.listen() for the client listeners
 * and app.adminServer.listen() for the admin API.
 *
 * The reload coordinator comes first: every later plugin whose state a reload changes
 * registers its participant with it as it is registered, so the registration order below is
 * the reload's order (docs/reload.md).
 */
export async function buildApp (config: GatewayConfig, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const modules = opts.modules ?? await loadModules(config)
  // The client listener hands requests and upgrades to the current traffic generation
  // (lib/traffic/generation.ts), which a reload may replace; this root instance holds the shared state.
  const traffic = new TrafficSwitch((_req, res) => { sendError(res, new GatewayError('GW_STARTING'), '', false) })
  const app = Fastify({
    loggerInstance: opts.logger ?? createLogger(config.log),
    logController: new LogController({ disableRequestLogging: true })
  }) as unknown as FastifyInstance

  await app.register(reloadPlugin)
  await app.register(configPlugin, { config })
  await app.register(logPlugin)
  await app.register(poolsPlugin, { ...opts.pools, deps: { ...opts.pools?.deps, customAlgorithms: modules.algorithms, ...(opts.worker === true ? { ejections: 'primary' as const } : {}) } })
  // Shared health checks need the fleet (etcd): who probes which backend, and the others' results.
  const fleet = opts.store?.fleet
  const sharedHealth = fleet === undefined || opts.worker === true ? undefined : new SharedHealth(fleet.client, fleet.prefix, fleet.instance, app.log)
  await app.register(healthPlugin, { probe: opts.worker !== true, shared: sharedHealth })
  await app.register(metricsPlugin)
  const rates = opts.rateStore ?? (config.store.redis !== undefined && opts.worker !== true ? new RedisRateStore({ ...config.store.redis, timeoutMs: config.store.redis.timeout, logger: app.log }) : undefined)
  if (rates instanceof RedisRateStore) watchRedisRates(app, rates)
  await app.register(proxyPlugin)
  await app.register(connectionsPlugin, { serve: opts.workers === undefined })
  await app.register(trafficPlugin, { switch: traffic, plugins: modules.plugins, counters: rates, serve: opts.workers === undefined })
  await app.register(storePlugin, { opened: opts.store, version: GATEWAY_VERSION, sharedHealth })
  await app.register(dashboardPlugin, { workers: opts.workers, sample: opts.worker !== true })
  await app.register(adminPlugin, { configPath: opts.configPath, workers: opts.workers })
  return app
}
