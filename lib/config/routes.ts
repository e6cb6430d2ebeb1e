/**
 * Routes: pool references, match normalisation (path prefix, host, headers, methods) and the
 * implicit catch-all route when there is a single pool and no routes section.
 */

import type { HeaderRules, RouteConfig, RouteMatch } from './types.js'
import { DEFAULTS } from './schema.js'
import { bool, duration, isObj, section, size, type Ctx, type Obj } from './fields.js'

/** RFC 9110 section 5.6.2 token: the syntax of both method and header field names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** One DNS-ish label; underscores allowed since internal names use them. */
const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/

/**
 * `httpPools`: names of pools of http(s) backends; routes may only use those (tcp:// pools serve
 * tcp listeners). With no routes section and a single HTTP pool, one catch-all route is made.
 */
export function normaliseRoutes (ctx: Ctx, raw: unknown, poolNames: readonly string[], httpPools: readonly string[] = poolNames): RouteConfig[] {
  if (raw === undefined) {
    if (httpPools.length === 1) {
      return [{ match: { pathPrefix: DEFAULTS.route.pathPrefix }, pool: httpPools[0], stripPrefix: false, maxBodySize: 0, websocket: false }]
    }
    if (httpPools.length > 1) {
      ctx.issues.add(['routes'], `routes are required when more than one pool is defined (pools: ${httpPools.join(', ')}); add routes that say which requests go to which pool`)
    }
    return []
  }
  if (!Array.isArray(raw)) return []
  const routes: RouteConfig[] = []
  raw.forEach((r: unknown, i) => {
    if (!isObj(r)) return
    const segs = ['routes', i]
    const pool = typeof r.pool === 'string' ? r.pool : ''
    if (typeof r.pool === 'string' && !poolNames.includes(pool)) {
      ctx.issues.add([...segs, 'pool'], `unknown pool "${pool}"; known pools: ${poolNames.join(', ')}`)
    } else if (typeof r.pool === 'string' && !httpPools.includes(pool)) {
      ctx.issues.add([...segs, 'pool'], `pool "${pool}" has tcp:// backends, which serve tcp listeners only; a route needs a pool of http:// or https:// backends`)
    }
    routes.push({
      match: normaliseMatch(ctx, section(r, 'match'), [...segs, 'match']),
      pool,
      stripPrefix: bool(r, 'stripPrefix', DEFAULTS.route.stripPrefix),
      maxBodySize: size(ctx, r, 'maxBodySize', segs, DEFAULTS.route.maxBodySize, 0),
      websocket: bool(r, 'websocket', false),
      ...(isObj(r.headers) ? { headers: headerRules(ctx, r.headers, [...segs, 'headers']) } : {}),
      ...(isObj(r.rateLimit) ? { rateLimit: rateLimit(ctx, r.rateLimit, [...segs, 'rateLimit']) } : {})
    })
  })
  return routes
}

function rateLimit (ctx: Ctx, o: Obj, segs: Array<string | number>): NonNullable<RouteConfig['rateLimit']> {
  const key = isObj(o.key) && typeof o.key.header === 'string' ? { from: 'header' as const, name: o.key.header.toLowerCase() } : { from: 'ip' as const }
  return { max: typeof o.max === 'number' ? o.max : 1, window: duration(ctx, o, 'window', segs, 60_000, 1), key }
}

/** Header names lower-cased; hop-by-hop and framing headers cannot be set (they are the gateway's). */
const RESERVED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'te', 'trailer'])

