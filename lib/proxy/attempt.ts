import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import type { Backend } from '../backend.js'
import type { Lease } from '../pool/lease.js'
import { GatewayError } from '../errors.js'

/** Trailers as undici hands them over: raw pairs (HTTP/1.1) or an object (HTTP/2). */
export type RawTrailers = ReadonlyArray<Buffer | string> | Readonly<Record<string, string | string[]>>
const NO_TRAILERS: RawTrailers = []

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
  /** The answer is complete (the lease has ended with its outcome), with its trailers ([name, value, ...], maybe empty). */
  complete: (trailers: RawTrailers) => void
  /** The attempt failed; the owner ends its lease (abandoned, failed over, or failed). */
  failed: (attempt: Attempt, err: Error) => void
}

/**
 * A dropped answer (a status to be retried) is read to its end and thrown away when it is at
 * most this long, so its connection goes back to the pool instead of being closed: a 503 storm
 * must not become a connection storm. Longer bodies, and bodies not complete within
 * DISCARD_MS, are cut (the connection is closed).
 */
export const DISCARD_BYTES = 64 * 1024
export const DISCARD_MS = 1000

/**
 * One try of a request at one backend: an undici dispatch handler in the legacy callback form,
 * which hands over raw header buffers without building objects.
 *
 * Contract: every attempt ends its lease: at the answer's end itself (outcome: latency to the
 * answer's headers, ok below 500), otherwise through its owner (answer() returning false,
 * failed()). An attempt whose answer was dropped ignores whatever undici still reports for it;
 * its body is read and discarded up to DISCARD_BYTES, else the upstream request is aborted.
 */
export class Attempt implements Dispatcher.DispatchHandler {
  private readonly start = performance.now()
  private headersAt = 0
  /** The answer's status, 0 before its headers. */
  status = 0
  private resume: (() => void) | null = null
  private abortUpstream: ((err?: Error) => void) | null = null
  /** The owner dropped this attempt's answer, or was told it failed: later callbacks are ignored. */
  private discarded = false
  /** Aborted before undici handed over its abort function: abort as soon as it does. */
  private aborting = false
  /** Bytes of a dropped answer read so far, and the timer that bounds reading them. */
  private discardedBytes = 0
  private discardTimer: ReturnType<typeof setTimeout> | undefined

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
    if (this.owner.gone || this.aborting) abort()
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
      if (declaredLength(rawHeaders) > DISCARD_BYTES) {
        this.abortUpstream?.()
        return false
      }
      this.discardTimer = setTimeout(() => { this.abortUpstream?.() }, DISCARD_MS)
      return true
    }
    this.resume = resume
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.discarded) {
      this.discardedBytes += chunk.length
      if (this.discardedBytes > DISCARD_BYTES) this.abortUpstream?.()
      return true
    }
    return this.owner.data(chunk, this.resume!)
  }

  // undici gives raw [name, value, ...] Buffers from HTTP/1.1 and a header object from HTTP/2
  // (its types say string[]).
  onComplete (trailers: string[] | null): void {
    if (this.discarded) return this.endDiscard()
    this.lease.done({ ok: this.status < 500, status: this.status, reason: undefined, latencyMs: this.latencyMs() })
    this.owner.complete((trailers as RawTrailers | null) ?? NO_TRAILERS)
  }

  onError (err: Error): void {
    if (this.discarded) return this.endDiscard()
    this.owner.failed(this, err)
  }

  private endDiscard (): void {
    if (this.discardTimer !== undefined) clearTimeout(this.discardTimer)
    this.discardTimer = undefined
  }

  /**
   * Aborts the upstream request: the client is gone (no `err`), or the try ran out of time
   * (`err`, reported to the owner through failed()). When undici has not handed over its abort
   * function yet (the request waits for a connection), a failure is reported now and the
   * request is aborted once undici starts it; a client that left is noticed then as before.
   */
  abort (err?: Error): void {
    if (this.abortUpstream !== null) return this.abortUpstream(err)
    this.aborting = true
    if (err !== undefined && !this.discarded) {
      this.discarded = true
      this.owner.failed(this, err)
    }
  }
}

/** The Content-Length of an answer's raw headers; 0 when absent or not a number. */
function declaredLength (rawHeaders: Buffer[]): number {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (name.length === 14 && name.toString('latin1').toLowerCase() === 'content-length') {
      return Number(rawHeaders[i + 1]!.toString('latin1')) || 0
    }
  }
  return 0
}
