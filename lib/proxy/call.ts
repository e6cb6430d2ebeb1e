import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { performance } from 'node:perf_hooks'
import type { Backend } from '../backend.js'
import type { CompiledRoute } from '../router.js'
import type { SelectionContext } from '../../algorithms/types.js'
import type { Lease } from '../pool/lease.js'
import type { Failover } from '../resilience/failover.js'
import type { Recorder } from '../metrics/types.js'
import { GatewayError, type AttemptFailure, type FailureReason } from '../errors.js'
import { mapUpstreamError } from './upstream-errors.js'
import { sendError } from './respond.js'
import { downstreamHeaders, forwardPath, hostFor, type UpstreamHeaders } from './rewrite.js'
import { Attempt, type AttemptOwner, type RawTrailers } from './attempt.js'
import { GRPC, grpcAnswerCode, grpcStatusOf, sendGrpcError, trailersOnlyStatus } from './grpc.js'
import type { ReplayBody } from './replay-body.js'
import { closeUnreadBody } from './unread-body.js'

/** What a call reports when it ends, once: the proxy logs it and feeds metrics. */
export interface CallReport {
  readonly call: ProxyCall
  readonly status: number
  readonly error: GatewayError | undefined
  readonly reason: FailureReason | undefined
}

export interface CallOwner {
  /** True while the gateway shuts down: responses then ask the client to close the connection. */
  readonly closing: boolean
  /** Where backend response times are recorded (metrics). */
  readonly recorder: Recorder
  finished (report: CallReport): void
}

/** Status logged when the client went away before the answer was complete (as nginx does). */
export const CLIENT_CLOSED = 499

/** What the proxy prepared for a request; the same for every attempt. */
export interface CallPlan {
  route: CompiledRoute
  ctx: SelectionContext
  requestId: string
  /** Headers to send upstream (the Host value is set per backend when the pool wants that). */
  upstream: UpstreamHeaders
  /** null: no body; a Buffer can be sent again; a stream only once. */
  body: Readable | Buffer | null
  /** Sticky sessions need a Set-Cookie on the answer when the backend changes. */
  sticky: boolean
  /** A gRPC call (lib/proxy/grpc.ts): trailers-only answers and the gateway's errors take gRPC's shape. */
  grpc: boolean
  /** A gRPC call's streamed body, kept so another try can send it again (lib/proxy/replay-body.ts). */
  replay: ReplayBody | undefined
}

/**
 * One client request, across one or more attempts at backends. Each attempt is an undici
 * dispatch handler of its own (lib/proxy/attempt.ts) holding one lease. The answer streams to
 * the client as it arrives, with backpressure both ways. Whether a failed attempt is tried again
 * is the failover's decision (lib/resilience/failover.ts), the same as for WebSocket and TCP;
 * this call tells it what HTTP knows: whether anything of the answer reached the client.
 *
 * Time: one native timer per try bounds it by the failover's tryTimeout() (the per-try timeout
 * capped by the request's deadline), so the client gets its 504 at the deadline, not after the
 * last try's own timeout. It runs until the answer's headers; gaps in the body stay under the
 * dispatcher's body timeout. undici's own headers timeout is off: its timers are coarse (about
 * half a second) above one second. For a streamed upload, a try's time starts when the upload
 * is complete.
 *
 * Contract: finish() runs exactly once, whatever happens (answer, error, client abort).
 */
export class ProxyCall implements AttemptOwner {
  readonly start = performance.now()
  status = 0
  bytes = 0
  /** A trailers-only gRPC answer's status fields, sent as trailers at the end (lib/proxy/grpc.ts). */
  private statusTrailers: Record<string, string> | undefined
  /** A gRPC call's status as its client reads it, once the call ended (lib/grpc-codes.ts); undefined before. */
  grpcStatus: number | undefined
  /** The backend of the latest attempt. */
  backend: Backend
  private current: Attempt | undefined
  private cancelBackoff: (() => void) | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private done = false
  private clientGone = false

  constructor (
    private readonly owner: CallOwner,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly plan: CallPlan,
    private readonly failover: Failover,
    first: Lease
  ) {
    this.backend = first.backend
    res.once('close', this.onClientClose)
    this.dispatch(first)
  }

  get route (): CompiledRoute { return this.plan.route }
  get requestId (): string { return this.plan.requestId }
  /** Retries sent for this request. */
  get retries (): number { return this.failover.retries }

