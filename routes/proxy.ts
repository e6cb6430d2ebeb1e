import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { MiddlewarePlugin } from '../lib/config/modules.js'
import type { PluginConfig } from '../lib/config/types.js'
import type { HttpProxy } from '../lib/proxy/proxy.js'
import rateLimit from '@fastify/rate-limit'
import { GatewayError } from '../lib/errors.js'
import type { RateStore } from '../lib/traffic/rate-counters.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Marks the proxy's catch-all routes. */
    gatewayProxy?: boolean
  }
}

/**
 * The catch-all route that hands every request to the proxy. It stays encapsulated: its
 * content-type parsers are replaced by one that reads nothing, so bodies of any type and size
 * stream straight from the client socket to the backend, never parsed or buffered.
 */
export interface ProxyRoutesOptions {
  proxy: HttpProxy
  /** Handles a request that arrived as an upgrade (plugins/connections.ts). */
  upgrade: (req: IncomingMessage, res: ServerResponse, requestId: string) => void
  /** Middleware plugins, registered in this scope before the route. */
  plugins: PluginConfig[]
  /** The loaded plugin modules by path (lib/config/modules.ts); every entry of `plugins` must be there. */
  modules: ReadonlyMap<string, MiddlewarePlugin>
  /** Whether any route has a rate limit (the limiter is installed only then). */
  rateLimited: boolean
  /** The limiter's counters, shared across generations so a reload keeps them. */
  counters: RateStore
}

export default async function proxyRoutes (app: FastifyInstance, opts: ProxyRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => { done(null) })

  // Middleware: the config's plugins, in order, in this scope, so their hooks (onRequest,
  // preHandler, onSend, onResponse) run for proxied requests. A plugin must be wrapped with
  // fastify-plugin for its hooks to reach the route registered below (Fastify encapsulation).
  for (const p of opts.plugins) {
    const plugin = opts.modules.get(p.module)
    if (plugin === undefined) throw new Error(`plugin module ${p.module} was not loaded (lib/config/modules.ts loadModules)`)
    await app.register(plugin, p.options)
  }

  const { proxy, upgrade } = opts
  if (opts.rateLimited) await registerRateLimits(app, proxy, opts.counters)
  const handler = (request: FastifyRequest, reply: FastifyReply): void => {
    reply.hijack()
    // Upgrades arrive here through @fastify/websocket's 'upgrade' listener (plugins/connections.ts).
    if ((request.raw as { upgrade?: boolean }).upgrade === true) upgrade(request.raw, reply.raw, request.id)
    else proxy.handle(request.raw, reply.raw, request.id)
  }
  // @fastify/websocket wraps the handler of every route so that an upgrade gets a 101 from `ws`
  // (and is closed on routes without a websocket handler). The proxy answers upgrades itself,
  // only after a backend has accepted, so its own handler is put back (this scope's onRoute
  // hooks run after the root's).
  app.addHook('onRoute', (opts) => {
    if (opts.config?.gatewayProxy === true) opts.handler = handler
  })
  const methods = app.supportedMethods.filter((m) => m !== 'CONNECT') as HTTPMethods[]
  app.route({ method: methods, url: '/*', handler, config: { gatewayProxy: true } })
  app.route({ method: methods, url: '/', handler, config: { gatewayProxy: true } })
}

/**
 * Per-route rate limits through @fastify/rate-limit, before the proxy handler: the limiter keys
 * on route and client (IP or a header), takes max and window from the route, and lets requests
 * of routes without a limit through. Registered only when the config has a limit; a reload that
 * adds the first limit or removes the last builds a new generation (plugins/traffic.ts), and
 * the limits themselves follow every reload. The counts live in `counters`, which outlive the
 * generation, keyed by the route's match (rateKey) and the client.
 */
async function registerRateLimits (app: FastifyInstance, proxy: HttpProxy, counters: RateStore): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    store: counters.ctor,
    hook: 'onRequest',
    allowList: (req) => proxy.routeOf(req.raw)?.rateLimit === undefined,
    keyGenerator: (req) => {
      const route = proxy.routeOf(req.raw)
      // Called before allowList: requests of unlimited routes get a key that allowList then waves through.
      if (route?.rateLimit === undefined) return '-'
      const k = route.rateLimit.key
      const who = k.from === 'ip' ? req.ip : String(req.headers[k.name] ?? '')
      return `${route.rateKey}|${who}`
    },
    max: (req) => proxy.routeOf(req.raw)?.rateLimit?.max ?? 1,
    timeWindow: (req) => proxy.routeOf(req.raw)?.rateLimit?.window ?? 60_000,
    // Thrown by the limiter's hook; the generation's error handler renders it like any other.
    errorResponseBuilder: (_req, ctx) => new GatewayError('GW_RATE_LIMITED', [Math.ceil(ctx.ttl / 1000)])
  })
}
