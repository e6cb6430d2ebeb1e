import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { BackendPool } from '../pool.js'
import type { Lease } from '../pool/lease.js'
import type { Recorder } from '../metrics/types.js'
import type { Connections } from '../conn/registry.js'
import type { CompiledRoute } from '../router.js'
import { GatewayError } from '../errors.js'
import { scanRequestHeaders } from '../proxy/headers.js'
import { downstreamHeaders, forwardPath, hostFor, upstreamHeaders, type UpstreamHeaders } from '../proxy/rewrite.js'
import { mapUpstreamError } from '../proxy/upstream-errors.js'
import { writeSocketError } from '../proxy/respond.js'
import { requestKey } from '../proxy/request-key.js'
import { listenerOf } from '../http/listener-info.js'
import { Failover } from '../resilience/failover.js'
import { WsTunnel } from './tunnel.js'

export interface WsProxyOptions {
  recorder: Recorder
  logger: FastifyBaseLogger
  connections: Connections
  /** websocket.drainTimeout of the running config (ms). */
  drainTimeout: () => number
}

/** One upgrade request on its way to a backend. */
interface Handshake {
  req: IncomingMessage
  socket: Socket
  head: Buffer
  requestId: string
  route: CompiledRoute
  upstream: UpstreamHeaders
  failover: Failover
  start: number
}

/**
 * Proxies WebSocket upgrades of `websocket: true` routes. The handshake is an HTTP request to a
 * backend chosen by the pool's algorithm (Node's own client parses the answer): a 101 is passed
 * to the client and the two sockets are then piped (WsTunnel); any other answer is passed on as
 * it is. Nothing is sent to the client before the backend has answered, so a client whose
 * backend cannot be reached gets a 502, 503 or 504, never a 101 followed by a close. A backend
 * whose connection fails is failed over to another one by the same rules as HTTP requests
 * (lib/resilience/failover.ts), as long as the connection to it was never established.
 *
 * The connection holds its lease while it is open (least-connections balances open sockets);
 * its success is recorded at the 101.
 */
export class WsProxy {
  constructor (private readonly opts: WsProxyOptions) {}

  upgrade (req: IncomingMessage, socket: Socket, head: Buffer, requestId: string, route: CompiledRoute, host: string): void {
    const pool = route.pool
    const listener = listenerOf(req)
    const scan = scanRequestHeaders(req.rawHeaders, listener.trustProxy)
    const upstream = upstreamHeaders(route.rewrite, scan, {
      clientIp: req.socket.remoteAddress ?? '', host, requestId, backendHost: pool.config.hostHeader === 'backend', listener, h2Upstream: false, req
    })
    upstream.headers.push('connection', 'Upgrade', 'upgrade', req.headers.upgrade ?? 'websocket')
    const key = pool.keySource === undefined ? undefined : requestKey(pool.keySource, req, req.url!, scan.xff)
    const start = performance.now()
    const failover = new Failover(pool, this.opts.recorder, { attempt: 0, key }, pool.retry.allowsMethod('GET'), start)
    this.attempt({ req, socket, head, requestId, route, upstream, failover, start })
  }