  /** Sends the request to the leased backend. */
  private dispatch (lease: Lease): void {
    const backend = lease.backend
    this.backend = backend
    const plan = this.plan
    hostFor(plan.upstream, backend.authority)
    const attempt = new Attempt(this, lease)
    this.current = attempt
    const ms = this.failover.tryTimeout()
    if (plan.body === null || Buffer.isBuffer(plan.body) || this.req.complete) this.arm(ms)
    else this.req.once('end', () => { if (!this.done && this.current === attempt) this.arm(ms) })
    backend.dispatcher.dispatch({
      path: forwardPath(plan.route.rewrite, backend.basePath, this.req.url!),
      method: this.req.method!,
      headers: plan.upstream.headers,
      body: plan.replay !== undefined ? plan.replay.open() : plan.body,
      // The pool's TLS name, else the backend's host name (lib/backend.ts `servername`).
      servername: plan.route.pool.config.tls.servername ?? backend.servername,
      headersTimeout: 0 // this call's timer bounds the try (see the class comment)
    } as DispatchWithServername, attempt)
  }

  private arm (ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = setTimeout(this.onTimeout, ms)
  }

  private disarm (): void {
    if (this.timer === undefined) return
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** The try ran out of time (its own bound or the deadline): it fails with a timeout. */
  private readonly onTimeout = (): void => {
    this.timer = undefined
    if (this.done) return
    this.current?.abort(new GatewayError('GW_UPSTREAM_TIMEOUT'))
  }

  get gone (): boolean { return this.clientGone }

  /** Nothing irrevocable has happened: the request may be sent again. */
  private canResend (): boolean {
    return !this.clientGone && !this.owner.closing && !this.res.headersSent && (this.plan.replay?.replayable ?? true)
  }

  answer (attempt: Attempt, statusCode: number, rawHeaders: Buffer[]): boolean {
    const pool = this.plan.route.pool
    const ms = attempt.latencyMs()
    this.owner.recorder.backendResponse(pool, attempt.backend, ms / 1000)
    this.disarm()
    if (this.plan.grpc) {
      // gRPC's rules: the status a gRPC client would read, before any message (lib/grpc-codes.ts).
      const code = grpcAnswerCode(statusCode, rawHeaders)
      if (code !== undefined && this.failover.retriesGrpcAnswer(attempt.lease, code, statusCode, ms, this.canResend())) {
        this.retry('status')
        return false
      }
    } else if (this.failover.retriesAnswer(attempt.lease, statusCode, ms, this.canResend())) {
      this.retry('status')
      return false
    }
    this.status = statusCode
    const res = this.res
    if (this.owner.closing) res.shouldKeepAlive = false
    const headers = downstreamHeaders(this.plan.route.rewrite, rawHeaders, this.plan.requestId)
    if (this.plan.sticky) {
      const cookie = pool.affinity(this.plan.ctx, attempt.backend)
      if (cookie !== undefined) headers.push('set-cookie', cookie)
    }
    const split = this.plan.grpc ? trailersOnlyStatus(headers) : undefined
    if (split !== undefined) {
      this.statusTrailers = split.trailers
      res.writeHead(statusCode, split.headers)
    } else {
      res.writeHead(statusCode, headers)
    }
    return true
  }

  earlyHints (rawHeaders: Buffer[]): void {
    if (this.res.headersSent) return
    const links: string[] = []
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if (rawHeaders[i]!.toString('latin1').toLowerCase() === 'link') links.push(rawHeaders[i + 1]!.toString('latin1'))
    }
    if (links.length > 0) this.res.writeEarlyHints({ link: links })
  }

  data (chunk: Buffer, resume: () => void): boolean {
    this.bytes += chunk.length
    if (this.res.write(chunk)) return true
    this.res.once('drain', resume)
    return false
  }

  /**
   * The answer is complete. Trailers (gRPC's grpc-status, for one) are passed on where the
   * client's framing can carry them: HTTP/2, or a chunked HTTP/1.1 answer (Node drops them
   * otherwise). Hop-by-hop names never are.
   */
  complete (trailers: RawTrailers): void {
    const out = trailerObject(trailers)
    if (out !== undefined || this.statusTrailers !== undefined) this.res.addTrailers({ ...this.statusTrailers, ...out })
    if (this.plan.grpc) this.grpcStatus = grpcStatusIn(out?.['grpc-status'] ?? this.statusTrailers?.['grpc-status'])
    this.res.end()
    this.finish(undefined, undefined)
  }

