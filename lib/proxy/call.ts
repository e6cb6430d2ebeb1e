import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { performance } from 'node:perf_hooks'
import type { Backend } from '../backend.js'
import { applyRules, forwardPath, type CompiledRoute } from '../router.js'
import type { SelectionContext } from '../../algorithms/types.js'
import { GatewayError } from '../errors.js'
import { responseHeaders } from './headers.js'
import { mapUpstreamError, type FailureReason } from './upstream-errors.js'
import { sendError } from './respond.js'
import { Attempt } from './attempt.js'
import type { Recorder } from '../metrics/types.js'

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
  /** Where attempts and retries are recorded (metrics). */
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
  /** Headers to send upstream; `hostIndex` is where the Host value sits (rewritten per backend). */
  headers: string[]
  hostIndex: number
  /** Send the backend's own host:port as Host (pool hostHeader: backend, or no client Host). */
  backendHost: boolean
  /** null: no body; a Buffer can be sent again; a stream only once. */
  body: Readable | Buffer | null
  /** Sticky sessions need a Set-Cookie on the answer when the backend changes. */
  sticky: boolean
}

/**
 * One client request, across one or more attempts at backends. Each attempt is an undici
 * dispatch handler of its own (lib/proxy/attempt.ts) and releases its backend exactly once. The
 * answer streams to the client as it arrives, with backpressure both ways.
 *
 * Retries (pool `retry`): only for methods the policy allows, only while nothing of the answer
 * has reached the client, only with a body that can be sent again, only within the pool's retry
 * budget, each to a backend not tried yet when there is one, after a capped, jittered backoff.
 *
 * Contract: finish() runs exactly once, whatever happens (answer, error, client abort).
 */
export class ProxyCall {
  readonly start = performance.now()
  status = 0
  bytes = 0
  retries = 0
  /** The backend of the latest attempt. */
  backend: Backend
  private readonly tried: Backend[] = []
  private current: Attempt | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private done = false
  private clientGone = false
  private readonly retryable: boolean

  constructor (
    readonly owner: CallOwner,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly plan: CallPlan,
    first: Backend
  ) {
    this.backend = first
    const body = plan.body
    this.retryable = plan.route.pool.retry.allowsMethod(req.method!) && (body === null || Buffer.isBuffer(body))
    res.once('close', this.onClientClose)
    this.dispatch(first)
  }

  get route (): CompiledRoute { return this.plan.route }
  get requestId (): string { return this.plan.requestId }

  /** Sends the request to `backend` (already acquired from the pool). */
  private dispatch (backend: Backend): void {
    this.backend = backend
    this.tried.push(backend)
    const plan = this.plan
    if (plan.backendHost) plan.headers[plan.hostIndex + 1] = backend.authority
    const attempt = new Attempt(this, backend)
    this.current = attempt
    const perTry = Math.min(plan.route.pool.retry.perTryTimeout, plan.route.pool.config.timeouts.request)
    backend.dispatcher.dispatch({
      path: forwardPath(plan.route, backend.basePath, this.req.url!),
      method: this.req.method!,
      headers: plan.headers,
      body: plan.body,
      ...(perTry > 0 ? { headersTimeout: perTry } : {})
    }, attempt)
  }

  /** The client is gone: attempts abort as soon as they can. */
  get gone (): boolean { return this.clientGone }

