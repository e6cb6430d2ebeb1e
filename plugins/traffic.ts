import fp from 'fastify-plugin'
import type { Server as HttpServer } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { MiddlewarePlugin } from '../lib/config/modules.js'
import type { TrafficSwitch } from '../lib/traffic-switch.js'
import { Generations } from '../lib/traffic/generation.js'
import { ClientListener } from '../lib/traffic/relisten.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The client side of the gateway: request-handling generations and the client listener. */
    readonly traffic: {
      /** The client listener's server now (app.server until a reload moves the address). */
      server: () => HttpServer
    }
  }
}

export interface TrafficPluginOptions {
  switch: TrafficSwitch
  /** The middleware plugins the config names, loaded (lib/config/modules.ts loadModules). */
  plugins: ReadonlyMap<string, MiddlewarePlugin>
}

/**
 * Client traffic: the traffic generations (lib/traffic/generation.ts), Fastify instances that
 * hold the middleware plugins, the rate limiter and the proxy's catch-all route, and the client
 * listener (lib/traffic/relisten.ts).
 *
 * Reload, two participants: "traffic" builds a new generation when the config needs one (with
 * the plugin modules loaded for the reload) and switches to it at commit, retiring the old one;
 * "listen" applies a changed `listen` section, binding a new address before the old one closes.
 */
async function trafficPlugin (app: FastifyInstance, opts: TrafficPluginOptions): Promise<void> {
  const generations = new Generations(opts.switch, {
    logger: app.log,
    proxy: app.proxy,
    upgrade: app.proxyUpgrade,
    registry: app.gatewayMetrics.prometheus.registry
  })
  await generations.start(app.gatewayConfig, opts.plugins)
  const listener = new ClientListener(app.server, app.gatewayConfig.listen, opts.switch)

  app.decorate('traffic', { server: () => listener.server })
  app.reload.register({ name: 'traffic', prepare: async (next, ctx) => await generations.prepare(next, ctx.modules.plugins) })
  app.reload.register({ name: 'listen', prepare: async (next) => await listener.prepare(next.listen) })

  app.addHook('onClose', async () => {
    listener.close()
    await generations.close()
  })
}

export default fp(trafficPlugin, {
  name: 'gateway-traffic',
  dependencies: ['gateway-config', 'gateway-metrics', 'gateway-proxy', 'gateway-connections', 'gateway-reload'],
  fastify: '5.x'
})