  /** An attempt failed: its lease ends here; then retry, or answer with the catalogue error. */
  failed (attempt: Attempt, err: Error): void {
    this.disarm()
    const lease = attempt.lease
    if (this.clientGone) {
      // A client that left is not the backend's fault.
      lease.abandon()
      this.finish(undefined, 'client')
      return
    }
    const mapped = mapUpstreamError(err)
    const ms = attempt.latencyMs()
    if (mapped.reason === 'client') {
      // The client's own request was at fault (its body did not match its Content-Length).
      lease.done({ ok: true, status: attempt.status, reason: undefined, latencyMs: ms })
    } else if (this.failover.failed(lease, mapped, ms, attempt.status, this.canResend())) {
      this.retry(mapped.reason, mapped.error)
      return
    }
    this.fail(mapped.error, mapped.reason)
  }

  private fail (error: GatewayError, reason: FailureReason): void {
    this.status = error.statusCode
    // Part of the answer may be out already: sendError then cuts the connection, so the client
    // cannot take a truncated body for a whole one. Logged and counted as the failure it is.
    if (this.plan.grpc) {
      this.grpcStatus = grpcStatusOf(error.code)
      sendGrpcError(this.res, error, this.plan.requestId)
    } else {
      sendError(this.res, error, this.plan.requestId, !this.req.complete)
    }
    this.finish(error, reason)
  }

  /** Waits the backoff, then tries another backend (or the same one when it is the only one). */
  private retry (reason: AttemptFailure, lastError?: GatewayError): void {
    this.current = undefined
    this.cancelBackoff = this.failover.backoff(reason, () => {
      this.cancelBackoff = undefined
      if (this.clientGone) return this.finish(undefined, 'client')
      // More of a streamed body arrived during the wait than can be kept: it cannot be resent.
      if (this.plan.replay?.replayable === false) return this.fail(lastError ?? new GatewayError('GW_UPSTREAM_UNAVAILABLE'), reason === 'status' ? 'protocol' : reason)
      const next = this.failover.lease()
      if (next === undefined) return this.fail(lastError ?? new GatewayError('GW_NO_BACKEND', [this.plan.route.pool.name]), 'connect')
      this.dispatch(next)
    })
  }

  private readonly onClientClose = (): void => {
    if (this.done) return
    this.clientGone = true
    // Ended by someone else (the client error handler answered 400/408): log that status.
    this.status = this.res.writableEnded ? this.res.statusCode : CLIENT_CLOSED
    if (this.cancelBackoff !== undefined) {
      this.cancelBackoff()
      this.cancelBackoff = undefined
      this.finish(undefined, 'client')
      return
    }
    this.current?.abort()
  }

  private finish (error: GatewayError | undefined, reason: FailureReason | undefined): void {
    if (this.done) return
    this.done = true
    this.disarm()
    this.res.removeListener('close', this.onClientClose)
    if (!this.clientGone) closeUnreadBody(this.req, this.res)
    this.owner.finished({ call: this, status: this.status, error, reason })
  }
}

/** The trailers as the object addTrailers takes, or undefined for none; a name sent twice keeps both values. */
function trailerObject (raw: RawTrailers): Record<string, string | string[]> | undefined {
  const pairs: Array<[string, string | string[]]> = []
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i += 2) pairs.push([latin1(raw[i] as Buffer | string), latin1(raw[i + 1] as Buffer | string)])
  } else {
    for (const [name, value] of Object.entries(raw as Record<string, string | string[]>)) pairs.push([name, value])
  }
  if (pairs.length === 0) return undefined
  const out: Record<string, string | string[]> = {}
  for (const [rawName, value] of pairs) {
    const name = rawName.toLowerCase()
    if (HOP_TRAILERS.has(name)) continue
    const had = out[name]
    out[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), ...(Array.isArray(value) ? value : [value])]
  }
  return out
}

/** The grpc-status trailer's code; UNKNOWN when the answer ended without one (as gRPC clients read it). */
function grpcStatusIn (value: string | string[] | undefined): number {
  const code = Number(Array.isArray(value) ? value[0] : value)
  return value !== undefined && Number.isInteger(code) ? code : GRPC.UNKNOWN
}

/** Never relayed as trailers: framing and connection fields (RFC 9110 section 6.5.1). */
const HOP_TRAILERS = new Set(['connection', 'transfer-encoding', 'content-length', 'keep-alive', 'te', 'trailer', 'upgrade'])

const latin1 = (v: Buffer | string): string => typeof v === 'string' ? v : v.toString('latin1')

/** undici reads `servername` from dispatch options (lib/core/request.js); its types leave it out. */
type DispatchWithServername = Dispatcher.DispatchOptions & { servername: string | undefined }
