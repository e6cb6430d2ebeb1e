import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { CompiledRoute, Router } from '../router.js'
import type { Backend } from '../backend.js'
import type { BackendPool } from '../pool.js'
import type { Recorder } from '../metrics/types.js'
import { GatewayError } from '../errors.js'
import type { SelectionContext } from '../../algorithms/types.js'
import { scanRequestHeaders, type RequestScan } from './headers.js'
import { upstreamHeaders } from './rewrite.js'
import { Failover } from '../resilience/failover.js'
import { ProxyCall, type CallOwner, type CallReport } from './call.js'
import { BodyLimit } from './body-limit.js'
import { sendError } from './respond.js'
import { absoluteFormHost } from './request-target.js'
import { requestKey } from './request-key.js'
import { listenerOf, type ListenerInfo } from '../http/listener-info.js'
import { GRPC, grpcStatusOf, isGrpcRequest, sendGrpcError } from './grpc.js'
import { grpcCodeLabel } from '../grpc-codes.js'
import { ReplayBody } from './replay-body.js'
import { closeUnreadBody } from './unread-body.js'

export interface ProxyOptions {
  router: Router
  accessLog: boolean
  /** Share of successful requests that get an access line (failures always do). */
  accessSample: number
  logger: FastifyBaseLogger
  recorder: Recorder
}

/** The context of a request to a pool whose algorithm needs no request key. */
const NO_KEY: SelectionContext = Object.freeze({ attempt: 0, key: undefined })

/**
 * The request path: route match, body limit, backend selection, dispatch. Built once per
 * config; everything per route and per backend was precomputed at load, so a request only
 * reads. The proxy writes one access line and, on failure, one error line per request.
 */
export class HttpProxy implements CallOwner {
  closing = false
  private router: Router
  private accessLog: boolean
  private accessSample: number
  readonly recorder: Recorder
  private readonly log: FastifyBaseLogger
  private readonly backendLogs = new WeakMap<Backend, FastifyBaseLogger>()

  constructor (opts: ProxyOptions) {
    this.router = opts.router
    this.accessLog = opts.accessLog
    this.accessSample = opts.accessSample
    this.recorder = opts.recorder
    this.log = opts.logger
  }

  /**
   * A reload: new routes (over new pools) and access-log settings, in one synchronous step.
   * Requests in flight keep the route, pool and backend objects they already hold.
   */
  swap (router: Router, accessLog: boolean, accessSample: number): void {
    this.router = router
    this.accessLog = accessLog
    this.accessSample = accessSample
  }

  /**
   * The route a request takes, for hooks that run before the handler (the rate limiter). The
   * answer is kept on the request, so handle() does not match it again.
   */
  routeOf (req: IncomingMessage): CompiledRoute | undefined {
    const r = req as WithRoute
    if (!(kRoute in r)) r[kRoute] = this.match(req, absoluteFormHost(req) ?? req.headers.host ?? '')
    return r[kRoute]
  }

  private match (req: IncomingMessage, host: string): CompiledRoute | undefined {
    return this.router.match(req.method!, this.router.usesHost ? routingHost(host) : '', req.url!, req)
  }

