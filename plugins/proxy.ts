import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { compileRoutes } from '../lib/router.js'
import { HttpProxy } from '../lib/proxy/proxy.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The request path for proxied traffic (route match, selection, dispatch). */
    proxy: HttpProxy
  }
}

/**
 * Compiles the routes against the pools and provides the proxy. On close, the proxy is told
 * first (preClose) so answers still in flight ask their clients to close the connection.
 */
async function proxyPlugin (app: FastifyInstance): Promise<void> {
  const cfg = app.gatewayConfig
  const proxy = new HttpProxy({
    router: compileRoutes(cfg.routes, app.pools),
    trustProxy: cfg.listen.trustProxy,
    accessLog: cfg.log.access,
    accessSample: cfg.log.accessSample,
    logger: app.log,
    recorder: app.gatewayMetrics.recorder
  })
  app.decorate('proxy', proxy)
  app.addHook('preClose', async () => {
    proxy.closing = true
  })
}

export default fp(proxyPlugin, { name: 'gateway-proxy', dependencies: ['gateway-config', 'gateway-pools', 'gateway-metrics'], fastify: '5.x' })
