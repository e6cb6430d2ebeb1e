import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { GatewayError, staticBodies } from '../errors.js'

/** Seconds a client is told to wait after a 503 (no ready backend). */
export const RETRY_AFTER_SECONDS = '1'

/**
 * Sends a catalogue error as the small JSON body clients get. When the request body was not read
 * to the end, the connection is closed after the answer: the rest of that body must not be
 * parsed as a next request.
 */
export function sendError (res: ServerResponse, err: GatewayError, requestId: string, bodyUnread: boolean): void {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const body = staticBodies[err.code] ?? err.toBody()
  const headers = [
    'content-type', 'application/json; charset=utf-8',
    'content-length', String(Buffer.byteLength(body)),
    'cache-control', 'no-store'
  ]
  if (requestId !== '') headers.push('x-request-id', requestId)
  if (err.status === 503) headers.push('retry-after', RETRY_AFTER_SECONDS)
  if (bodyUnread) res.shouldKeepAlive = false
  res.writeHead(err.status, headers)
  res.end(body)
}

/**
 * The same answer written straight to a socket that no longer has an HTTP response object
 * (CONNECT, a refused WebSocket upgrade), then the connection is closed.
 */
export function writeSocketError (socket: Socket, err: GatewayError, requestId: string): void {
  const body = staticBodies[err.code] ?? err.toBody()
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Cache-Control: no-store\r\n' +
    (requestId !== '' ? `X-Request-Id: ${requestId}\r\n` : '') +
    (err.status === 503 ? `Retry-After: ${RETRY_AFTER_SECONDS}\r\n` : '') +
    'Connection: close\r\n\r\n' + body
  )
  socket.destroySoon()
}
