import fp from 'fastify-plugin'
import type { Server as HttpServer } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { MiddlewarePlugin } from '../lib/config/modules.js'
import type { TrafficSwitch } from '../lib/traffic-switch.js'
import { Generations } from '../lib/traffic/generation.js'
import { ClientListeners, type ListenerCertificate } from '../lib/traffic/listeners.js'
import { createTlsMetrics } from '../lib/metrics/tls.js'
import type { RateStore } from '../lib/traffic/rate-counters.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The client side of the gateway: request-handling generations and the client listener. */
    readonly traffic: {
      /** Binds every client listener (server.ts, tests); throws naming an address that cannot be bound. */
      listen: () => Promise<void>
      /** The first client listener's server now. */
      server: () => HttpServer
      /** Every client listener's server, in config order. */
      servers: () => HttpServer[]
      /** The certificates the TLS listeners serve. */
      certificates: () => ListenerCertificate[]
      /** Requests and upgrades this process has taken in. */
      served: () => number
    }
  }
}

export interface TrafficPluginOptions {
  switch: TrafficSwitch
  /** The middleware plugins the config names, loaded (lib/config/modules.ts loadModules). */
  plugins: ReadonlyMap<string, MiddlewarePlugin>
  /** The rate limiter's store; default counters in this process (a worker passes the primary's). */
  counters?: RateStore
  /** False in the primary of workers: it never binds client listeners, so a reload's new ones are left to the workers. */
  serve?: boolean
}

/**
 * Client traffic: the traffic generations (lib/traffic/generation.ts), Fastify instances that
 * hold the middleware plugins, the rate limiter and the proxy's catch-all route, and the client
 * listeners (lib/traffic/listeners.ts: plain HTTP, TLS, redirects), which the root instance's
 * own server is not: it never listens.
 *
 * Reload, two participants: "traffic" builds a new generation when the config needs one (with
 * the plugin modules loaded for the reload) and switches to it at commit, retiring the old one;
 * "listen" applies a changed `listen` section, binding new addresses before old ones close and
 * reading new certificates before they are used.
 */
async function trafficPlugin (app: FastifyInstance, opts: TrafficPluginOptions): Promise<void> {
  const generations = new Generations(opts.switch, {
    logger: app.log,
    proxy: app.proxy,
    upgrade: app.proxyUpgrade,
    registry: app.gatewayMetrics.prometheus.registry,
    counters: opts.counters
  })
  await generations.start(app.gatewayConfig, opts.plugins)
  const listeners: ClientListeners = new ClientListeners(app.gatewayConfig.listen, {
    traffic: opts.switch,
    logger: app.log,
    tlsMetrics: createTlsMetrics(app.gatewayMetrics.prometheus.registry, (): ListenerCertificate[] => listeners.certificates(), app.gatewayMetrics.statsd)
  })

  app.decorate('traffic', {
    listen: async () => { await listeners.listen() },
    server: () => listeners.servers()[0]!,
    servers: () => listeners.servers(),
    certificates: () => listeners.certificates(),
    served: () => opts.switch.served
  })
  app.reload.register({ name: 'traffic', prepare: async (next, ctx) => await generations.prepare(next, ctx.modules.plugins) })
  if (opts.serve !== false) app.reload.register({ name: 'listen', prepare: async (next) => await listeners.prepare(next.listen) })

  app.addHook('onClose', async () => {
    await listeners.close()
    await generations.close()
  })
}

export default fp(trafficPlugin, {
  name: 'gateway-traffic',
  dependencies: ['gateway-config', 'gateway-metrics', 'gateway-proxy', 'gateway-connections', 'gateway-reload'],
  fastify: '5.x'
})
