import type { IncomingMessage } from 'node:http'

/**
 * Absolute-form request targets (RFC 9112 §3.2.2: "GET http://host/path HTTP/1.1") are accepted
 * as a server must, but they never choose an upstream: the URL is cut down to origin form for
 * routing and forwarding, and its authority replaces the Host header for route matching and
 * X-Forwarded-Host, exactly as the RFC says a server must treat it.
 */
const kAuthority = Symbol('ultrabalancer.authority')

interface WithAuthority { [kAuthority]?: string }

/** Fastify's rewriteUrl hook: called before routing for every request. */
export function toOriginForm (req: IncomingMessage): string {
  const url = req.url ?? '/'
  if (url.charCodeAt(0) === 47 /* / */) return url
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)([^#]*)/.exec(url)
  if (m === null) return url // asterisk-form and garbage: left for the router to refuse
  const authority = m[1]!.replace(/^[^@]*@/, '')
  ;(req as WithAuthority)[kAuthority] = authority
  const rest = m[2]!
  return rest === '' ? '/' : rest.charCodeAt(0) === 63 ? '/' + rest : rest
}

/** The authority of an absolute-form target, which overrides the Host header; else undefined. */
export function absoluteFormHost (req: IncomingMessage): string | undefined {
  return (req as WithAuthority)[kAuthority]
}