  handle (req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const url = req.url!
    const method = req.method!
    const listener = listenerOf(req)
    const scan = scanRequestHeaders(req.rawHeaders, listener.trustProxy)
    const cl = scan.contentLength
    // HTTP/2 has no Transfer-Encoding: a body without Content-Length is one whose HEADERS frame
    // did not end the stream. It streams (and is limited) as a chunked one does.
    if (cl === undefined && req.httpVersionMajor === 2 && (req as unknown as { stream?: { endAfterHeaders: boolean } }).stream?.endAfterHeaders === false) scan.chunked = true
    const hasBody = scan.chunked || (cl !== undefined && cl !== '0')
    if (unsafeTarget(url)) return this.reject(req, res, requestId, hasBody, new GatewayError('GW_BAD_REQUEST'))
    const host = absoluteFormHost(req) ?? scan.host
    const route = kRoute in req ? (req as WithRoute)[kRoute] : this.match(req, host)
    if (route === undefined) return this.reject(req, res, requestId, hasBody, new GatewayError('GW_ROUTE_NOT_FOUND'))

    let body: Readable | null = hasBody ? req : null
    if (body !== null && route.maxBodySize > 0) {
      if (cl !== undefined && Number(cl) > route.maxBodySize) {
        return this.reject(req, res, requestId, true, new GatewayError('GW_BODY_TOO_LARGE', [route.maxBodySize]), route.pool, route)
      }
      if (scan.chunked) body = req.pipe(new BodyLimit(route.maxBodySize))
    }
    // A small body of a retryable method (PUT, DELETE when allowed) is read first, so that a
    // retry can send it again. Every other body streams and is never retried.
    const retry = route.pool.retry
    if (body !== null && !scan.chunked && retry.allowsMethod(method) && Number(cl) <= retry.maxReplayBody) {
      if (route.pool.readyCount() === 0) {
        return this.reject(req, res, requestId, true, new GatewayError('GW_NO_BACKEND', [route.pool.name]), route.pool, route)
      }
      if (scan.expect) res.writeContinue()
      readBody(req).then((buf) => {
        try {
          this.forward(req, res, requestId, route, scan, host, buf, listener)
        } catch (err) {
          this.log.error({ reqId: requestId, err }, 'proxy failed')
          this.reject(req, res, requestId, false, new GatewayError('GW_INTERNAL', [], err), route.pool, route)
        }
      }, () => {
        // The client left (or broke its body) while sending: nothing to answer to a 400 for.
        if (!res.headersSent) res.destroy()
      })
      return
    }
    this.forward(req, res, requestId, route, scan, host, body, listener)
  }

  /** Picks the first backend and starts the call. */
  private forward (req: IncomingMessage, res: ServerResponse, requestId: string, route: CompiledRoute,
    scan: RequestScan, host: string, body: Readable | Buffer | null, listener: ListenerInfo): void {
    const pool = route.pool
    const ctx = pool.keySource === undefined ? NO_KEY : { attempt: 0, key: requestKey(pool.keySource, req, req.url!, scan.xff) }
    // gRPC calls are POSTs whose retries follow gRPC's rules (lib/resilience/failover.ts): their
    // streamed body is kept up to retry.maxReplayBody so that another try can send it again.
    const replay = scan.grpc && body !== null && !Buffer.isBuffer(body) && pool.retry.attempts > 1 ? new ReplayBody(body, pool.retry.maxReplayBody) : undefined
    const resendable = scan.grpc
      ? pool.retry.attempts > 1
      : pool.retry.allowsMethod(req.method!) && (body === null || Buffer.isBuffer(body))
    const failover = new Failover(pool, this.recorder, ctx, resendable, performance.now(), scan.grpc ? { deadlineMs: scan.grpcTimeout } : undefined)
    const lease = failover.lease()
    if (lease === undefined) {
      return this.reject(req, res, requestId, body !== null, new GatewayError('GW_NO_BACKEND', [pool.name]), pool, route)
    }
    // Only now, with a route, a body within limits and a backend, is the client invited to send.
    if (scan.expect && body !== null && !Buffer.isBuffer(body)) res.writeContinue()
    const upstream = upstreamHeaders(route.rewrite, scan, {
      clientIp: req.socket.remoteAddress ?? '',
      host,
      requestId,
      backendHost: pool.config.hostHeader === 'backend',
      listener,
      h2Upstream: pool.config.upstream === 'http2',
      req
    })
    // eslint-disable-next-line no-new
    new ProxyCall(this, req, res, { route, ctx, requestId, upstream, body, sticky: pool.hasAffinity, grpc: scan.grpc, replay }, failover, lease)
  }

