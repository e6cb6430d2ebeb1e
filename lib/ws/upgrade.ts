import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { Backend } from '../backend.js'
import type { BackendPool } from '../pool.js'
import type { Recorder } from '../metrics/types.js'
import type { Connections } from '../conn/registry.js'
import { applyRules, forwardPath, type CompiledRoute } from '../router.js'
import { GatewayError } from '../errors.js'
import { forwardHeaders, responseHeaders, scanRequestHeaders } from '../proxy/headers.js'
import { mapUpstreamError } from '../proxy/upstream-errors.js'
import { writeSocketError } from '../proxy/respond.js'
import { requestKey } from '../proxy/request-key.js'
import { WsTunnel } from './tunnel.js'

export interface WsProxyOptions {
  trustProxy: boolean
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
  headers: string[]
  hostAt: number
  backendHost: boolean
  ctx: { attempt: number, key: string | undefined }
  tried: Backend[]
  start: number
}

/**
 * Proxies WebSocket upgrades of `websocket: true` routes. The handshake is an HTTP request to a
 * backend chosen by the pool's algorithm (Node's own client parses the answer): a 101 is passed
 * to the client and the two sockets are then piped (WsTunnel); any other answer is passed on as
 * it is. Nothing is sent to the client before the backend has answered, so a client whose
 * backend cannot be reached gets a 502, 503 or 504, never a 101 followed by a close. A backend
 * that refuses the connection is failed over to another one (up to the pool's retry.attempts
 * tries in all), as nothing has been sent yet.
 *
 * The connection counts in the backend's in-flight number while it is open (least-connections
 * balances open sockets), and its success is recorded at the 101.
 */
export class WsProxy {
  constructor (private readonly opts: WsProxyOptions) {}

  upgrade (req: IncomingMessage, socket: Socket, head: Buffer, requestId: string, route: CompiledRoute, host: string): void {
    const pool = route.pool
    const scan = scanRequestHeaders(req.rawHeaders, this.opts.trustProxy)
    const backendHost = pool.config.hostHeader === 'backend' || host === ''
    let headers = forwardHeaders(scan, { clientIp: req.socket.remoteAddress ?? '', proto: 'http', host, clientHost: host, requestId })
    if (route.requestRules !== undefined) headers = applyRules(headers, route.requestRules)
    headers.push('connection', 'Upgrade', 'upgrade', req.headers.upgrade ?? 'websocket')
    const key = pool.keySource === undefined ? undefined : requestKey(pool.keySource, req, req.url!, scan.xff)
    this.attempt({
      req, socket, head, requestId, route, headers, hostAt: headers.indexOf('host'), backendHost,
      ctx: { attempt: 0, key }, tried: [], start: performance.now()
    })
  }