  private attempt (h: Handshake, lastError?: GatewayError): void {
    const pool = h.route.pool
    const lease = h.failover.lease()
    if (lease === undefined) {
      this.refuse(h, lastError ?? new GatewayError('GW_NO_BACKEND', [pool.name]), pool)
      return
    }
    const b = lease.backend
    hostFor(h.upstream, b.authority)
    const url = new URL(b.url)
    const tls = url.protocol === 'https:'
    const { timeouts } = pool.config
    const started = performance.now()
    const upstream: ClientRequest = (tls ? httpsRequest : httpRequest)({
      host: b.hostname,
      port: b.port,
      method: 'GET',
      path: forwardPath(h.route.rewrite, b.basePath, h.req.url!),
      headers: h.upstream.headers,
      setHost: false,
      agent: false,
      ...(tls ? tlsOptions(pool, url) : {})
    })
    let connected = false
    let settled = false
    // The connect, then the answer to the handshake, each within the try's bound (the per-try
    // timeout capped by the handshake's deadline, lib/resilience/failover.ts); the connect also
    // within the pool's connect timeout.
    const tryMs = h.failover.tryTimeout()
    const connectCut = timeouts.connect <= tryMs
    let timer = setTimeout(() => {
      upstream.destroy(new GatewayError(connectCut ? 'GW_UPSTREAM_CONNECT_TIMEOUT' : 'GW_UPSTREAM_TIMEOUT'))
    }, connectCut ? timeouts.connect : tryMs)
    const onClientGone = (): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      upstream.destroy()
      lease.abandon()
    }
    h.socket.once('close', onClientGone)
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      clearTimeout(timer)
      h.socket.removeListener('close', onClientGone)
      return true
    }
    upstream.on('socket', (s: Socket) => {
      s.once(tls ? 'secureConnect' : 'connect', () => {
        connected = true
        clearTimeout(timer)
        timer = setTimeout(() => { upstream.destroy(new GatewayError('GW_UPSTREAM_TIMEOUT')) }, Math.max(1, tryMs - (performance.now() - started)))
      })
    })
    upstream.on('upgrade', (res: IncomingMessage, up: Socket, upHead: Buffer) => {
      if (!settle()) { up.destroy(); return }
      this.open(h, lease, res, up, upHead, performance.now() - started)
    })
    upstream.on('response', (res: IncomingMessage) => {
      if (!settle()) { res.destroy(); return }
      const status = res.statusCode!
      lease.done({ ok: status < 500, status, reason: status >= 500 ? 'status' : undefined, latencyMs: performance.now() - started })
      this.passAnswer(h, lease, res)
    })
    upstream.on('error', (err) => {
      if (!settle()) return
      const mapped = mapUpstreamError(err)
      // Nothing reached the backend before its connection was up: another one may be tried.
      if (h.failover.failed(lease, mapped, performance.now() - started, 0, !connected && !h.socket.destroyed)) {
        const cancel = h.failover.backoff(mapped.reason, () => {
          h.socket.removeListener('close', cancel)
          if (!h.socket.destroyed) this.attempt(h, mapped.error)
        })
        h.socket.once('close', cancel)
        return
      }
      this.opts.logger.error({ reqId: h.requestId, pool: pool.name, backend: b.id, code: mapped.error.code, reason: mapped.reason, err }, 'websocket upgrade failed')
      this.refuse(h, mapped.error, pool, lease)
    })
    upstream.end()
  }

  /** The backend switched protocols: the 101 goes to the client, then the sockets are piped. */
  private open (h: Handshake, lease: Lease, res: IncomingMessage, up: Socket, upHead: Buffer, ms: number): void {
    const pool = h.route.pool
    const b = lease.backend
    if (h.socket.destroyed || !h.socket.writable) {
      up.destroy()
      lease.abandon()
      return
    }
    const headers = downstreamHeaders(h.route.rewrite, res.rawHeaders.map((v) => Buffer.from(v, 'latin1')), h.requestId)
    let head = `HTTP/1.1 101 ${res.statusMessage ?? 'Switching Protocols'}\r\nConnection: Upgrade\r\nUpgrade: ${res.headers.upgrade ?? 'websocket'}\r\n`
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]!}: ${headers[i + 1]!}\r\n`
    h.socket.write(head + '\r\n')
    lease.hold('websocket', ms)
    const { recorder, connections } = this.opts
    recorder.request(pool, b, 'GET', 101, (performance.now() - h.start) / 1000)
    recorder.connectionOpened('websocket', pool, b)
    const opened = performance.now()
    const tunnel = new WsTunnel(h.socket, up, b, this.opts.drainTimeout(), (end) => {
      connections.delete(tunnel)
      lease.done()
      recorder.connectionClosed('websocket', pool, b, end.bytesIn, end.bytesOut)
      this.opts.logger.info({
        reqId: h.requestId,
        pool: pool.name,
        backend: b.id,
        path: h.req.url,
        status: 101,
        endedBy: end.endedBy,
        bytesIn: end.bytesIn,
        bytesOut: end.bytesOut,
        ms: Math.round(performance.now() - opened)
      }, 'websocket closed')
    })
    connections.add(tunnel)
    tunnel.start(h.head, upHead)
  }

  /** The backend answered the upgrade without switching (401, 404, 426, …): that answer is the client's. */
  private passAnswer (h: Handshake, lease: Lease, res: IncomingMessage): void {
    const pool = h.route.pool
    this.opts.recorder.request(pool, lease.backend, 'GET', res.statusCode!, (performance.now() - h.start) / 1000)
    const headers = downstreamHeaders(h.route.rewrite, res.rawHeaders.map((v) => Buffer.from(v, 'latin1')), h.requestId)
    let head = `HTTP/1.1 ${res.statusCode!} ${res.statusMessage ?? ''}\r\n`
    for (let i = 0; i < headers.length; i += 2) {
      const lk = headers[i]!.toLowerCase()
      if (lk !== 'content-length') head += `${headers[i]!}: ${headers[i + 1]!}\r\n`
    }
    // The body is sent as it comes and ends with the connection: the socket has left Node's
    // HTTP parser, so it cannot carry another request anyway.
    h.socket.write(head + 'Connection: close\r\n\r\n')
    res.pipe(h.socket)
    res.on('error', () => { h.socket.destroy() })
  }

  private refuse (h: Handshake, err: GatewayError, pool: BackendPool, lease?: Lease): void {
    if (!h.socket.destroyed) writeSocketError(h.socket, err, h.requestId)
    if (lease === undefined) this.opts.recorder.rejected(pool, 'GET', err.statusCode)
    else this.opts.recorder.request(pool, lease.backend, 'GET', err.statusCode, (performance.now() - h.start) / 1000)
  }
}

function tlsOptions (pool: BackendPool, url: URL): object {
  const { tls } = pool.config
  const host = url.hostname.replace(/^\[|\]$/g, '')
  return { ca: tls.ca, cert: tls.cert, key: tls.key, passphrase: tls.passphrase, rejectUnauthorized: tls.rejectUnauthorized, servername: tls.servername ?? (isIP(host) === 0 ? host : undefined) }
}
