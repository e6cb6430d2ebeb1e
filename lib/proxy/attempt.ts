import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import type { Backend } from '../backend.js'
import type { AttemptResult } from '../pool.js'
import { GatewayError } from '../errors.js'
import { mapUpstreamError } from './upstream-errors.js'
import type { ProxyCall } from './call.js'

/**
 * One try of a request at one backend: an undici dispatch handler in the legacy callback form,
 * which hands over raw header buffers without building objects.
 *
 * Contract: release() gives the backend back to its pool exactly once per attempt, with the
 * outcome (latency to the answer's headers, in-flight count at dispatch). An attempt whose answer
 * the call decided to retry is aborted and ignores whatever undici still reports for it.
 */
export class Attempt implements Dispatcher.DispatchHandler {
  private readonly start = performance.now()
  /** The backend's in-flight count at dispatch, this request included (algorithm feedback). */
  private readonly inFlightAtStart: number
  private headersAt = 0
  private status = 0
  private resume: (() => void) | null = null
  private abortUpstream: ((err?: Error) => void) | null = null
  private released = false
  /** The call retried this attempt's answer: later callbacks are ignored. */
  private discarded = false

  constructor (private readonly call: ProxyCall, readonly backend: Backend) {
    this.inFlightAtStart = backend.inFlight
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abortUpstream = abort
    if (this.call.gone) abort()
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // undici reports interim answers too (RFC 9110 §15.2). 103 Early Hints are passed on as
    // hints; other 1xx are dropped. The final answer follows.
    if (statusCode < 200) {
      if (statusCode === 103 && !this.discarded) this.call.earlyHints(rawHeaders)
      return true
    }
    this.headersAt = performance.now()
    this.status = statusCode
    let forward: boolean
    try {
      forward = this.call.answer(this, statusCode, rawHeaders)
    } catch (err) {
      // A backend header Node refuses to send (invalid characters): answer 502 instead.
      this.abortUpstream?.(new GatewayError('GW_UPSTREAM_ERROR', [], err))
      return false
    }
    if (!forward) {
      this.discarded = true
      this.abortUpstream?.()
      return false
    }
    this.resume = resume
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.discarded) return true
    return this.call.data(chunk, this.resume!)
  }

  onComplete (): void {
    if (this.discarded) return
    this.release(this.status < 500, this.status, undefined)
    this.call.complete()
  }

  onError (err: Error): void {
    if (this.discarded) return
    const { reason } = mapUpstreamError(err)
    // A client that left is not the backend's fault.
    if (this.call.gone) this.release(true, this.status, 'abandoned')
    else if (reason === 'client') this.release(true, this.status, undefined)
    else this.release(false, this.status, reason)
    this.call.failed(this, err)
  }

  /** Aborts the upstream request (client gone); undici then calls onError. */
  abort (): void {
    this.abortUpstream?.()
  }

  /** Gives the backend back to the pool, once. */
  release (ok: boolean, status: number, reason: string | undefined): void {
    if (this.released) return
    this.released = true
    // Latency for the algorithms is time to the answer's headers (or to the failure): body
    // transfer time depends on the body and the client, not on how busy the backend is.
    const end = this.headersAt > 0 ? this.headersAt : performance.now()
    const pool = this.call.route.pool
    const result: AttemptResult = { ok, status, reason, latencyMs: end - this.start, inFlight: this.inFlightAtStart }
    pool.release(this.backend, result)
    const recorder = this.call.owner.recorder
    if (this.headersAt > 0) recorder.backendResponse(pool, this.backend, (this.headersAt - this.start) / 1000)
    if (reason !== undefined && reason !== 'abandoned') recorder.upstreamError(pool, this.backend, reason)
  }
}
