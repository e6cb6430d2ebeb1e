import type { HeaderRules, RouteConfig } from '../config/types.js'
import type { IncomingMessage } from 'node:http'
import { forwardHeaders, responseHeaders, type RequestScan } from './headers.js'
import { verifiedSubject, type ListenerInfo } from '../http/listener-info.js'

/**
 * What a route does to a request on its way to a backend, and to the answer on its way back:
 * the path (prefix stripped, backend base path prepended) and the header rules. Compiled once
 * per route at config load (lib/router.ts calls compileRewrite); every protocol forwards through
 * the functions below, so HTTP, WebSocket (and later HTTP/2) rewrite the same way.
 */
export interface Rewrite {
  /** Characters to cut from the front of the path when stripPrefix is on; 0 otherwise. */
  readonly strip: number
  /** Header rules for the forwarded request and for the answer; undefined when none. */
  readonly request: CompiledRules | undefined
  readonly response: CompiledRules | undefined
}

/** Names a rule replaces or removes, and the headers it sets. */
export interface CompiledRules {
  readonly drop: ReadonlySet<string>
  readonly set: readonly string[]
}

/** `prefix`: the route's path prefix as matched ("" for "/"). */
export function compileRewrite (r: RouteConfig, prefix: string): Rewrite {
  return {
    strip: r.stripPrefix ? prefix.length : 0,
    request: compileRules(r.headers?.request),
    response: compileRules(r.headers?.response)
  }
}

function compileRules (r: HeaderRules | undefined): CompiledRules | undefined {
  if (r === undefined || (r.remove.length === 0 && Object.keys(r.set).length === 0)) return undefined
  return { drop: new Set([...r.remove, ...Object.keys(r.set)]), set: Object.entries(r.set).flat() }
}

/** A raw header list with rules applied: dropped names left out, set ones appended. */
function applyRules (headers: string[], rules: CompiledRules): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (!rules.drop.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!)
  }
  for (const h of rules.set) out.push(h)
  return out
}

/** The path to forward: prefix stripped when configured (never empty), backend base path prepended. */
export function forwardPath (rw: Rewrite, basePath: string, url: string): string {
  let path = rw.strip > 0 ? url.slice(rw.strip) : url
  if (path.length === 0 || path.charCodeAt(0) === 63 /* ? */) path = '/' + path
  return basePath.length > 0 ? basePath + path : path
}

/** The headers of one forwarded request, the same for every try but for the Host value. */
export interface UpstreamHeaders {
  readonly headers: string[]
  /** Where the Host name sits in `headers` (its value follows); -1 when a rule removed it. */
  readonly hostAt: number
  /** Send each backend's own host:port as Host (pool hostHeader: backend, or no client Host). */
  readonly backendHost: boolean
}

export interface RequestInfo {
  clientIp: string
  /** The host the client addressed ("" when none). */
  host: string
  requestId: string
  /** The pool sends the backend's host:port as Host. */
  backendHost: boolean
  /** The listener the request came in on: the scheme, and the client-subject header (mTLS). */
  listener: ListenerInfo
  /** The pool speaks HTTP/2 to its backends: `TE: trailers` from the client is passed on (RFC 9113 section 8.2.2; gRPC servers require it). */
  h2Upstream: boolean
  req: IncomingMessage
}

/** The scanned client headers completed with Host and X-Forwarded-*, then the route's rules applied. */
export function upstreamHeaders (rw: Rewrite, scan: RequestScan, info: RequestInfo): UpstreamHeaders {
  const backendHost = info.backendHost || info.host === ''
  let hostAt = scan.headers.length
  let headers = forwardHeaders(scan, { clientIp: info.clientIp, proto: info.listener.proto, host: info.host, clientHost: info.host, requestId: info.requestId, h2: info.req.httpVersionMajor === 2 })
  if (scan.teTrailers && info.h2Upstream) headers.push('te', 'trailers')
  const subjectHeader = info.listener.subjectHeader
  if (subjectHeader !== undefined) headers = withSubject(headers, subjectHeader, verifiedSubject(info.req))
  if (rw.request !== undefined) {
    headers = applyRules(headers, rw.request)
    hostAt = headers.indexOf('host')
  }
  return { headers, hostAt, backendHost }
}

/**
 * The client-subject header (mTLS) says only what the gateway verified: a client's own header
 * of that name is removed, and the verified subject, when there is one, is added.
 */
function withSubject (headers: string[], name: string, subject: string | undefined): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== name) out.push(headers[i]!, headers[i + 1]!)
  }
  if (subject !== undefined) out.push(name, subject)
  return out
}

/** Points the Host header at `authority` (the backend about to be tried), when the pool wants that. */
export function hostFor (h: UpstreamHeaders, authority: string): void {
  if (h.backendHost && h.hostAt >= 0) h.headers[h.hostAt + 1] = authority
}

/** The answer's headers for the client: hop-by-hop left out, Via and X-Request-Id added, rules applied. */
export function downstreamHeaders (rw: Rewrite, raw: readonly Buffer[], requestId: string): string[] {
  const headers = responseHeaders(raw, requestId)
  return rw.response === undefined ? headers : applyRules(headers, rw.response)
}
