import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError, type ErrorCode } from '../errors.js'
import { errorBody, errorHeaders } from './error-headers.js'
import { isGrpcRequest, sendGrpcError } from '../proxy/grpc.js'

/**
 * The renderer of catalogue errors inside Fastify's lifecycle (hooks, routes, not-found and
 * framework errors) of every Fastify instance the gateway runs: the traffic generations and the
 * admin server. Same body and headers as the proxy's renderer (lib/proxy/respond.ts). Headers a
 * hook set before failing (the rate limiter's Retry-After and X-RateLimit-*) are kept. `extra`
 * adds fields to the body (the admin API's `issues` of a refused config).
 */
export function replyError (reply: FastifyReply, err: GatewayError, extra?: Readonly<Record<string, unknown>>): FastifyReply {
  // A gRPC client reads only gRPC statuses (lib/proxy/grpc.ts): the rate limiter's 429 reaches it
  // as RESOURCE_EXHAUSTED, written straight to the response, past Fastify's serialisation.
  if (isGrpcRequest(reply.request.raw)) {
    reply.hijack()
    sendGrpcError(reply.raw, err, String(reply.request.id))
    return reply
  }
  const h = errorHeaders(err)
  reply.code(err.statusCode).header('x-request-id', reply.request.id)
  for (let i = 0; i < h.length; i += 2) reply.header(h[i]!, h[i + 1]!)
  return reply.send(errorBody(err, extra))
}

export interface ErrorHandlerOptions {
  /**
   * The code for a request Fastify itself refused (schema validation, a body it cannot read):
   * GW_BAD_REQUEST for client traffic, GW_ADMIN_BAD_REQUEST (whose message names the field) for
   * the admin API.
   */
  badRequest: 'GW_BAD_REQUEST' | 'GW_ADMIN_BAD_REQUEST'
}

/**
 * setErrorHandler() for a gateway Fastify instance: a GatewayError (thrown by a hook or a route,
 * or returned by the rate limiter) is rendered as it is; a client error Fastify raised (4xx, a
 * failed schema) becomes `badRequest`; anything else is a bug: logged with its stack, answered
 * 500 GW_INTERNAL without it.
 */
export function gatewayErrorHandler (opts: ErrorHandlerOptions): (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (err, req, reply) => {
    if (err instanceof GatewayError) return replyError(reply, err)
    const status = err.statusCode ?? 500
    if (err.validation !== undefined || (status >= 400 && status < 500)) {
      return replyError(reply, badRequest(opts.badRequest, err))
    }
    req.log.error({ reqId: req.id, err }, 'unhandled error')
    return replyError(reply, new GatewayError('GW_INTERNAL', [], err))
  }
}

function badRequest (code: ErrorCode, err: FastifyError): GatewayError {
  // Fastify's own messages name the field ("body/url must match…") and carry no addresses.
  return code === 'GW_ADMIN_BAD_REQUEST' ? new GatewayError(code, [err.message], err) : new GatewayError(code, [], err)
}