  private attempt (h: Handshake): void {
    const pool = h.route.pool
    const b = pool.acquire(h.ctx, h.tried)
    if (b === undefined) {
      this.refuse(h, new GatewayError('GW_NO_BACKEND', [pool.name]), pool)
      return
    }
    if (h.backendHost) h.headers[h.hostAt + 1] = b.authority
    const url = new URL(b.url)
    const tls = url.protocol === 'https:'
    const { timeouts } = pool.config
    const started = performance.now()
    const upstream: ClientRequest = (tls ? httpsRequest : httpRequest)({
      host: b.hostname,
      port: b.port,
      method: 'GET',
      path: forwardPath(h.route, b.basePath, h.req.url!),
      headers: h.headers,
      setHost: false,
      agent: false,
      ...(tls ? tlsOptions(pool, url) : {})
    })
    let connected = false
    let settled = false
    let timer = setTimeout(() => { upstream.destroy(timeoutError(connected)) }, timeouts.connect)
    const onClientGone = (): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      upstream.destroy()
      pool.release(b, { ok: true, latencyMs: 0, inFlight: b.inFlight, status: 0, reason: 'abandoned' })
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
        timer = setTimeout(() => { upstream.destroy(timeoutError(true)) }, timeouts.request)
      })
    })
    upstream.on('upgrade', (res: IncomingMessage, up: Socket, upHead: Buffer) => {
      if (!settle()) { up.destroy(); return }
      this.open(h, b, res, up, upHead, performance.now() - started)
    })
    upstream.on('response', (res: IncomingMessage) => {
      if (!settle()) { res.destroy(); return }
      pool.release(b, { ok: res.statusCode! < 500, latencyMs: performance.now() - started, inFlight: b.inFlight, status: res.statusCode!, reason: res.statusCode! >= 500 ? 'status' : undefined })
      this.passAnswer(h, b, res)
    })
    upstream.on('error', (err) => {
      if (!settle()) return
      const { error, reason } = mapUpstreamError(err)
      pool.release(b, { ok: false, latencyMs: performance.now() - started, inFlight: b.inFlight, status: 0, reason })
      this.opts.recorder.upstreamError(pool, b, reason)
      h.tried.push(b)
      // Nothing reached the backend before its connection was up: another one may be tried.
      if (!connected && h.tried.length < pool.retry.attempts && pool.hasUsableBesides(h.tried) && !h.socket.destroyed) {
        this.opts.recorder.retry(pool, reason)
        h.ctx = { attempt: h.ctx.attempt + 1, key: h.ctx.key }
        this.attempt(h)
        return
      }
      this.opts.logger.error({ reqId: h.requestId, pool: pool.name, backend: b.id, code: error.code, reason, err }, 'websocket upgrade failed')
      this.refuse(h, error, pool, b)
    })
    upstream.end()
  }

  /** The backend switched protocols: the 101 goes to the client, then the sockets are piped. */
  private open (h: Handshake, b: Backend, res: IncomingMessage, up: Socket, upHead: Buffer, ms: number): void {
    const pool = h.route.pool
    if (h.socket.destroyed || !h.socket.writable) {
      up.destroy()
      pool.release(b, { ok: true, latencyMs: ms, inFlight: b.inFlight, status: 101, reason: 'abandoned' })
      return
    }
    let headers = responseHeaders(res.rawHeaders.map((v) => Buffer.from(v, 'latin1')), h.requestId)
    if (h.route.responseRules !== undefined) headers = applyRules(headers, h.route.responseRules)
    let head = `HTTP/1.1 101 ${res.statusMessage ?? 'Switching Protocols'}\r\nConnection: Upgrade\r\nUpgrade: ${res.headers.upgrade ?? 'websocket'}\r\n`
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]!}: ${headers[i + 1]!}\r\n`
    h.socket.write(head + '\r\n')
    pool.connected(b, 'websocket', ms)
    const { recorder, connections } = this.opts
    recorder.request(pool, b, 'GET', 101, (performance.now() - h.start) / 1000)
    recorder.connectionOpened('websocket', pool, b)
    const opened = performance.now()
    const tunnel = new WsTunnel(h.socket, up, b, this.opts.drainTimeout(), (end) => {
      connections.delete(tunnel)
      pool.disconnected(b, 'websocket')
      recorder.connectionClosed('websocket', pool, b, end.bytesIn, end.bytesOut)
      this.opts.logger.info({
        reqId: h.requestId, pool: pool.name, backend: b.id, path: h.req.url, status: 101, endedBy: end.endedBy,
        bytesIn: end.bytesIn, bytesOut: end.bytesOut, ms: Math.round(performance.now() - opened)
      }, 'websocket closed')
    })
    connections.add(tunnel)
    tunnel.start(h.head, upHead)
  }

  /** The backend answered the upgrade without switching (401, 404, 426, …): that answer is the client's. */
  private passAnswer (h: Handshake, b: Backend, res: IncomingMessage): void {
    const pool = h.route.pool
    this.opts.recorder.request(pool, b, 'GET', res.statusCode!, (performance.now() - h.start) / 1000)
    const headers = responseHeaders(res.rawHeaders.map((v) => Buffer.from(v, 'latin1')), h.requestId)
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

  private refuse (h: Handshake, err: GatewayError, pool: BackendPool, b?: Backend): void {
    if (!h.socket.destroyed) writeSocketError(h.socket, err, h.requestId)
    if (b === undefined) this.opts.recorder.rejected(pool, 'GET', err.status)
    else this.opts.recorder.request(pool, b, 'GET', err.status, (performance.now() - h.start) / 1000)
  }
}

/** The undici codes upstream-errors.ts already maps: 504 either way, "connect" or "timeout" in metrics. */
function timeoutError (connected: boolean): Error {
  return Object.assign(new Error(connected ? 'backend did not answer the upgrade in time' : 'connect timeout'), {
    code: connected ? 'UND_ERR_HEADERS_TIMEOUT' : 'UND_ERR_CONNECT_TIMEOUT'
  })
}

function tlsOptions (pool: BackendPool, url: URL): object {
  const { tls } = pool.config
  const host = url.hostname.replace(/^\[|\]$/g, '')
  return { ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized, servername: tls.servername ?? (isIP(host) === 0 ? host : undefined) }
}
