import http, { type ServerResponse } from 'node:http'
import https from 'node:https'
import type { TlsOptions } from 'node:tls'
import type { Socket } from 'node:net'
import type { ListenConfig } from './config/types.js'
import { GatewayError, type ErrorCode } from './errors.js'
import { sendError, writeSocketError } from './proxy/respond.js'

/**
 * How often Node checks headersTimeout and requestTimeout. Node's default is 30 s, which would let
 * a slowloris connection live up to 30 s past its deadline; checking every second cuts it within
 * about a second.
 */
export const CONNECTIONS_CHECKING_INTERVAL = 1000

/** The first byte of a TLS handshake record (RFC 8446 section 5.1, ContentType handshake). */
const TLS_HANDSHAKE_RECORD = 0x16

/**
 * Creates a client-facing server with the listener's limits: plain HTTP, or HTTPS with `tls`
 * (lib/tls/terminator.ts gives the options). Requests Node's parser rejects are answered by
 * clientErrorHandler below.
 */
export function createClientServer (listen: ListenConfig, handler: http.RequestListener, tls?: TlsOptions): http.Server {
  const options: http.ServerOptions = {
    headersTimeout: listen.headersTimeout,
    requestTimeout: listen.requestTimeout,
    keepAliveTimeout: listen.keepAliveTimeout,
    maxHeaderSize: listen.maxHeaderSize,
    connectionsCheckingInterval: Math.min(CONNECTIONS_CHECKING_INTERVAL, Math.max(100, listen.headersTimeout)),
    requireHostHeader: true
  }
  // An https.Server is an http.Server for everything after the handshake.
  const server = tls === undefined ? http.createServer(options, handler) : https.createServer({ ...options, ...tls }, handler) as unknown as http.Server
  server.on('clientError', clientErrorHandler)
  // Expect: 100-continue reaches the handler without Node's automatic 100 Continue: the proxy
  // sends it only once the request has a route, fits its body limit and has a backend, so a
  // client is never invited to upload a body that will be refused.
  server.on('checkContinue', handler)
  // A gateway is not a forward proxy: CONNECT gets 405 and the connection is closed.
  server.on('connect', (_req: http.IncomingMessage, socket: Socket) => {
    writeRawError(socket, 'GW_METHOD_NOT_ALLOWED', ['CONNECT'])
  })
  return server
}

/**
 * Answers requests Node's parser rejected (Fastify's clientErrorHandler). Nothing of such a
 * request was forwarded; the connection is closed after the answer because the byte stream can
 * no longer be trusted (request smuggling: CL with TE, two Content-Lengths, bad chunk sizes, bare
 * CR or NUL in a header).
 */
export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket): void {
  const code = err.code
  if (code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const gw: ErrorCode = code === 'HPE_HEADER_OVERFLOW'
    ? 'GW_HEADERS_TOO_LARGE'
    : code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'GW_REQUEST_TIMEOUT'
      // A TLS record starts with 0x16 (handshake): a client speaking HTTPS to a plaintext port.
      : (err as { rawPacket?: Buffer }).rawPacket?.[0] === TLS_HANDSHAKE_RECORD ? 'GW_TLS_ON_PLAIN_PORT' : 'GW_BAD_REQUEST'
  // Node attaches the response as soon as a head is parsed, so an error in the body phase
  // (bad chunk size, body too slow) finds one here. Answer through it while its head is unsent,
  // so the proxy call waiting on it sees the answer; once the head is out, only a cut is left.
  const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  if (res != null) {
    if (res.headersSent) socket.destroy()
    else sendError(res, new GatewayError(gw), '', true)
    return
  }
  writeRawError(socket, gw, [])
}

function writeRawError (socket: Socket, code: ErrorCode, args: string[]): void {
  writeSocketError(socket, new GatewayError(code, args), '')
}