  finished (r: CallReport): void {
    const c = r.call
    const ms = performance.now() - c.start
    this.recorder.request(c.route.pool, c.backend, c.req.method!, r.status, ms / 1000)
    const log = this.backendLog(c.backend, c.route.pool.name)
    if (r.error !== undefined && r.reason !== 'client') {
      log.error({ reqId: c.requestId, code: r.error.code, reason: r.reason, retries: c.retries, err: r.error.cause ?? r.error }, 'upstream request failed')
    }
    // A gRPC call that ends without a status of its own was cancelled by its client.
    const grpc = c.plan.grpc ? c.grpcStatus ?? GRPC.CANCELLED : undefined
    if (grpc !== undefined) this.recorder.grpcCall(c.route.pool, c.route.label, c.req.url!, grpc)
    if (this.accessLog && (this.accessSample >= 1 || r.status >= 500 || r.error !== undefined || (grpc !== undefined && grpc !== 0) || Math.random() < this.accessSample)) {
      const line: Record<string, unknown> = {
        reqId: c.requestId,
        http: c.req.httpVersion,
        method: c.req.method,
        path: c.req.url,
        status: r.status,
        bytes: c.bytes,
        retries: c.retries,
        ms: Math.round(ms * 1000) / 1000
      }
      if (grpc !== undefined) addGrpcFields(line, c.req.url!, grpc)
      log.info(line, 'access')
    }
  }

  /** A child logger per backend: pool and backend id are serialised once, not on every line. */
  private backendLog (b: Backend, pool: string): FastifyBaseLogger {
    let log = this.backendLogs.get(b)
    if (log === undefined) {
      log = this.log.child({ pool, backend: b.id })
      this.backendLogs.set(b, log)
    }
    return log
  }

  /** Answers without a backend (404, 413, 503, …): one access line, nothing forwarded. */
  private reject (req: IncomingMessage, res: ServerResponse, requestId: string, hasBody: boolean, err: GatewayError, pool?: BackendPool, route?: CompiledRoute): void {
    const grpc = isGrpcRequest(req) ? grpcStatusOf(err.code) : undefined
    if (grpc !== undefined) {
      sendGrpcError(res, err, requestId)
      this.recorder.grpcCall(pool, route?.label ?? '', req.url!, grpc)
    } else {
      sendError(res, err, requestId, hasBody && !req.complete)
    }
    closeUnreadBody(req, res)
    this.recorder.rejected(pool, req.method!, err.statusCode)
    if (this.accessLog && (this.accessSample >= 1 || err.statusCode >= 500 || grpc !== undefined || Math.random() < this.accessSample)) {
      const line: Record<string, unknown> = { reqId: requestId, http: req.httpVersion, method: req.method, path: req.url, status: err.statusCode, error: err.code }
      if (grpc !== undefined) addGrpcFields(line, req.url!, grpc)
      this.log.info(line, 'access')
    }
  }
}

/**
 * A gRPC call's fields on its access line: service and method from its path
 * ("/package.Service/Method"), and the status its client got (number and name).
 */
function addGrpcFields (line: Record<string, unknown>, path: string, code: number): void {
  const slash = path.lastIndexOf('/')
  line.grpcService = slash > 0 ? path.slice(1, slash) : ''
  line.grpcMethod = path.slice(slash + 1)
  line.grpcStatus = code
  line.grpcStatusName = grpcCodeLabel(code)
}

/** The route found for a request before the handler ran (routeOf). */
const kRoute = Symbol('ultrabalancer.route')
type WithRoute = IncomingMessage & { [kRoute]?: CompiledRoute | undefined }

/** Reads a (small, length-checked) request body whole. */
async function readBody (req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** Host header without port, lower-case; IPv6 literals keep their brackets. */
function routingHost (host: string): string {
  let end = host.length
  const close = host.lastIndexOf(']')
  const colon = host.lastIndexOf(':')
  if (colon > close) end = colon
  return host.slice(0, end).toLowerCase()
}

/**
 * Refuses targets a backend could read differently from the router: anything not in origin
 * form (after absolute-form was rewritten), and "." or ".." path segments, raw or
 * percent-encoded, and with path parameters. Backends resolve those, so "/public/../admin" would match the /public route
 * and then reach /admin.
 */
export function unsafeTarget (url: string): boolean {
  if (url.charCodeAt(0) !== 47 /* / */) return true
  if (!url.includes('/.') && !url.includes('%2')) return false
  const q = url.indexOf('?')
  const path = (q === -1 ? url : url.slice(0, q)).replace(/%2e/gi, '.')
  // ";" ends a segment for servlet containers ("/..;/admin" is "/../admin" to Tomcat and Jetty).
  return /\/\.\.?(?:[/;]|$)/.test(path)
}
