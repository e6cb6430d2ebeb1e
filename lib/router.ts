import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { RouteConfig, RouteMatch } from './config/types.js'
import type { BackendPool } from './pool.js'
import { createHash } from 'node:crypto'
import { compileRewrite, type Rewrite } from './proxy/rewrite.js'
import { verifiedCertificate } from './http/listener-info.js'

/**
 * A route compiled at config load: what matching needs, and what forwarding does with a matched
 * request (`rewrite`, applied by lib/proxy/rewrite.ts). The router only matches.
 */
export interface CompiledRoute {
  readonly index: number
  readonly pool: BackendPool
  readonly prefix: string
  readonly maxBodySize: number
  readonly host: string | undefined
  /** Host pattern "*.example.com" compiled to the suffix ".example.com". */
  readonly hostSuffix: string | undefined
  readonly methods: ReadonlySet<string> | undefined
  readonly headers: ReadonlyArray<readonly [string, string]> | undefined
  /** match.clientCertificate: a verified client certificate, with this subject or CN when given. */
  readonly clientCertificate: RouteMatch['clientCertificate']
  /** The route's label in metrics: its name, else its index. */
  readonly label: string
  readonly rateLimit: RouteConfig['rateLimit']
  /**
   * The rate limiter's name for this route's counters: a digest of its match and limit key, so
   * the counts follow the route across reloads that reorder routes or change max and window.
   */
  readonly rateKey: string
  /** WebSocket upgrades are proxied (otherwise an upgrade is served as a plain request). */
  readonly websocket: boolean
  readonly rewrite: Rewrite
}

export interface Router {
  /** Whether any route looks at the Host header (so the proxy can skip normalising it). */
  readonly usesHost: boolean
  /** First route that matches, or undefined. `host` is lower-case without port (or ""). */
  match (method: string, host: string, url: string, req: IncomingMessage): CompiledRoute | undefined
}

export function compileRoutes (routes: readonly RouteConfig[], pools: ReadonlyMap<string, BackendPool>): Router {
  const compiled: CompiledRoute[] = routes.map((r, index) => {
    const pool = pools.get(r.pool)
    if (pool === undefined) throw new Error(`routes[${index}].pool: unknown pool "${r.pool}"`)
    const { host, pathPrefix, methods, headers, clientCertificate } = r.match
    const prefix = pathPrefix === '/' ? '' : pathPrefix
    return {
      index,
      pool,
      prefix,
      maxBodySize: r.maxBodySize,
      host: host !== undefined && !host.startsWith('*.') ? host : undefined,
      hostSuffix: host?.startsWith('*.') === true ? host.slice(1) : undefined,
      methods: methods !== undefined ? new Set(methods) : undefined,
      headers: headers !== undefined ? Object.entries(headers) : undefined,
      clientCertificate,
      label: r.name ?? String(index),
      rateLimit: r.rateLimit,
      rateKey: rateKeyOf(r),
      websocket: r.websocket,
      rewrite: compileRewrite(r, prefix)
    }
  })
  const usesHost = compiled.some((r) => r.host !== undefined || r.hostSuffix !== undefined)
  return {
    usesHost,
    match (method, host, url, req) {
      for (let i = 0; i < compiled.length; i++) {
        const r = compiled[i]!
        if (r.methods !== undefined && !r.methods.has(method)) continue
        if (r.host !== undefined && r.host !== host) continue
        if (r.hostSuffix !== undefined && !host.endsWith(r.hostSuffix)) continue
        if (r.prefix.length > 0 && !prefixMatches(url, r.prefix)) continue
        // req.headers is built lazily by Node: only header-matching routes pay for it.
        if (r.headers !== undefined && !headersMatch(req.headers, r.headers)) continue
        if (r.clientCertificate !== undefined && !certificateMatches(req, r.clientCertificate)) continue
        return r
      }
      return undefined
    }
  }
}

/** Segment-aware: "/api" matches "/api", "/api/x", "/api?q", never "/apis". */
function prefixMatches (url: string, prefix: string): boolean {
  if (!url.startsWith(prefix)) return false
  if (url.length === prefix.length) return true
  const c = url.charCodeAt(prefix.length)
  return c === 47 /* / */ || c === 63 /* ? */
}

function headersMatch (headers: IncomingHttpHeaders, want: ReadonlyArray<readonly [string, string]>): boolean {
  for (const [name, value] of want) {
    const got = headers[name]
    if (Array.isArray(got) ? !got.includes(value) : got !== value) return false
  }
  return true
}

function certificateMatches (req: IncomingMessage, want: NonNullable<RouteMatch['clientCertificate']>): boolean {
  const got = verifiedCertificate(req)
  if (got === undefined) return false
  return (want.subject === undefined || want.subject === got.subject) && (want.commonName === undefined || want.commonName === got.commonName)
}

function rateKeyOf (r: RouteConfig): string {
  return createHash('sha256').update(JSON.stringify([r.match, r.rateLimit?.key])).digest('base64url').slice(0, 16)
}
