import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { GatewayError } from '../errors.js'
import { errorBody, errorHeaders } from '../http/error-headers.js'

/**
 * The proxy's renderer of catalogue errors, for Node's raw response objects and sockets (the
 * Fastify lifecycle has its own, lib/http/error-reply.ts; both use lib/http/error-headers.ts).
 * When the request body was not read to the end, the connection is closed after the answer: the
 * rest of that body must not be parsed as a next request.
 */
export function sendError (res: ServerResponse, err: GatewayError, requestId: string, bodyUnread: boolean): void {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const body = errorBody(err)
  const headers = [...errorHeaders(err), 'content-length', String(Buffer.byteLength(body))]
  if (requestId !== '') headers.push('x-request-id', requestId)
  if (bodyUnread) res.shouldKeepAlive = false
  res.writeHead(err.statusCode, headers)
  res.end(body)
}

/**
 * The same answer written straight to a socket that no longer has an HTTP response object
 * (CONNECT, a refused WebSocket upgrade), then the connection is closed.
 */
export function writeSocketError (socket: Socket, err: GatewayError, requestId: string): void {
  const body = errorBody(err)
  const h = errorHeaders(err)
  let head = `HTTP/1.1 ${err.statusCode} ${STATUS_CODES[err.statusCode] ?? ''}\r\n`
  for (let i = 0; i < h.length; i += 2) head += `${h[i]!}: ${h[i + 1]!}\r\n`
  head += `content-length: ${Buffer.byteLength(body)}\r\n`
  if (requestId !== '') head += `x-request-id: ${requestId}\r\n`
  socket.end(head + 'connection: close\r\n\r\n' + body)
  socket.destroySoon()
}
