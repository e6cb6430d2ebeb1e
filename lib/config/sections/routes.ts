/**
 * `routes`: which requests go to which pool. Pool references (a route needs an HTTP pool), match
 * normalisation (path prefix, host, headers, methods), per-route limits, and the implicit
 * catch-all route when there is a single HTTP pool and no routes section. Header rules are in
 * header-rules.ts.
 */
import { Type } from '@sinclair/typebox'
import { bool, duration, isObj, section, size, type Ctx, type Obj } from '../fields.js'
import { Bool, closed, Duration, HeaderName, Name, Size } from '../schema-parts.js'
import { normaliseHeaderRules, RouteHeadersSchema, type HeaderRules } from './header-rules.js'

/** Per route, in normalised units (ms, bytes). `rateLimit` itself has no default (no limit). */
export const ROUTE_DEFAULTS = Object.freeze({
  match: Object.freeze({ pathPrefix: '/' }),
  stripPrefix: false,
  maxBodySize: 0, // no limit
  websocket: false,
  rateLimit: Object.freeze({ window: 60_000, key: 'ip' as const })
})

const d = ROUTE_DEFAULTS

export const RouteSchema = Type.Object({
  name: Type.Optional(Name()),
  match: Type.Optional(Type.Object({
    host: Type.Optional(Name()),
    pathPrefix: Type.Optional(Name(d.match.pathPrefix)),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    methods: Type.Optional(Type.Array(Name(), { minItems: 1, minMessage: 'must list at least one method (or leave methods out to match all)' })),
    clientCertificate: Type.Optional(Type.Object({
      subject: Type.Optional(Name()),
      commonName: Type.Optional(Name())
    }, closed))
  }, closed)),
  pool: Name(),
  stripPrefix: Type.Optional(Bool(d.stripPrefix)),
  maxBodySize: Type.Optional(Size(d.maxBodySize)),
  rateLimit: Type.Optional(Type.Object({
    max: Type.Integer({ minimum: 1 }),
    window: Type.Optional(Duration(d.rateLimit.window)),
    key: Type.Optional(Type.Union([Type.Literal('ip'), Type.Object({ header: HeaderName }, closed)], { default: d.rateLimit.key, description: 'ip or { header: NAME }' }))
  }, closed)),
  headers: Type.Optional(RouteHeadersSchema),
  websocket: Type.Optional(Bool(d.websocket))
}, closed)

export const RoutesSchema = Type.Array(RouteSchema, { minItems: 1, minMessage: 'must list at least one route (or leave routes out when there is a single pool)' })

export interface RouteMatch {
  /** Lower-case host without port; "*.example.com" matches any subdomain. */
  host?: string
  /** Segment-aware prefix: "/api" matches "/api", "/api/x", "/api?q", not "/apis". Default "/". */
  pathPrefix: string
  /** Lower-case header name to exact value. */
  headers?: Record<string, string>
  /** Upper-case method names. */
  methods?: string[]
  /**
   * Only requests on a TLS connection whose client certificate was verified (mTLS, listen tls
   * clientCertificate), and when given, whose subject ("CN=alice, O=Example", as the subject
   * header carries it) or common name is exactly this.
   */
  clientCertificate?: { subject?: string, commonName?: string }
}

export interface RouteConfig {
  /** The route's label in metrics (gateway_grpc_requests_total); default its index. Unique. */
  name?: string
  match: RouteMatch
  pool: string
  /** Remove match.pathPrefix from the path before forwarding. */
  stripPrefix: boolean
  /** Largest request body in bytes; 0 means no limit. Over it: 413. */
  maxBodySize: number
  /** At most `max` requests per `window` ms per client (its IP, or a header's value); over it 429. */
  rateLimit?: { max: number, window: number, key: { from: 'ip' } | { from: 'header', name: string } }
  /** Header rules: set (add or replace) and remove, on the forwarded request and on the answer. */
  headers?: { request: HeaderRules, response: HeaderRules }
  /** WebSocket upgrades on this route are proxied to the pool (otherwise Upgrade is ignored). */
  websocket: boolean
}

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
      return [{ match: { pathPrefix: d.match.pathPrefix }, pool: httpPools[0], stripPrefix: d.stripPrefix, maxBodySize: d.maxBodySize, websocket: d.websocket }]
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
    if (typeof r.name === 'string' && raw.some((o: unknown, j) => j < i && isObj(o) && o.name === r.name)) {
      ctx.issues.add([...segs, 'name'], `route name "${r.name}" is already used by an earlier route; names label metrics and must be unique`)
    }
    routes.push({
      ...(typeof r.name === 'string' ? { name: r.name } : {}),
      match: normaliseMatch(ctx, section(r, 'match'), [...segs, 'match']),
      pool,
      stripPrefix: bool(r, 'stripPrefix', d.stripPrefix),
      maxBodySize: size(ctx, r, 'maxBodySize', segs, d.maxBodySize, 0),
      websocket: bool(r, 'websocket', d.websocket),
      ...(isObj(r.headers) ? { headers: normaliseHeaderRules(ctx, r.headers, [...segs, 'headers']) } : {}),
      ...(isObj(r.rateLimit) ? { rateLimit: rateLimit(ctx, r.rateLimit, [...segs, 'rateLimit']) } : {})
    })
  })
  return routes
}

function rateLimit (ctx: Ctx, o: Obj, segs: Array<string | number>): NonNullable<RouteConfig['rateLimit']> {
  const key = isObj(o.key) && typeof o.key.header === 'string' ? { from: 'header' as const, name: o.key.header.toLowerCase() } : { from: d.rateLimit.key }
  // max is required: the fallback only fills a config that fails anyway.
  return { max: typeof o.max === 'number' ? o.max : 1, window: duration(ctx, o, 'window', segs, d.rateLimit.window, 1), key }
}

function normaliseMatch (ctx: Ctx, m: Obj, segs: Array<string | number>): RouteMatch {
  let host: string | undefined
  let pathPrefix: string = d.match.pathPrefix
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
  if (isObj(m.clientCertificate)) {
    const c = m.clientCertificate
    match.clientCertificate = {
      ...(typeof c.subject === 'string' ? { subject: c.subject } : {}),
      ...(typeof c.commonName === 'string' ? { commonName: c.commonName } : {})
    }
  }
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
