import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type Server, type Server as HttpServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify'
import fastifyWebsocket from '@fastify/websocket'
import type { GatewayConfig, ListenConfig } from '../lib/config/types.js'
import { createClientServer } from '../lib/client-limits.js'
import type { TrafficSwitch } from '../lib/traffic-switch.js'
import { toOriginForm } from '../lib/proxy/request-target.js'
import { GatewayError } from '../lib/errors.js'
import { gatewayErrorHandler, replyError } from '../lib/http/error-reply.js'
import proxyRoutes from '../routes/proxy.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The request-handling generations of the client listener. */
    traffic: {
      /**
       * Builds a generation for `config` (its middleware plugins, rate limiter and proxy route)
       * and returns the switch to it, to be called in the reload's synchronous step; throws,
       * changing nothing, when a plugin fails to register.
       */
      prepare: (config: GatewayConfig) => Promise<{ commit: () => void, abort: () => void }>
      /** Whether `next` needs a new generation rather than the running one. */
      needsRebuild: (next: GatewayConfig) => boolean
      /**
       * A changed `listen` section: limits are applied to the running server in place; a new
       * address is bound now, by a new server, and the returned switch closes the old one
       * (it stops accepting; its open connections finish). Throws, changing nothing, when the
       * new address cannot be bound.
       */
      relisten: (next: ListenConfig) => Promise<{ commit: () => void, abort: () => void }>
      /** The client listener's server now (app.server until a reload moves the address). */
      server: () => HttpServer
    }
  }
}

export interface TrafficPluginOptions {
  switch: TrafficSwitch
}

/** How long a replaced generation stays open for the requests it took in before it is closed. */
export const RETIRE_AFTER_MS = 60_000

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

/**
 * Client traffic is handled by a "generation": a Fastify instance of its own (it never listens)
 * holding what a reload may change but Fastify cannot change once started: the middleware
 * plugins, the rate limiter, @fastify/websocket and the proxy's catch-all route. The client
 * listener's server hands every request and upgrade to the current generation (TrafficSwitch).
 * A reload that changes the plugins (or has any: their code is imported afresh) or turns rate
 * limiting on or off builds a new generation, ready before the switch; the old one finishes the
 * requests it took in and is closed RETIRE_AFTER_MS later (its plugins' onClose hooks run then).
 * A reload that changes neither keeps the generation, and so the rate limiter's counters.
 */
async function trafficPlugin (app: FastifyInstance, opts: TrafficPluginOptions): Promise<void> {
  const build = async (config: GatewayConfig): Promise<{ instance: FastifyInstance, upgrades: EventEmitter }> => {
    const instance = Fastify({
      loggerInstance: app.log,
      // The proxy writes one access line itself; Fastify's two per-request lines and its
      // per-request child logger would only cost time.
      logController: new LogController({ disableRequestLogging: true }),
      childLoggerFactory: (logger) => logger,
      requestIdHeader: false,
      genReqId: requestId,
      rewriteUrl: toOriginForm,
      // Never listens: the client listener's server calls its routing (TrafficSwitch).
      serverFactory: (handler) => createServer(handler),
      // Fastify's own 400 for a URL it cannot decode, in the catalogue's shape.
      frameworkErrors: (_err, _req, reply) => { void replyError(reply as FastifyReply, new GatewayError('GW_BAD_REQUEST')) }
    }) as unknown as FastifyInstance
    instance.setNotFoundHandler((_req, reply) => { void replyError(reply, new GatewayError('GW_ROUTE_NOT_FOUND')) })
    // Errors thrown by hooks (the rate limiter's GW_RATE_LIMITED, a middleware plugin's bug).
    instance.setErrorHandler(gatewayErrorHandler({ badRequest: 'GW_BAD_REQUEST' }))
    const upgrades = new EventEmitter()
    // Upgrades reach this generation's @fastify/websocket through its own emitter only.
    await instance.register(fastifyWebsocket, { options: { server: upgrades as unknown as Server } })
    // Optionally the metrics on the client listener: a route of its own, ahead of the proxy.
    if (config.metrics.onClientListener) {
      const registry = app.gatewayMetrics.prometheus.registry
      instance.get(config.metrics.path, async (_req, reply) => await reply.type(registry.contentType).send(await registry.metrics()))
    }
    await instance.register(proxyRoutes, { proxy: app.proxy, upgrade: app.proxyUpgrade, plugins: config.plugins, rateLimited: config.routes.some((r) => r.rateLimit !== undefined) })
    await instance.ready()
    return { instance, upgrades }
  }

  let current = await build(app.gatewayConfig)
  let running = app.gatewayConfig
  const retiring = new Set<FastifyInstance>()
  opts.switch.swap(current.instance.routing, current.upgrades)

  const retire = (old: FastifyInstance): void => {
    retiring.add(old)
    setTimeout(() => {
      retiring.delete(old)
      void old.close()
    }, RETIRE_AFTER_MS).unref()
  }

  let server: HttpServer = app.server
  let listen = app.gatewayConfig.listen
  const relisten = async (next: ListenConfig): Promise<{ commit: () => void, abort: () => void }> => {
    // Port 0 ("any") keeps the bound port, as does the bound port itself.
    const bound = (server.address() as { port?: number } | null)?.port
    if (next.host === listen.host && (next.port === listen.port || next.port === 0 || next.port === bound)) {
      return {
        abort: () => {},
        commit: () => {
        // Read by Node per new connection or request: open connections keep what they had.
        server.headersTimeout = next.headersTimeout
        server.requestTimeout = next.requestTimeout
        server.keepAliveTimeout = next.keepAliveTimeout
          ;(server as { maxHeaderSize?: number }).maxHeaderSize = next.maxHeaderSize
          listen = next
        }
      }
    }
    const fresh = createClientServer(next, opts.switch.handle)
    fresh.on('upgrade', opts.switch.upgrade)
    await new Promise<void>((resolve, reject) => {
      fresh.once('error', reject)
      fresh.listen({ host: next.host, port: next.port }, () => { fresh.removeListener('error', reject); resolve() })
    })
    return {
      abort: () => { fresh.close() },
      commit: () => {
        const old = server
        server = fresh
        listen = next
        // The old address stops accepting; its keep-alive connections close when idle, and
        // requests on them finish.
        old.close()
        old.closeIdleConnections()
      }
    }
  }

  app.decorate('traffic', {
    needsRebuild: (next: GatewayConfig) => next.plugins.length > 0 ||
      JSON.stringify(next.plugins) !== JSON.stringify(running.plugins) ||
      next.routes.some((r) => r.rateLimit !== undefined) !== running.routes.some((r) => r.rateLimit !== undefined) ||
      JSON.stringify(next.metrics.onClientListener ? next.metrics.path : '') !== JSON.stringify(running.metrics.onClientListener ? running.metrics.path : ''),
    relisten,
    server: () => server,
    prepare: async (config: GatewayConfig) => {
      const next = await build(config)
      return {
        abort: () => { void next.instance.close() },
        commit: () => {
          const old = current.instance
          current = next
          running = config
          opts.switch.swap(next.instance.routing, next.upgrades)
          retire(old)
        }
      }
    }
  })
  app.addHook('onClose', async () => {
    if (server !== app.server) {
      server.close()
      server.closeIdleConnections()
    }
    await Promise.all([current.instance, ...retiring].map(async (i) => { await i.close() }))
  })
}

export default fp(trafficPlugin, {
  name: 'gateway-traffic',
  dependencies: ['gateway-config', 'gateway-metrics', 'gateway-proxy', 'gateway-connections'],
  fastify: '5.x'
})
