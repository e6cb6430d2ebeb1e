import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'

/**
 * The catch-all route that hands every request to the proxy. It stays encapsulated: its
 * content-type parsers are replaced by one that reads nothing, so bodies of any type and size
 * stream straight from the client socket to the backend, never parsed or buffered.
 */
export default async function proxyRoutes (app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => { done(null) })

  const proxy = app.proxy
  const handler = (request: FastifyRequest, reply: FastifyReply): void => {
    reply.hijack()
    proxy.handle(request.raw, reply.raw, request.id)
  }
  const methods = app.supportedMethods.filter((m) => m !== 'CONNECT') as HTTPMethods[]
  app.route({ method: methods, url: '/*', handler })
  app.route({ method: methods, url: '/', handler })
}
