import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import type { Backend } from '../backend.js'
import type { CompiledRoute } from '../router.js'
import { GatewayError } from '../errors.js'
import { responseHeaders } from './headers.js'
import { mapUpstreamError, type FailureReason } from './upstream-errors.js'
import { sendError } from './respond.js'

/** What a call reports when it ends, once: the proxy logs it and (later) feeds metrics. */
export interface CallReport {
  readonly call: ProxyCall
  readonly status: number
  readonly error: GatewayError | undefined
  readonly reason: FailureReason | undefined
}

export interface CallOwner {
  /** True while the gateway shuts down: responses then ask the client to close the connection. */
  readonly closing: boolean
  finished (report: CallReport): void
}

/** Status logged when the client went away before the answer was complete (as nginx does). */
export const CLIENT_CLOSED = 499

/**
 * One request's trip to one backend, as an undici dispatch handler (the legacy callback form,
 * which hands over raw header buffers without building objects). The response streams to the
 * client as it arrives, with backpressure both ways: undici pauses the upstream socket when
 * onData returns false, and the client's 'drain' resumes it.
 *
 * Contract: finish() runs exactly once, whatever happens (success, upstream error, client
 * abort), and it is the only place that releases the backend.
 */
export class ProxyCall implements Dispatcher.DispatchHandler {
  readonly start = performance.now()
  /** The backend's in-flight count at dispatch, this request included (algorithm feedback). */
  private readonly inFlightAtStart: number
  /** When the answer's headers arrived; 0 until then. */
  private headersAt = 0
  status = 0
  bytes = 0
  private abortUpstream: ((err?: Error) => void) | null = null
  private resume: (() => void) | null = null
  private done = false
  private clientGone = false

  constructor (
    private readonly owner: CallOwner,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly route: CompiledRoute,
    readonly backend: Backend,
    readonly requestId: string,
    /** Set-Cookie for sticky sessions, added to the answer; undefined for none. */
    private readonly setCookie: string | undefined
  ) {
    this.inFlightAtStart = backend.inFlight
    res.once('close', this.onClientClose)
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abortUpstream = abort
    if (this.clientGone) abort()
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.status = statusCode
    this.headersAt = performance.now()
    const res = this.res
    if (this.owner.closing) res.shouldKeepAlive = false
    try {
      const headers = responseHeaders(rawHeaders, this.requestId)
      if (this.setCookie !== undefined) headers.push('set-cookie', this.setCookie)
      res.writeHead(statusCode, headers)
    } catch (err) {
      // A backend header Node refuses to send (invalid characters): answer 502 instead.
      this.abortUpstream?.(new GatewayError('GW_UPSTREAM_ERROR', [], err))
      return false
    }
    this.resume = resume
    return true
  }

  onData (chunk: Buffer): boolean {
    this.bytes += chunk.length
    if (this.res.write(chunk)) return true
    // The client is slower than the backend: undici pauses the upstream socket until drain.
    this.res.once('drain', this.resume!)
    return false
  }

  onComplete (): void {
    this.res.end()
    this.finish(undefined, undefined)
  }

  onError (err: Error): void {
    if (this.clientGone) {
      this.finish(undefined, 'client')
      return
    }
    const { error, reason } = mapUpstreamError(err)
    if (this.res.headersSent) {
      // Part of the answer is already out: cut the connection so the client cannot take a
      // truncated body for a whole one.
      this.res.destroy()
    } else {
      this.status = error.status
      sendError(this.res, error, this.requestId, !this.req.complete)
    }
    this.finish(error, reason)
  }

  private readonly onClientClose = (): void => {
    if (this.done) return
    this.clientGone = true
    // Ended by someone else (the client error handler answered 400/408): log that status.
    this.status = this.res.writableEnded ? this.res.statusCode : CLIENT_CLOSED
    // abortUpstream is null while the request waits for a connection; onConnect aborts then.
    this.abortUpstream?.()
  }

  private finish (error: GatewayError | undefined, reason: FailureReason | undefined): void {
    if (this.done) return
    this.done = true
    this.res.removeListener('close', this.onClientClose)
    const upstreamFailed = error !== undefined && error.origin === 'upstream'
    // Latency for the algorithms is time to the answer's headers (or to the failure): body
    // transfer time depends on the body and the client, not on how busy the backend is.
    const end = this.headersAt > 0 ? this.headersAt : performance.now()
    this.route.pool.release(this.backend, {
      ok: !upstreamFailed && this.status < 500,
      latencyMs: end - this.start,
      inFlight: this.inFlightAtStart
    })
    this.owner.finished({ call: this, status: this.status, error, reason })
  }
}
