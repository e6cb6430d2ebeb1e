import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { compileRoutes } from '../lib/router.js'
import { HttpProxy } from '../lib/proxy/proxy.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The request path for proxied traffic (route match, selection, dispatch). */
    readonly proxy: HttpProxy
  }
}

/**
 * Compiles the routes against the pools and provides the proxy. On close, the proxy is told
 * first (preClose) so answers still in flight ask their clients to close the connection.
 *
 * Reload ("proxy" participant): prepare compiles the new routes against the new pools (an
 * unknown pool fails the reload); commit swaps the router and access-log settings. Each
 * listener's trustProxy is read per request from the listener (lib/http/listener-info.ts), so
 * it follows reloads.
 */
async function proxyPlugin (app: FastifyInstance): Promise<void> {
  const cfg = app.gatewayConfig
  const proxy = new HttpProxy({
    router: compileRoutes(cfg.routes, app.pools),
    accessLog: cfg.log.access,
    accessSample: cfg.log.accessSample,
    logger: app.log,
    recorder: app.gatewayMetrics.recorder
  })
  app.decorate('proxy', proxy)
  app.reload.register({
    name: 'proxy',
    prepare: (next, ctx) => {
      const router = compileRoutes(next.routes, ctx.get('pools').next)
      return { commit: () => { proxy.swap(router, next.log.access, next.log.accessSample) }, abort: () => {} }
    }
  })
  app.addHook('preClose', async () => {
    proxy.closing = true
  })
}

export default fp(proxyPlugin, { name: 'gateway-proxy', dependencies: ['gateway-config', 'gateway-pools', 'gateway-metrics', 'gateway-reload'], fastify: '5.x' })
