import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { HeaderRules, RouteConfig } from './config/types.js'
import type { BackendPool } from './pool.js'

/** A route compiled at config load: everything a request needs is precomputed here. */
export interface CompiledRoute {
  readonly index: number
  readonly pool: BackendPool
  readonly prefix: string
  /** Characters to cut from the front of the path when stripPrefix is on; 0 otherwise. */
  readonly strip: number
  readonly maxBodySize: number
  readonly host: string | undefined
  /** Host pattern "*.example.com" compiled to the suffix ".example.com". */
  readonly hostSuffix: string | undefined
  readonly methods: ReadonlySet<string> | undefined
  readonly headers: ReadonlyArray<readonly [string, string]> | undefined
  /** Header rules for the forwarded request and for the answer; undefined when none. */
  readonly rateLimit: RouteConfig['rateLimit']
  /** WebSocket upgrades are proxied (otherwise an upgrade is served as a plain request). */
  readonly websocket: boolean
  readonly requestRules: CompiledRules | undefined
  readonly responseRules: CompiledRules | undefined
}

/** Names a rule replaces or removes, and the headers it sets. */
export interface CompiledRules {
  readonly drop: ReadonlySet<string>
  readonly set: readonly string[]
}

function compileRules (r: HeaderRules | undefined): CompiledRules | undefined {
  if (r === undefined || (r.remove.length === 0 && Object.keys(r.set).length === 0)) return undefined
  return { drop: new Set([...r.remove, ...Object.keys(r.set)]), set: Object.entries(r.set).flat() }
}

/** A raw header list with a route's rules applied: dropped names left out, set ones appended. */
export function applyRules (headers: string[], rules: CompiledRules): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (!rules.drop.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!)
  }
  for (const h of rules.set) out.push(h)
  return out
}

export interface Router {
  /** Whether any route looks at the Host header (so the proxy can skip normalising it). */
  readonly usesHost: boolean
  /** Whether any route has a rate limit. */
  readonly rateLimited: boolean
  /** First route that matches, or undefined. `host` is lower-case without port (or ""). */
  match (method: string, host: string, url: string, req: IncomingMessage): CompiledRoute | undefined
}

export function compileRoutes (routes: readonly RouteConfig[], pools: ReadonlyMap<string, BackendPool>): Router {
  const compiled: CompiledRoute[] = routes.map((r, index) => {
    const pool = pools.get(r.pool)
    if (pool === undefined) throw new Error(`routes[${index}].pool: unknown pool "${r.pool}"`)
    const { host, pathPrefix, methods, headers } = r.match
    const prefix = pathPrefix === '/' ? '' : pathPrefix
    return {
      index,
      pool,
      prefix,
      strip: r.stripPrefix ? prefix.length : 0,
      maxBodySize: r.maxBodySize,
      host: host !== undefined && !host.startsWith('*.') ? host : undefined,
      hostSuffix: host?.startsWith('*.') === true ? host.slice(1) : undefined,
      methods: methods !== undefined ? new Set(methods) : undefined,
      headers: headers !== undefined ? Object.entries(headers) : undefined,
      rateLimit: r.rateLimit,
      websocket: r.websocket,
      requestRules: compileRules(r.headers?.request),
      responseRules: compileRules(r.headers?.response)
    }
  })
  const usesHost = compiled.some((r) => r.host !== undefined || r.hostSuffix !== undefined)
  return {
    usesHost,
    rateLimited: compiled.some((r) => r.rateLimit !== undefined),
    match (method, host, url, req) {
      for (let i = 0; i < compiled.length; i++) {
        const r = compiled[i]!
        if (r.methods !== undefined && !r.methods.has(method)) continue
        if (r.host !== undefined && r.host !== host) continue
        if (r.hostSuffix !== undefined && !host.endsWith(r.hostSuffix)) continue
        if (r.prefix.length > 0 && !prefixMatches(url, r.prefix)) continue
        // req.headers is built lazily by Node: only header-matching routes pay for it.
        if (r.headers !== undefined && !headersMatch(req.headers, r.headers)) continue
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

/** The path to forward: prefix stripped when configured (never empty), backend base path prepended. */
export function forwardPath (route: CompiledRoute, basePath: string, url: string): string {
  let path = route.strip > 0 ? url.slice(route.strip) : url
  if (path.length === 0 || path.charCodeAt(0) === 63 /* ? */) path = '/' + path
  return basePath.length > 0 ? basePath + path : path
}
