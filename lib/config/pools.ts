/**
 * Pools: algorithm, backends (URL normalisation, default ids, duplicate ids), upstream timeouts,
 * TLS (the CA file is read here, at load, so a bad path is a startup error) and host header mode.
 */

import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { normaliseAlgorithm } from './algorithm.js'
import { normaliseCircuitBreaker, normaliseHealthCheck, normaliseRetry, RESILIENCE_DEFAULTS } from './resilience.js'
import type { BackendConfig, PoolConfig, TlsConfig } from './types.js'
import { DEFAULTS, HOST_HEADER_MODES } from './schema.js'
import { bool, duration, fsReason, int, isObj, section, str, type Ctx, type Obj } from './fields.js'

/** Pool names appear in routes, metrics labels and admin URLs, so keep them plain. */
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/

/** Normalised pools; pools whose name is invalid are reported and left out. */
export function normalisePools (ctx: Ctx, raw: unknown): Record<string, PoolConfig> {
  const pools: Record<string, PoolConfig> = {}
  if (!isObj(raw)) return pools
  for (const [name, p] of Object.entries(raw)) {
    const segs = ['pools', name]
    if (!POOL_NAME.test(name)) {
      ctx.issues.add(segs, 'invalid pool name: use letters, digits, "-" and "_", starting with a letter or digit')
      continue
    }
    if (isObj(p)) pools[name] = normalisePool(ctx, name, p, segs)
  }
  return pools
}

function normalisePool (ctx: Ctx, name: string, p: Obj, segs: string[]): PoolConfig {
  const t = section(p, 'timeouts')
  const hostHeader = str(p, 'hostHeader', DEFAULTS.pool.hostHeader)
  const backends = normaliseBackends(ctx, p.backends, [...segs, 'backends'])
  const pool: PoolConfig = {
    name,
    protocol: poolProtocol(ctx, backends, [...segs, 'backends']),
    algorithm: normaliseAlgorithm(ctx, p.algorithm, [...segs, 'algorithm']),
    backends,
    timeouts: {
      connect: duration(ctx, t, 'connect', [...segs, 'timeouts'], DEFAULTS.pool.timeouts.connect, 1),
      request: duration(ctx, t, 'request', [...segs, 'timeouts'], DEFAULTS.pool.timeouts.request, 1),
      idle: duration(ctx, t, 'idle', [...segs, 'timeouts'], DEFAULTS.pool.timeouts.idle, 1)
    },
    tls: normaliseTls(ctx, section(p, 'tls'), [...segs, 'tls']),
    hostHeader: (HOST_HEADER_MODES as readonly string[]).includes(hostHeader) ? hostHeader as PoolConfig['hostHeader'] : DEFAULTS.pool.hostHeader,
    slowStart: duration(ctx, p, 'slowStart', segs, DEFAULTS.pool.slowStart, 0),
    healthCheck: normaliseHealthCheck(ctx, p, segs),
    retry: normaliseRetry(ctx, p, segs),
    panicThreshold: typeof p.panicThreshold === 'number' ? p.panicThreshold : RESILIENCE_DEFAULTS.panicThreshold
  }
  const breaker = normaliseCircuitBreaker(ctx, p, segs)
  if (breaker !== undefined) pool.circuitBreaker = breaker
  if (pool.protocol === 'tcp' && pool.healthCheck.active?.type === 'http') {
    ctx.issues.add([...segs, 'healthCheck', 'active', 'type'], 'a pool of tcp:// backends takes tcp health checks (type: tcp), not http')
  }
  return pool
}

/** A pool speaks HTTP (http://, https://) or raw TCP (tcp://), never both. */
function poolProtocol (ctx: Ctx, backends: BackendConfig[], segs: Array<string | number>): PoolConfig['protocol'] {
  const tcp = backends.filter((b) => b.url.startsWith('tcp:'))
  if (tcp.length > 0 && tcp.length < backends.length) {
    ctx.issues.add(segs, 'mixes tcp:// backends with http(s):// ones; a pool is either layer 4 (tcp://) or HTTP')
  }
  return tcp.length > 0 ? 'tcp' : 'http'
}

function normaliseBackends (ctx: Ctx, raw: unknown, segs: string[]): BackendConfig[] {
  if (!Array.isArray(raw)) return []
  const out: BackendConfig[] = []
  const seen = new Map<string, number>()
  raw.forEach((b: unknown, i) => {
    if (!isObj(b) || typeof b.url !== 'string') return
    const at = [...segs, i]
    const parsed = parseBackendUrl(b.url)
    if (typeof parsed === 'string') {
      ctx.issues.add([...at, 'url'], parsed)
      return
    }
    const explicit = typeof b.id === 'string'
    const id = explicit ? b.id as string : parsed.id
    const first = seen.get(id)
    if (first !== undefined) {
      // Reported at the second one: its id if given, else its url (where the id came from).
      ctx.issues.add([...at, explicit ? 'id' : 'url'],
        `duplicate backend id "${id}" (backends[${first}] has it too); give each backend a distinct id`)
      return
    }
    seen.set(id, i)
    out.push({ id, url: parsed.url, weight: int(b, 'weight', DEFAULTS.backend.weight) })
  })
  return out
}

/**
 * Normalises a backend URL to origin plus base path without a trailing slash ("/" becomes "").
 * The default id is "host:port" with the port always explicit (80/443 for the defaults).
 * Returns an error message for URLs the gateway cannot use.
 */
export function parseBackendUrl (raw: string): { url: string, id: string } | string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return `"${raw}" has no scheme; start it with http:// or https:// (e.g. http://host:port), or tcp:// for a layer-4 pool`
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return `"${raw}" is not a valid URL; write it as http://host:port`
  }
  if (u.protocol === 'tcp:') return parseTcpUrl(raw, u)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return `scheme "${u.protocol.slice(0, -1)}" is not supported; use http:// or https:// (e.g. http://host:port), or tcp://host:port`
  }
  if (u.username !== '' || u.password !== '') return 'must not contain credentials (user:password@)'
  if (u.search !== '' || u.hash !== '' || raw.includes('?') || raw.includes('#')) {
    return 'must not have a query (?...) or fragment (#...): only scheme, host, port and an optional base path'
  }
  const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80'
  return { url: u.origin + u.pathname.replace(/\/+$/, ''), id: `${u.hostname}:${port}` }
}

/** tcp://host:port: a port is required and nothing may follow it. */
function parseTcpUrl (raw: string, u: URL): { url: string, id: string } | string {
  if (u.port === '') return `"${raw}" needs a port: tcp://host:port`
  if (u.username !== '' || u.password !== '' || (u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
    return `"${raw}" must be just tcp://host:port`
  }
  return { url: `tcp://${u.host}`, id: `${u.hostname}:${u.port}` }
}

function normaliseTls (ctx: Ctx, t: Obj, segs: string[]): TlsConfig {
  const tls: TlsConfig = { rejectUnauthorized: bool(t, 'rejectUnauthorized', DEFAULTS.pool.tls.rejectUnauthorized) }
  if (typeof t.servername === 'string') tls.servername = t.servername
  if (typeof t.caFile === 'string') {
    const file = resolve(ctx.baseDir, t.caFile)
    tls.caFile = file
    const ca = readCa(file)
    if (ca.error !== undefined) ctx.issues.add([...segs, 'caFile'], ca.error)
    else tls.ca = ca.text
  }
  return tls
}

function readCa (file: string): { text?: string, error?: string } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    return { error: `cannot read CA file ${file}: ${fsReason(err)}` }
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) return { error: `CA file ${file} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)` }
  return { text }
}
