import http2, { type Http2Server, type Http2Session, type ServerHttp2Session, type ServerOptions } from 'node:http2'
import type { Server as HttpsServer } from 'node:https'
import type { RequestListener } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { ListenConfig } from '../config/types.js'

/**
 * HTTP/2 to clients (node:http2, nghttp2 inside Node). Requests arrive as Node's compatibility
 * request and response objects, which the proxy handles as it does HTTP/1.1 ones, so routes,
 * pools, retries, metrics and the access log are the same code path.
 *
 * On a TLS listener HTTP/2 shares the port with HTTP/1.1, chosen by ALPN: the https server
 * (which keeps Node's HTTP/1.1 guards: headersTimeout, requestTimeout, the parser's limits)
 * does the handshake, and connections that chose h2 are handed to an HTTP/2 server that never
 * listens. Node's own `allowHTTP1` is not used: its HTTP/1.1 connections get no headersTimeout
 * or requestTimeout (measured: a slow header was held for as long as the client liked).
 */
export function createHttp2Server (cfg: ListenConfig, handler: RequestListener): Http2Server {
  const server = http2.createServer(http2Options(cfg), handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)
  // An idle session (no stream for keepAliveTimeout) is closed, as an idle keep-alive connection is.
  server.setTimeout(cfg.keepAliveTimeout)
  const limits = cfg.http2Limits
  const window = connectionWindow(limits.maxConcurrentStreams)
  server.on('session', (session: ServerHttp2Session) => {
    guardResets(session, limits.streamResetBurst, limits.streamResetRate)
    openWindow(session, window)
  })
  return server
}

/** HTTP/2's initial flow-control window (RFC 9113 section 6.9.2), per stream and per connection. */
const DEFAULT_WINDOW = 65_535

/**
 * The connection-level receive window of a client session: room for every stream's own window
 * (maxConcurrentStreams × 64 KiB), as nginx does (2^31-1 there). With the default 64 KiB for the
 * whole connection, request bodies of streams waiting for a backend connection (not read yet)
 * fill it, and the stream being forwarded can no longer receive the rest of its own body: the
 * connection deadlocks (measured with h2load -m16 and 64 KiB bodies: most requests failed). Each
 * stream stays bounded by its own 64 KiB window, so memory stays under maxSessionMemory.
 */
function connectionWindow (maxConcurrentStreams: number): number {
  return Math.min(2 ** 31 - 1, Math.max(DEFAULT_WINDOW, maxConcurrentStreams * DEFAULT_WINDOW))
}

function openWindow (session: ServerHttp2Session, size: number): void {
  const set = (): void => { if (!session.destroyed) session.setLocalWindowSize(size) }
  if (session.connecting) session.once('connect', set)
  else set()
}

/** How long a client told to go away for rapid reset may take to close before it is cut off. */
const GOAWAY_GRACE_MS = 1000

/**
 * Rapid reset (CVE-2023-44487): streams the client resets are counted in a token bucket of
 * `burst` tokens refilled at `rate` per second; a client that empties it gets GOAWAY with
 * ENHANCE_YOUR_CALM (RFC 9113 section 5.4.1: "excessive load") and its connection is closed,
 * other clients untouched. Done here because Node 20 does not take nghttp2's own bucket as
 * an option (nghttp2 then applies 1000 and 33, answering INTERNAL_ERROR, which also caps
 * these settings).
 */
function guardResets (session: ServerHttp2Session, burst: number, rate: number): void {
  let tokens = burst
  let at = performance.now()
  let told = false
  session.on('stream', (stream) => {
    stream.once('aborted', () => {
      const now = performance.now()
      tokens = Math.min(burst, tokens + (now - at) * rate / 1000)
      at = now
      if (--tokens >= 0 || session.destroyed || told) return
      told = true
      // The GOAWAY must reach the client: destroying the session soon after drops it
      // (measured: the client saw nothing, or code 0). A client closes on it; one that does not
      // is cut GOAWAY_GRACE_MS later. Streams it opens meanwhile are refused by nghttp2.
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM)
      setTimeout(() => { if (!session.destroyed) session.destroy() }, GOAWAY_GRACE_MS).unref()
    })
  })
}

/** The listener's limits as node:http2 server options. */
export function http2Options (cfg: ListenConfig): ServerOptions {
  const l = cfg.http2Limits
  return {
    settings: {
      maxConcurrentStreams: l.maxConcurrentStreams,
      headerTableSize: l.headerTableSize,
      maxHeaderListSize: cfg.maxHeaderSize
    },
    maxDeflateDynamicTableSize: l.headerTableSize,
    maxSessionMemory: Math.max(1, Math.ceil(l.maxSessionMemory / (1024 * 1024))),
    maxOutstandingPings: l.maxOutstandingPings,
    maxSettings: l.maxSettings
  }
}

/**
 * Routes each TLS connection of `https` by its ALPN answer: h2 to `h2`, anything else to the
 * https server's own HTTP/1.1 handling (its 'secureConnection' listener, taken out and called
 * for those connections).
 */
export function dispatchByAlpn (https: HttpsServer, h2: Http2Server): void {
  const http1 = https.listeners('secureConnection') as Array<(socket: TLSSocket) => void>
  for (const l of http1) https.removeListener('secureConnection', l)
  https.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') h2.emit('connection', socket)
    else for (const l of http1) l.call(https, socket)
  })
}

/** The sessions of one HTTP/2 server, so a listener that closes can send each a GOAWAY. */
export class Http2Sessions {
  private readonly open = new Set<Http2Session>()

  constructor (server: Http2Server) {
    server.on('session', (s: Http2Session) => {
      this.open.add(s)
      s.once('close', () => { this.open.delete(s) })
    })
  }

  /** GOAWAY to every session: streams in flight finish, new ones go to a new connection. */
  closeAll (): void {
    for (const s of this.open) if (!s.closed) s.close()
  }
}