  /**
   * An attempt got its answer's status. Returns false when the answer is to be thrown away and
   * retried (the attempt then aborts itself); true when it goes to the client.
   */
  answer (attempt: Attempt, statusCode: number, rawHeaders: Buffer[]): boolean {
    const pool = this.plan.route.pool
    // A status is retried only where another backend can answer: with none left, the
    // backend's own answer is better than a 503 from the gateway.
    if (pool.retry.retriesStatus(statusCode) && pool.hasUsableBesides(this.tried) && this.mayRetry()) {
      attempt.release(false, statusCode, 'status')
      this.retry('status')
      return false
    }
    this.status = statusCode
    const res = this.res
    if (this.owner.closing) res.shouldKeepAlive = false
    let headers = responseHeaders(rawHeaders, this.plan.requestId)
    if (this.plan.route.responseRules !== undefined) headers = applyRules(headers, this.plan.route.responseRules)
    if (this.plan.sticky) {
      const cookie = pool.affinity(this.plan.ctx, attempt.backend)
      if (cookie !== undefined) headers.push('set-cookie', cookie)
    }
    res.writeHead(statusCode, headers)
    return true
  }

  /** Passes a backend's 103 Early Hints on (their Link headers), before the final answer. */
  earlyHints (rawHeaders: Buffer[]): void {
    if (this.res.headersSent) return
    const links: string[] = []
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if (rawHeaders[i]!.toString('latin1').toLowerCase() === 'link') links.push(rawHeaders[i + 1]!.toString('latin1'))
    }
    if (links.length > 0) this.res.writeEarlyHints({ link: links })
  }

  /** Body bytes of the answer; false asks undici to pause the backend until 'drain'. */
  data (chunk: Buffer, resume: () => void): boolean {
    this.bytes += chunk.length
    if (this.res.write(chunk)) return true
    this.res.once('drain', resume)
    return false
  }

  complete (): void {
    this.res.end()
    this.finish(undefined, undefined)
  }

  /** An attempt failed (already released). Retry, or answer with the catalogue error. */
  failed (attempt: Attempt, err: Error): void {
    if (this.clientGone) {
      this.finish(undefined, 'client')
      return
    }
    const { error, reason } = mapUpstreamError(err)
    if (reason !== 'client' && this.plan.route.pool.retry.retriesReason(reason) && this.mayRetry()) {
      this.retry(reason, error)
      return
    }
    this.fail(error, reason)
  }

  private fail (error: GatewayError, reason: FailureReason): void {
    if (this.res.headersSent) {
      // Part of the answer is already out: cut the connection so the client cannot take a
      // truncated body for a whole one. Logged and counted as the failure it is.
      this.res.destroy()
      this.status = error.status
    } else {
      this.status = error.status
      sendError(this.res, error, this.plan.requestId, !this.req.complete)
    }
    this.finish(error, reason)
  }

  private mayRetry (): boolean {
    const policy = this.plan.route.pool.retry
    return this.retryable && !this.clientGone && !this.owner.closing && !this.res.headersSent &&
      this.tried.length < policy.attempts && policy.budget.tryAcquire()
  }

  /** Waits the backoff, then tries another backend (or the same one when it is the only one). */
  private retry (reason: string, lastError?: GatewayError): void {
    this.owner.recorder.retry(this.plan.route.pool, reason)
    this.retries++
    this.current = undefined
    const pool = this.plan.route.pool
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (this.clientGone) return this.finish(undefined, 'client')
      const next = pool.acquire({ attempt: this.retries, key: this.plan.ctx.key }, this.tried)
      if (next === undefined) {
        return this.fail(lastError ?? new GatewayError('GW_NO_BACKEND', [pool.name]), 'connect')
      }
      this.dispatch(next)
    }, pool.retry.delay(this.retries))
  }

  private readonly onClientClose = (): void => {
    if (this.done) return
    this.clientGone = true
    // Ended by someone else (the client error handler answered 400/408): log that status.
    this.status = this.res.writableEnded ? this.res.statusCode : CLIENT_CLOSED
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer)
      this.retryTimer = undefined
      this.finish(undefined, 'client')
      return
    }
    this.current?.abort()
  }

  private finish (error: GatewayError | undefined, reason: FailureReason | undefined): void {
    if (this.done) return
    this.done = true
    this.res.removeListener('close', this.onClientClose)
    this.owner.finished({ call: this, status: this.status, error, reason })
  }
}
