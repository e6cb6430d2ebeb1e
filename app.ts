import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify'
import type { Logger } from 'pino'
import type { GatewayConfig } from './lib/config/types.js'
import { createClientServer, clientErrorHandler } from './lib/client-limits.js'
import { toOriginForm } from './lib/proxy/request-target.js'
import { GatewayError } from './lib/errors.js'
import { createLogger } from './lib/logger.js'
import configPlugin from './plugins/config.js'
import poolsPlugin, { type PoolsPluginOptions } from './plugins/pools.js'
import healthPlugin from './plugins/health.js'
import metricsPlugin from './plugins/metrics.js'
import proxyPlugin from './plugins/proxy.js'
import adminPlugin from './plugins/admin.js'
import reloadPlugin from './plugins/reload.js'
import connectionsPlugin from './plugins/connections.js'
import proxyRoutes from './routes/proxy.js'

export interface BuildOptions {
  /** A ready logger; default: pino on stdout at config.log.level. */
  logger?: Logger
  pools?: PoolsPluginOptions
  /** The config file, for the admin API's config routes. */
  configPath?: string
}

/** A client's X-Request-Id is kept when it is sane (visible ASCII, at most 128 chars). */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/

/**
 * Generated ids are a random per-process prefix and a counter: unique across restarts and
 * processes, and far cheaper per request than a random UUID.
 */
const ID_PREFIX = randomBytes(6).toString('hex')
let idCounter = 0

function requestId (req: IncomingMessage): string {
  // rawHeaders, not req.headers: Node builds that object lazily and the proxy never needs it.
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 12 && name.toLowerCase() === 'x-request-id') {
      const id = raw[i + 1]!
      if (REQUEST_ID.test(id)) return id
      break
    }
  }
  return `${ID_PREFIX}-${(++idCounter).toString(36)}`
}

/** Catalogue errors raised inside Fastify's own lifecycle (not the proxy's), same JSON shape. */
function replyError (reply: FastifyReply, id: string, e: GatewayError): void {
  void reply.code(e.status).header('x-request-id', id).type('application/json; charset=utf-8').send(e.toBody())
}

/**
 * Builds the gateway (not listening): the client server with its limits, then the plugins in
 * dependency order, then the proxy's catch-all route. server.ts listens; tests build and inject
 * or listen on port 0.
 */
export async function buildApp (config: GatewayConfig, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger ?? createLogger(config.log),
    // The proxy writes one access line itself; Fastify's two per-request lines and its
    // per-request child logger would only cost time.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger) => logger,
    requestIdHeader: false,
    genReqId: requestId,
    rewriteUrl: toOriginForm,
    serverFactory: (handler) => createClientServer(config.listen, handler),
    clientErrorHandler,
    // Fastify's own 400 for a URL it cannot decode, in the catalogue's shape.
    frameworkErrors: (_err, req, reply) => { replyError(reply as FastifyReply, req.id, new GatewayError('GW_BAD_REQUEST')) }
  }) as unknown as FastifyInstance
  app.setNotFoundHandler((req, reply) => { replyError(reply, req.id, new GatewayError('GW_ROUTE_NOT_FOUND')) })
  app.setErrorHandler((err, req, reply) => {
    // Errors thrown on purpose by our own hooks (the rate limiter) carry a catalogue code.
    const e = err as { statusCode?: number, error?: string, message?: string }
    if (e.statusCode !== undefined && e.statusCode < 500 && typeof e.error === 'string' && e.error.startsWith('GW_')) {
      void reply.code(e.statusCode).header('x-request-id', req.id).type('application/json; charset=utf-8').send(JSON.stringify({ error: e.error, message: e.message }))
      return
    }
    req.log.error({ reqId: req.id, err }, 'unhandled error')
    replyError(reply, req.id, new GatewayError('GW_INTERNAL', [], err))
  })

  await app.register(configPlugin, { config })
  await app.register(poolsPlugin, opts.pools ?? {})
  await app.register(healthPlugin)
  await app.register(metricsPlugin)
  await app.register(proxyPlugin)
  await app.register(connectionsPlugin)
  await app.register(reloadPlugin, { deps: opts.pools?.deps })
  await app.register(adminPlugin, { configPath: opts.configPath })
  await app.register(proxyRoutes)
  return app
}
