import { connect } from 'node:net'
import { getGlobalDispatcher, request, type Dispatcher } from 'undici'
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
  return cfg.type === 'tcp' ? tcpProbe(cfg) : cfg.type === 'grpc' ? grpcProbe(cfg) : httpProbe(cfg)
}

/**
 * gRPC health probe (grpc/doc/health-checking.md): a unary grpc.health.v1.Health/Check call
 * for cfg.service over the backend's dispatcher (HTTP/2). It passes when the call ends with
 * grpc-status 0 and the answer says SERVING. The two messages are tiny and fixed, so they are
 * encoded and read here (protobuf field 1: the service name; the status enum) rather than with
 * a protobuf library on the probe path.
 */
export function grpcProbe (cfg: ActiveHealthConfig): Probe {
  const name = Buffer.from(cfg.service, 'utf8')
  // HealthCheckRequest { string service = 1 }: tag 0x0a, length, bytes (omitted when empty).
  const message = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name])
  const frame = Buffer.concat([Buffer.from([0]), u32(message.length), message])
  return async (target, signal) => {
    const started = performance.now()
    const done = deadline(cfg.timeout, signal)
    try {
      const url = new URL(target.url)
      const res = await unary(target.dispatcher ?? getGlobalDispatcher(), url.origin, frame, cfg.timeout, done.signal)
      const ms = performance.now() - started
      if (res.status !== 200) return { ok: false, ms, reason: `status ${res.status}` }
      const grpcStatus = res.grpcStatus
      if (grpcStatus !== '0') return { ok: false, ms, reason: `grpc-status ${grpcStatus === '' ? 'missing' : grpcStatus}` }
      const body = res.body
      return servingStatus(body) === SERVING ? { ok: true, ms } : { ok: false, ms, reason: 'not serving' }
    } catch (err) {
      return { ok: false, ms: performance.now() - started, reason: failureReason(err, done.signal) }
    } finally {
      done.clear()
    }
  }
}

/**
 * The Check call, dispatched directly: undici's request() reads trailers as a raw list and loses
 * the ones HTTP/2 hands over as an object, and the status is there. grpc-status is taken from
 * the trailers, or from the headers of a trailers-only answer.
 */
async function unary (dispatcher: Dispatcher, origin: string, frame: Buffer, timeoutMs: number, signal: AbortSignal): Promise<{ status: number, grpcStatus: string, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    let status = 0
    let grpcStatus = ''
    const chunks: Buffer[] = []
    const onAbort = (): void => { abort?.(signal.reason as Error) }
    let abort: ((err: Error) => void) | undefined
    signal.addEventListener('abort', onAbort, { once: true })
    const settle = (): void => { signal.removeEventListener('abort', onAbort) }
    dispatcher.dispatch({
      origin,
      path: '/grpc.health.v1.Health/Check',
      method: 'POST',
      headers: { 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': `${Math.max(1, Math.floor(timeoutMs))}m` },
      body: frame
    }, {
      onConnect: (a) => { abort = a; if (signal.aborted) onAbort() },
      onHeaders: (code, raw) => {
        status = code
        grpcStatus = headerValue(raw, 'grpc-status') ?? grpcStatus
        return true
      },
      onData: (chunk) => { chunks.push(chunk); return true },
      onComplete: (trailers) => {
        settle()
        grpcStatus = headerValue(trailers, 'grpc-status') ?? grpcStatus
        resolve({ status, grpcStatus, body: Buffer.concat(chunks) })
      },
      onError: (err) => { settle(); reject(err) }
    })
  })
}

/** A header's value from undici's raw list (Buffers or strings) or from an object (HTTP/2 trailers). */
function headerValue (raw: unknown, name: string): string | undefined {
  if (raw === null || raw === undefined) return undefined
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i += 2) if (String(raw[i]).toLowerCase() === name) return String(raw[i + 1])
    return undefined
  }
  const v = (raw as Record<string, unknown>)[name]
  return v === undefined ? undefined : String(v)
}

/** HealthCheckResponse.ServingStatus SERVING. */
const SERVING = 1

/** The status field (1, varint) of the first HealthCheckResponse in a gRPC body; 0 (UNKNOWN) when absent. */
function servingStatus (body: Buffer): number {
  if (body.length < 5 || body[0] !== 0) return -1 // no message, or a compressed one
  const len = body.readUInt32BE(1)
  const msg = body.subarray(5, 5 + len)
  for (let i = 0; i < msg.length;) {
    const tag = msg[i++]!
    if (tag === 0x08) return msg[i] ?? -1 // field 1, varint; the enum's values fit one byte
    if ((tag & 7) === 0) { while (i < msg.length && (msg[i++]! & 0x80) !== 0); continue }
    return -1
  }
  return 0
}

function varint (n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7 }
  out.push(n)
  return Buffer.from(out)
}

function u32 (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
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
