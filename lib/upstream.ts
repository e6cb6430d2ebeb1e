import { isIP } from 'node:net'
import { Pool } from 'undici'
import type { BackendConfig, PoolConfig } from './config/types.js'

/**
 * Sockets per backend when the pool sets no circuitBreaker.maxConnections. Requests beyond the
 * socket count wait in undici's queue; with maxConnections set, the pool admits at most
 * maxConnections + maxPendingRequests at once, so that queue stays bounded.
 */
export const CONNECTIONS_PER_BACKEND = 256

/**
 * HTTP/2 backends (`protocol: http2`): sessions per backend, and streams per session. Requests
 * beyond them queue in undici. One session carries up to H2_STREAMS_PER_SESSION requests at a
 * time (or fewer if the backend's SETTINGS say so), so a few sessions go a long way.
 */
export const H2_SESSIONS_PER_BACKEND = 4
export const H2_STREAMS_PER_SESSION = 100

/**
 * One undici connection pool per backend. Keep-alive idle time is the pool's `timeouts.idle`,
 * used both when the backend sends no Keep-Alive hint and as the cap when it does; undici
 * subtracts a safety margin from the backend's hint, which avoids the race where the backend
 * closes an idle socket just as a request is written to it.
 */
export function createUpstream (backend: BackendConfig, pool: PoolConfig): Pool {
  const url = new URL(backend.url)
  // A tcp:// backend is only ever connected to by the tcp listeners (lib/tcp), never dispatched
  // to: routes cannot use tcp pools. It still gets a (never used, so never connecting) pool, so
  // every backend has the same shape and close path.
  if (url.protocol === 'tcp:') return new Pool(`http://${url.host}`, { connections: 1 })
  const { timeouts, tls } = pool
  const h2 = pool.upstream === 'http2'
  const limited = pool.circuitBreaker !== undefined && pool.circuitBreaker.maxConnections > 0
  return new Pool(url.origin, {
    connections: limited ? pool.circuitBreaker!.maxConnections : h2 ? H2_SESSIONS_PER_BACKEND : CONNECTIONS_PER_BACKEND,
    // HTTP/2: h2 by ALPN to https:// backends (HTTP/1.1 if the backend does not offer h2), h2c
    // by prior knowledge to http:// ones; undici multiplexes requests as streams.
    // (Pool reads useH2c only inside `connect`, where it marks a plain socket as h2.)
    ...(h2 ? { allowH2: true, pipelining: H2_STREAMS_PER_SESSION, maxConcurrentStreams: H2_STREAMS_PER_SESSION } : { pipelining: 1 }),
    keepAliveTimeout: timeouts.idle,
    keepAliveMaxTimeout: timeouts.idle,
    keepAliveTimeoutThreshold: Math.min(1000, Math.floor(timeouts.idle / 2)),
    headersTimeout: timeouts.request,
    bodyTimeout: timeouts.request,
    // Backends may send large headers (cookies); the client side limit is separate.
    maxHeaderSize: 64 * 1024,
    connect: url.protocol === 'https:'
      ? {
          timeout: timeouts.connect,
          ca: tls.ca,
          // mTLS to backends: the pool's client certificate, when it has one.
          cert: tls.cert,
          key: tls.key,
          passphrase: tls.passphrase,
          rejectUnauthorized: tls.rejectUnauthorized,
          // SNI carries host names only (RFC 6066 §3); an IP literal is verified without it.
          servername: tls.servername ?? (isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0 ? url.hostname : undefined)
        }
      : { timeout: timeouts.connect, ...(h2 ? { useH2c: true } : {}) }
  })
}
