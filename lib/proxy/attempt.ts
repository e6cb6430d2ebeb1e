import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import type { Backend } from '../backend.js'
import type { Lease } from '../pool/lease.js'
import { GatewayError } from '../errors.js'

/**
 * What an attempt reports to the request it belongs to (lib/proxy/call.ts). The attempt knows
 * nothing else of the request: not its route, pool or metrics.
 */
export interface AttemptOwner {
  /** The client is gone: the attempt aborts as soon as it can. */
  readonly gone: boolean
  /**
   * The final answer's status and headers arrived. True: it goes to the client (the body
   * follows through data()); false: it is dropped (to be retried) and the attempt aborts itself.
   * The owner ends the attempt's lease when it returns false.
   */
  answer: (attempt: Attempt, status: number, rawHeaders: Buffer[]) => boolean
  /** A 103 Early Hints answer (RFC 8297), before the final one. */
  earlyHints: (rawHeaders: Buffer[]) => void
  /** Body bytes of the answer; false asks undici to pause the backend until `resume` runs. */
  data: (chunk: Buffer, resume: () => void) => boolean
  /** The answer is complete (the lease has ended with its outcome). */
  complete: () => void
  /** The attempt failed; the owner ends its lease (abandoned, failed over, or failed). */
  failed: (attempt: Attempt, err: Error) => void
}

/**
 * One try of a request at one backend: an undici dispatch handler in the legacy callback form,
 * which hands over raw header buffers without building objects.
 *
 * Contract: every attempt ends its lease: at the answer's end itself (outcome: latency to the
 * answer's headers, ok below 500), otherwise through its owner (answer() returning false,
 * failed()). An attempt whose answer was dropped is aborted and ignores whatever undici still
 * reports for it.
 */
export class Attempt implements Dispatcher.DispatchHandler {
  private readonly start = performance.now()
  private headersAt = 0
  /** The answer's status, 0 before its headers. */
  status = 0
  private resume: (() => void) | null = null
  private abortUpstream: ((err?: Error) => void) | null = null
  /** The owner dropped this attempt's answer: later callbacks are ignored. */
  private discarded = false

  constructor (private readonly owner: AttemptOwner, readonly lease: Lease) {}

  get backend (): Backend {
    return this.lease.backend
  }

  /**
   * Latency as the algorithms see it: time to the answer's headers (or to now, before them).
   * Body transfer time depends on the body and the client, not on how busy the backend is.
   */
  latencyMs (): number {
    return (this.headersAt > 0 ? this.headersAt : performance.now()) - this.start
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abortUpstream = abort
    if (this.owner.gone) abort()
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // undici reports interim answers too (RFC 9110 §15.2). 103 Early Hints are passed on as
    // hints; other 1xx are dropped. The final answer follows.
    if (statusCode < 200) {
      if (statusCode === 103 && !this.discarded) this.owner.earlyHints(rawHeaders)
      return true
    }
    this.headersAt = performance.now()
    this.status = statusCode
    let forward: boolean
    try {
      forward = this.owner.answer(this, statusCode, rawHeaders)
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
    return this.owner.data(chunk, this.resume!)
  }

  onComplete (): void {
    if (this.discarded) return
    this.lease.done({ ok: this.status < 500, status: this.status, reason: undefined, latencyMs: this.latencyMs() })
    this.owner.complete()
  }

  onError (err: Error): void {
    if (this.discarded) return
    this.owner.failed(this, err)
  }

  /** Aborts the upstream request (client gone); undici then calls onError. */
  abort (): void {
    this.abortUpstream?.()
  }
}
