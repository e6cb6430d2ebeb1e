import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { pluginModule } from '../lib/config/modules.js'

/**
 * The catch-all route that hands every request to the proxy. It stays encapsulated: its
 * content-type parsers are replaced by one that reads nothing, so bodies of any type and size
 * stream straight from the client socket to the backend, never parsed or buffered.
 */
export default async function proxyRoutes (app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => { done(null) })

  // Middleware: the config's plugins, in order, in this scope, so their hooks (onRequest,
  // preHandler, onSend, onResponse) run for proxied requests. A plugin must be wrapped with
  // fastify-plugin for its hooks to reach the route registered below (Fastify encapsulation).
  for (const p of app.gatewayConfig.plugins) {
    await app.register(pluginModule(p.module) as FastifyPluginAsync, p.options)
  }

  const proxy = app.proxy
  const handler = (request: FastifyRequest, reply: FastifyReply): void => {
    reply.hijack()
    proxy.handle(request.raw, reply.raw, request.id)
  }
  const methods = app.supportedMethods.filter((m) => m !== 'CONNECT') as HTTPMethods[]
  app.route({ method: methods, url: '/*', handler })
  app.route({ method: methods, url: '/', handler })
}
