import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.js'

/** Catalogue errors raised inside Fastify's own lifecycle (not the proxy's), same JSON shape. */
export function replyError (reply: FastifyReply, id: string, e: GatewayError): void {
  void reply.code(e.status).header('x-request-id', id).type('application/json; charset=utf-8').send(e.toBody())
}

/** Fastify's own 400 for a URL it cannot decode (its `frameworkErrors` option). */
export function frameworkError (_err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  replyError(reply, req.id, new GatewayError('GW_BAD_REQUEST'))
}

/** A request no route of the generation takes (its not-found handler). */
export function notFound (req: FastifyRequest, reply: FastifyReply): void {
  replyError(reply, req.id, new GatewayError('GW_ROUTE_NOT_FOUND'))
}

/** The generation's error handler: hooks' catalogue errors as they are, anything else as GW_INTERNAL. */
export function generationErrorHandler (err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  // Errors thrown on purpose by our own hooks (the rate limiter) carry a catalogue code.
  const e = err as { statusCode?: number, error?: string, message?: string }
  if (e.statusCode !== undefined && e.statusCode < 500 && typeof e.error === 'string' && e.error.startsWith('GW_')) {
    void reply.code(e.statusCode).header('x-request-id', req.id).type('application/json; charset=utf-8').send(JSON.stringify({ error: e.error, message: e.message }))
    return
  }
  req.log.error({ reqId: req.id, err }, 'unhandled error')
  replyError(reply, req.id, new GatewayError('GW_INTERNAL', [], err))
}