function headerRules (ctx: Ctx, h: Obj, segs: Array<string | number>): { request: HeaderRules, response: HeaderRules } {
  const side = (key: string): HeaderRules => {
    const o = section(h, key)
    const set: Record<string, string> = {}
    if (isObj(o.set)) {
      for (const [name, value] of Object.entries(o.set)) {
        const lk = name.toLowerCase()
        if (RESERVED.has(lk)) ctx.issues.add([...segs, key, 'set', name], `${lk} is managed by the gateway and cannot be set`)
        else if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lk)) ctx.issues.add([...segs, key, 'set', name], 'not a valid header name')
        else if (typeof value === 'string' && /[\r\n\0]/.test(value)) ctx.issues.add([...segs, key, 'set', name], 'a header value cannot contain CR, LF or NUL')
        else if (typeof value === 'string') set[lk] = value
      }
    }
    const remove = Array.isArray(o.remove) ? (o.remove as string[]).map((n) => n.toLowerCase()) : []
    return { set, remove }
  }
  return { request: side('request'), response: side('response') }
}

function normaliseMatch (ctx: Ctx, m: Obj, segs: Array<string | number>): RouteMatch {
  let host: string | undefined
  let pathPrefix: string = DEFAULTS.route.pathPrefix
  if (typeof m.host === 'string') {
    host = normaliseHost(m.host)
    if (host === undefined) {
      ctx.issues.add([...segs, 'host'], `invalid host "${m.host}": use a host name (api.example.com), a wildcard (*.example.com) or an IP address`)
    }
  }
  if (typeof m.pathPrefix === 'string') {
    const p = m.pathPrefix
    if (!p.startsWith('/')) ctx.issues.add([...segs, 'pathPrefix'], `must start with "/" (got "${p}")`)
    else if (/[?#\s]/.test(p)) ctx.issues.add([...segs, 'pathPrefix'], 'must not contain "?", "#" or whitespace: it matches the path only')
    else pathPrefix = p.replace(/\/+$/, '') || '/'
  }
  // Built in the contract's key order; optional keys only when given.
  const match: RouteMatch = host === undefined ? { pathPrefix } : { host, pathPrefix }
  if (isObj(m.headers)) match.headers = normaliseHeaders(ctx, m.headers, [...segs, 'headers'])
  if (Array.isArray(m.methods)) match.methods = normaliseMethods(ctx, m.methods, [...segs, 'methods'])
  return match
}

/**
 * Lower-case, port stripped, trailing dot dropped. Accepts host names, a leading "*." wildcard,
 * IPv4 and bracketed IPv6. Returns undefined for anything else.
 */
export function normaliseHost (raw: string): string | undefined {
  const h = raw.trim().toLowerCase()
  if (h.startsWith('[')) {
    const m = /^(\[[0-9a-f:.]+\])(:\d+)?$/.exec(h)
    return m === null ? undefined : m[1]
  }
  const name = h.replace(/:\d+$/, '').replace(/\.$/, '')
  const labels = (name.startsWith('*.') ? name.slice(2) : name).split('.')
  return name !== '' && labels.every((l) => LABEL.test(l)) ? name : undefined
}

function normaliseHeaders (ctx: Ctx, raw: Obj, segs: Array<string | number>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(raw)) {
    const name = key.toLowerCase()
    if (!TOKEN.test(key)) {
      ctx.issues.add([...segs, key], 'not a valid header name (letters, digits and !#$%&\'*+-.^_`|~ only)')
    } else if (Object.hasOwn(out, name)) {
      ctx.issues.add([...segs, key], `header "${name}" is listed twice (header names are case-insensitive)`)
    } else if (typeof value === 'string') {
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true })
    }
  }
  return out
}

function normaliseMethods (ctx: Ctx, raw: unknown[], segs: Array<string | number>): string[] {
  const out: string[] = []
  raw.forEach((m, i) => {
    if (typeof m !== 'string') return
    const method = m.toUpperCase()
    if (!TOKEN.test(m)) ctx.issues.add([...segs, i], `"${m}" is not a valid HTTP method name`)
    else if (method === 'CONNECT') ctx.issues.add([...segs, i], 'CONNECT is not supported: the gateway is a reverse proxy, not a forward proxy')
    else if (!out.includes(method)) out.push(method)
  })
  return out
}
