import { connect } from 'node:net'
import { request, type Dispatcher } from 'undici'
import type { ActiveHealthConfig } from '../config/types.js'
import { mapUpstreamError } from '../proxy/upstream-errors.js'

/**
 * One probe's outcome. `ms` is how long the probe took. `reason` is a short stable word for
 * metrics labels and transition logs: 'timeout', 'connect', 'reset', 'tls', 'status <code>',
 * 'body' (bodyMatch not found) or 'error' (anything else).
 */
export type ProbeResult = { ok: true, ms: number } | { ok: false, ms: number, reason: string }

/** What a probe needs of a backend (a Backend fits). */
export interface ProbeTarget {
  id: string
  url: string
  /** The backend's upstream pool; probes then share its connections and TLS settings. */
  dispatcher?: Dispatcher
}

/**
 * A probe never throws and never rejects: every failure is a result. It settles promptly once
 * `signal` aborts (the checker aborts at cfg.timeout) and also enforces cfg.timeout itself, so
 * it can be used without a checker.
 */
export type Probe = (target: ProbeTarget, signal: AbortSignal) => Promise<ProbeResult>

/** At most this much of a probe's answer is read when looking for bodyMatch. */
export const BODY_MATCH_LIMIT = 64 * 1024

/** The probe cfg.type asks for. */
export function probeFor (cfg: ActiveHealthConfig): Probe {
  return cfg.type === 'tcp' ? tcpProbe(cfg) : httpProbe(cfg)
}

/**
 * HTTP probe: cfg.method to the backend's base path joined with cfg.path, with cfg.headers
 * (a Host header included). It passes when the status falls in one of cfg.expectStatus
 * (inclusive ranges) and, with bodyMatch, the first BODY_MATCH_LIMIT bytes contain that text.
 * The answer body is always consumed (dump: read up to the limit, then destroyed), so a pooled
 * connection is never left stuck; the deadline also covers reading the body.
 * Without a target dispatcher it uses undici's global dispatcher.
 */
export function httpProbe (cfg: ActiveHealthConfig): Probe {
  const suffix = cfg.path.startsWith('/') ? cfg.path : `/${cfg.path}`
  return async (target, signal) => {
    const started = performance.now()
    const done = deadline(cfg.timeout, signal)
    try {
      const url = new URL(target.url)
      const base = url.pathname.replace(/\/$/, '')
      const res = await request(url.origin + base + suffix, {
        method: cfg.method as Dispatcher.HttpMethod,
        headers: cfg.headers,
        signal: done.signal,
        ...(target.dispatcher !== undefined ? { dispatcher: target.dispatcher } : {})
      })
      const status = res.statusCode
      if (!cfg.expectStatus.some(([lo, hi]) => status >= lo && status <= hi)) {
        await res.body.dump({ limit: BODY_MATCH_LIMIT })
        return { ok: false, ms: performance.now() - started, reason: `status ${status}` }
      }
      if (cfg.bodyMatch === undefined) {
        await res.body.dump({ limit: BODY_MATCH_LIMIT })
        return { ok: true, ms: performance.now() - started }
      }
      const found = await bodyContains(res.body, cfg.bodyMatch)
      const ms = performance.now() - started
      return found ? { ok: true, ms } : { ok: false, ms, reason: 'body' }
    } catch (err) {
      return { ok: false, ms: performance.now() - started, reason: failureReason(err, done.signal) }
    } finally {
      done.clear()
    }
  }
}

/**
 * TCP probe: connects to the url's host and port (default 80, or 443 for https) and closes at
 * once. It is TCP only, also for https backends: no TLS handshake is made.
 */
export function tcpProbe (cfg: ActiveHealthConfig): Probe {
  return async (target, signal) => {
    const started = performance.now()
    let host: string
    let port: number
    try {
      const url = new URL(target.url)
      host = url.hostname.replace(/^\[|\]$/g, '')
      port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
    } catch {
      return { ok: false, ms: performance.now() - started, reason: 'error' }
    }
    const done = deadline(cfg.timeout, signal)
    return await new Promise<ProbeResult>((resolve) => {
      const socket = connect({ host, port })
      let settled = false
      const finish = (reason?: string): void => {
        if (settled) return
        settled = true
        done.clear()
        done.signal.removeEventListener('abort', onAbort)
        socket.destroy()
        const ms = performance.now() - started
        resolve(reason === undefined ? { ok: true, ms } : { ok: false, ms, reason })
      }
      const onAbort = (): void => { finish('timeout') }
      socket.once('connect', () => { finish() })
      // Stays attached after finish(), so a late socket error is never unhandled.
      socket.once('error', (err) => { finish(failureReason(err, done.signal)) })
      if (done.signal.aborted) onAbort()
      else done.signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

/**
 * A signal that aborts at `ms` or when `outer` aborts, whichever comes first; clear() drops the
 * timer and the link to `outer` (call it when the probe settles, so nothing outlives it).
 */
function deadline (ms: number, outer: AbortSignal): { signal: AbortSignal, clear: () => void } {
  const ac = new AbortController()
  const onOuter = (): void => { ac.abort(outer.reason) }
  const timer = setTimeout(() => { ac.abort(new Error('probe timeout')) }, ms).unref()
  if (outer.aborted) onOuter()
  else outer.addEventListener('abort', onOuter, { once: true })
  return {
    signal: ac.signal,
    clear: () => {
      clearTimeout(timer)
      outer.removeEventListener('abort', onOuter)
    }
  }
}

/**
 * Reads at most BODY_MATCH_LIMIT bytes and looks for `text` in them. Leaving the loop early (the
 * limit reached) destroys the stream; otherwise it was read to its end.
 */
async function bodyContains (body: AsyncIterable<Buffer>, text: string): Promise<boolean> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    chunks.push(chunk)
    size += chunk.length
    if (size >= BODY_MATCH_LIMIT) break
  }
  return Buffer.concat(chunks).subarray(0, BODY_MATCH_LIMIT).toString('utf8').includes(text)
}

/**
 * Any abort is a 'timeout' (the checker aborts only at its deadline; a probe aborted because its
 * backend was removed is discarded anyway). Other errors go through the gateway's one mapping of
 * low-level errors; what it calls 'protocol' or 'client' is a plain 'error' here.
 */
function failureReason (err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timeout'
  const { reason } = mapUpstreamError(err)
  return reason === 'protocol' || reason === 'client' ? 'error' : reason
}
