/**
 * Header rewriting for both directions, on raw header arrays ([name, value, name, value, …]),
 * so no header object is built per request.
 *
 * RFC 9110 §7.6.1: Connection, every header it names, and the classic hop-by-hop headers apply
 * to one connection only and are never forwarded. Expect is answered by the gateway itself
 * (Node sends 100 Continue), so it is not forwarded either. Proxy-Authorization and
 * Proxy-Authenticate are meant for a proxy; this gateway does no proxy authentication, so
 * they stop here too.
 */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'expect', 'proxy-authorization', 'proxy-authenticate', 'http2-settings'
])

import { isGrpcContentType, parseGrpcTimeout } from './grpc.js'

export const VIA = '1.1 ultrabalancer'
/** Via for requests that came in over HTTP/2 (RFC 9110 section 7.6.3: the received protocol). */
export const VIA_H2 = '2 ultrabalancer'

const COLON = 0x3a

/** Extra names a Connection header lists, lower-case; undefined when it lists only close/keep-alive. */
export function connectionTokens (value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  let set: Set<string> | undefined
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase()
    if (t === '' || t === 'close' || t === 'keep-alive') continue
    ;(set ??= new Set()).add(t)
  }
  return set
}

/**
 * What one pass over the client's raw headers yields: the headers to forward (hop-by-hop and
 * forwarding headers already left out) and the few values the proxy needs. Reading rawHeaders
 * directly spares Node building the lazy `req.headers` object on every request.
 */
export interface RequestScan {
  headers: string[]
  /** The Host header, as sent, or HTTP/2's :authority ("" when neither). */
  host: string
  contentLength: string | undefined
  chunked: boolean
  expect: boolean
  /** Incoming X-Forwarded-* values, kept only when the client is trusted. */
  xff: string
  xfProto: string
  xfHost: string
  /** Names the client's Connection header lists (they are hop-by-hop too). */
  named: Set<string> | undefined
  /** The client sent `TE: trailers` (gRPC clients do). */
  teTrailers: boolean
  /** A gRPC call: `content-type: application/grpc...` (lib/proxy/grpc.ts). */
  grpc: boolean
  /** gRPC's grpc-timeout in ms (the call's deadline); undefined when absent or malformed. */
  grpcTimeout: number | undefined
}

export function scanRequestHeaders (raw: readonly string[], trustProxy: boolean): RequestScan {
  const scan: RequestScan = {
    headers: [],
    host: '',
    contentLength: undefined,
    chunked: false,
    expect: false,
    xff: '',
    xfProto: '',
    xfHost: '',
    named: undefined,
    teTrailers: false,
    grpc: false,
    grpcTimeout: undefined
  }
  const out = scan.headers
  let authority = ''
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const value = raw[i + 1]!
    const lk = name.toLowerCase()
    switch (lk) {
      case 'host':
        scan.host = value
        continue
      // HTTP/2 (RFC 9113 section 8.3.1): :authority stands for Host, and wins over one.
      case ':authority':
        authority = value
        continue
      case 'content-length':
        scan.contentLength = value
        break
      case 'content-type':
        if (isGrpcContentType(value)) scan.grpc = true
        break
      // Forwarded as it is (the backend enforces it too); the proxy also makes it the deadline.
      case 'grpc-timeout':
        scan.grpcTimeout = parseGrpcTimeout(value)
        break
      case 'transfer-encoding':
        scan.chunked = true
        continue
      case 'expect':
        scan.expect = true
        continue
      case 'connection':
        scan.named = connectionTokens(value)
        continue
      case 'x-request-id':
        continue
      // TE is hop-by-hop; "trailers" is noted: forwarded to HTTP/2 backends (lib/proxy/rewrite.ts).
      case 'te':
        if (value.trim().toLowerCase() === 'trailers') scan.teTrailers = true
        continue
      case 'x-forwarded-for':
        if (trustProxy) scan.xff = scan.xff === '' ? value : `${scan.xff}, ${value}`
        continue
      case 'x-forwarded-proto':
        if (trustProxy && scan.xfProto === '') scan.xfProto = value
        continue
      case 'x-forwarded-host':
        if (trustProxy && scan.xfHost === '') scan.xfHost = value
        continue
      // Other forwarding headers a client could forge: kept only from a trusted proxy.
      case 'forwarded':
      case 'x-real-ip':
      case 'x-forwarded-port':
      case 'x-forwarded-prefix':
      case 'x-forwarded-server':
        if (!trustProxy) continue
        break
    }
    if (HOP_BY_HOP.has(lk)) continue
    // Other HTTP/2 pseudo-headers (:method, :path, :scheme) are the request line, not headers.
    if (lk.charCodeAt(0) === COLON) continue
    out.push(name, value)
  }
  if (authority !== '') scan.host = authority
  if (scan.named !== undefined) scan.headers = withoutNamed(out, scan.named)
  return scan
}

export interface ForwardInfo {
  clientIp: string
  proto: string
  /** Value to send as Host. */
  host: string
  /** The host the client addressed, for X-Forwarded-Host ("" when none). */
  clientHost: string
  requestId: string
  /** The client spoke HTTP/2. */
  h2: boolean
}

/** Completes the scanned headers with Host, X-Forwarded-*, Via and X-Request-Id; returns them. */
export function forwardHeaders (scan: RequestScan, info: ForwardInfo): string[] {
  const out = scan.headers
  out.push(
    'host', info.host,
    'x-forwarded-for', scan.xff === '' ? info.clientIp : `${scan.xff}, ${info.clientIp}`,
    'x-forwarded-proto', scan.xfProto === '' ? info.proto : scan.xfProto,
    'via', info.h2 ? VIA_H2 : VIA,
    'x-request-id', info.requestId
  )
  const fwdHost = scan.xfHost === '' ? info.clientHost : scan.xfHost
  if (fwdHost !== '') out.push('x-forwarded-host', fwdHost)
  return out
}

/** Headers to send to the client: the backend's (bytes kept as latin1), less hop-by-hop, plus Via and X-Request-Id. */
export function responseHeaders (raw: readonly Buffer[], requestId: string): string[] {
  const out: string[] = []
  let named: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1')
    const lk = name.toLowerCase()
    if (HOP_BY_HOP.has(lk)) {
      if (lk === 'connection') named = connectionTokens(raw[i + 1]!.toString('latin1'))
      continue
    }
    if (lk === 'x-request-id') continue
    out.push(name, raw[i + 1]!.toString('latin1'))
  }
  if (named !== undefined) return withoutNamed(out, named).concat('via', VIA, 'x-request-id', requestId)
  out.push('via', VIA, 'x-request-id', requestId)
  return out
}

function withoutNamed (headers: string[], named: Set<string>): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (!named.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!)
  }
  return out
}
