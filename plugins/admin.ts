import fp from 'fastify-plugin'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import adminRoutes, { tokenCheck } from '../routes/admin.js'
import adminConfigRoutes from '../routes/admin-config.js'
import adminTlsRoutes from '../routes/admin-tls.js'
import dashboardRoutes from '../routes/dashboard.js'
import { aggregateMetrics } from '../lib/cluster/metrics.js'
import adminWorkersRoutes, { type WorkersView } from '../routes/admin-workers.js'
import { gatewayErrorHandler } from '../lib/http/error-reply.js'
import fastifyMetricsModule, { type IMetricsPluginOptions } from 'fastify-metrics'
import type { FastifyPluginCallback } from 'fastify'

declare module 'fastify' {
  interface FastifyInstance {
    /** The admin server (its own listener, admin.host:admin.port); server.ts makes it listen. */
    readonly adminServer: FastifyInstance
  }
}

// fastify-metrics is CommonJS with `exports.default`: under ESM the plugin is on `.default`.
const fastifyMetrics = (fastifyMetricsModule as unknown as { default: FastifyPluginCallback<Partial<IMetricsPluginOptions>> }).default

/**
 * The admin server, apart from client traffic: `GET /healthz` (the process is alive),
 * `GET /readyz` (every pool has a ready backend, else 503), the Prometheus endpoint
 * (`metrics.path`, through fastify-metrics, which also adds the process and Node metrics), the
 * backend API under /admin (routes/admin.ts; token-protected when admin.token is set) and its
 * OpenAPI document at /docs/json. It is closed with the gateway.
 */
export interface AdminPluginOptions {
  /** The config file the gateway runs from (for relative paths in validated configs). */
  configPath?: string
  /** In the primary of worker processes: their list and counters (GET /admin/workers, summed pools). */
  workers?: WorkersView
}

async function adminPlugin (app: FastifyInstance, opts: AdminPluginOptions): Promise<void> {
  const cfg = app.gatewayConfig
  // Scrapes and probes every few seconds would flood the log: no per-request lines here.
  const admin = Fastify({ loggerInstance: app.log.child({ server: 'admin' }), logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance
  await admin.register(fastifyMetrics, {
    // With workers, the primary serves the sum of every process below instead.
    endpoint: opts.workers === undefined ? cfg.metrics.path : null,
    // Our registry, not prom-client's global one: several gateways may share a process (tests).
    defaultMetrics: { enabled: true, register: app.gatewayMetrics.prometheus.registry },
    // The admin routes' own timings are not the gateway's traffic.
    routeMetrics: { enabled: false }
  })
  if (opts.workers !== undefined) {
    const workers = opts.workers
    const registry = app.gatewayMetrics.prometheus.registry
    admin.get(cfg.metrics.path, { schema: { hide: true } }, async (_req, reply) =>
      await reply.type(registry.contentType).send(await aggregateMetrics(registry, await workers.metrics())))
  }
  // Every error of the admin server (a failed schema, a thrown GatewayError, a bug) in the catalogue's shape.
  admin.setErrorHandler(gatewayErrorHandler({ badRequest: 'GW_ADMIN_BAD_REQUEST' }))
  // OpenAPI document of the admin routes, served at /docs/json.
  await admin.register(swagger, { openapi: { info: { title: 'UltraBalancer admin API', version: '1' } } })
  admin.get('/docs/json', { schema: { hide: true } }, async () => admin.swagger())
  await admin.register(adminRoutes, { pools: app.pools, token: cfg.admin.token, store: app.configStore, counters: opts.workers === undefined ? undefined : async () => (await opts.workers!.counters()).pools })
  await admin.register(adminWorkersRoutes, { workers: opts.workers, served: app.traffic.served, token: cfg.admin.token })
  // The config routes sit in their own scope (text bodies), behind the same token.
  await admin.register(async (scope) => {
    if (cfg.admin.token !== '') scope.addHook('onRequest', tokenCheck(cfg.admin.token))
    await scope.register(adminConfigRoutes, { store: app.configStore, configPath: opts.configPath, fleet: app.fleet })
  })
  await admin.register(adminTlsRoutes, { certificates: app.traffic.certificates, token: cfg.admin.token })
  await admin.register(dashboardRoutes, { sampler: app.dashboard, token: cfg.admin.token })
  admin.get('/healthz', async () => ({ status: 'ok' }))
  admin.get('/readyz', async (_req, reply) => {
    const pools = [...app.pools.values()].map((p) => ({ pool: p.name, ready: p.readyCount(), backends: p.backends.length }))
    const ready = pools.every((p) => p.ready > 0)
    // The store does not decide readiness: a gateway cut off from etcd keeps serving its last
    // config (pulling every instance out of rotation when etcd fails would be an outage); it is said here.
    const s = app.configStore
    const store = { connected: s.connected, revision: s.revision, behind: s.behind, ...(s.refusedRemote === undefined ? {} : { refused: s.refusedRemote }) }
    return await reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', pools, store })
  })
  app.decorate('adminServer', admin)
  // Reload ("admin" participant): the admin listener and its token are set up once.
  app.reload.register({
    name: 'admin',
    prepare: (next, ctx) => {
      if (JSON.stringify(next.admin) !== JSON.stringify(cfg.admin)) ctx.needsRestart('admin')
      return undefined
    }
  })
  app.addHook('onClose', async () => { await admin.close() })
}

export default fp(adminPlugin, { name: 'gateway-admin', dependencies: ['gateway-config', 'gateway-pools', 'gateway-metrics', 'gateway-reload', 'gateway-traffic', 'gateway-store', 'gateway-dashboard'], fastify: '5.x' })
